"""Performance statistics of a backtest, from its equity curve and closed trades.

Everything is computed with numpy from three inputs: the equity curve sampled at a fixed
interval (``ts_ns``, ``equity``), the PnL of each closed trade (round trip), and the fees and
traded notional. Returns are simple returns between consecutive samples; annualization uses
the sampling interval (``periods_per_year = year / interval``), so a minute-sampled curve gives
minute Sharpe scaled by ``sqrt(525_960)``.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

NS_PER_YEAR = 365.25 * 86_400 * 1e9


@attrs.frozen
class Statistics:
    """Summary statistics; ratios are plain floats, money in the account currency."""

    start_equity: float
    end_equity: float
    total_return: float
    annualized_return: float
    annualized_volatility: float
    sharpe: float
    sortino: float
    max_drawdown: float
    max_drawdown_duration_ns: int
    trades: int
    win_rate: float
    profit_factor: float
    expectancy: float
    fees: float
    turnover: float

    def as_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


def drawdown(equity: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Drawdown at each sample as a fraction of the running peak (0 or negative)."""
    equity = np.asarray(equity, dtype=float)
    if len(equity) == 0:
        return equity
    peak = np.maximum.accumulate(equity)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(peak > 0, equity / peak - 1.0, 0.0)


def max_drawdown_duration(ts_ns: np.ndarray[Any, Any], equity: np.ndarray[Any, Any]) -> int:
    """Longest time (ns) spent below a previous equity peak."""
    equity = np.asarray(equity, dtype=float)
    if len(equity) == 0:
        return 0
    peak = np.maximum.accumulate(equity)
    underwater = equity < peak
    longest, start = 0, None
    for i, under in enumerate(underwater):
        if under and start is None:
            start = int(ts_ns[i - 1]) if i > 0 else int(ts_ns[i])
        elif not under and start is not None:
            longest = max(longest, int(ts_ns[i]) - start)
            start = None
    if start is not None:
        longest = max(longest, int(ts_ns[-1]) - start)
    return longest


def compute(
    ts_ns: np.ndarray[Any, Any],
    equity: np.ndarray[Any, Any],
    trade_pnls: np.ndarray[Any, Any],
    fees: float = 0.0,
    traded_notional: float = 0.0,
) -> Statistics:
    """Statistics of one run; empty or flat inputs give zeros, never NaN."""
    ts_ns = np.asarray(ts_ns, dtype=np.int64)
    equity = np.asarray(equity, dtype=float)
    pnls = np.asarray(trade_pnls, dtype=float)
    start = float(equity[0]) if len(equity) else 0.0
    end = float(equity[-1]) if len(equity) else 0.0
    total = end / start - 1.0 if start > 0 else 0.0

    returns = np.diff(equity) / equity[:-1] if len(equity) > 1 else np.zeros(0)
    returns = returns[np.isfinite(returns)]
    span = float(ts_ns[-1] - ts_ns[0]) if len(ts_ns) > 1 else 0.0
    interval = span / (len(ts_ns) - 1) if len(ts_ns) > 1 else 0.0
    periods = NS_PER_YEAR / interval if interval > 0 else 0.0
    years = span / NS_PER_YEAR
    annualized = (1.0 + total) ** (1.0 / years) - 1.0 if years > 0 and total > -1.0 else 0.0

    mean = float(returns.mean()) if len(returns) else 0.0
    std = float(returns.std(ddof=1)) if len(returns) > 1 else 0.0
    downside = returns[returns < 0]
    down_std = float(np.sqrt((downside**2).mean())) if len(downside) else 0.0
    scale = math.sqrt(periods) if periods > 0 else 0.0

    wins, losses = pnls[pnls > 0], pnls[pnls < 0]
    gross_loss = float(-losses.sum())
    average_equity = float(equity.mean()) if len(equity) else 0.0
    return Statistics(
        start_equity=start,
        end_equity=end,
        total_return=total,
        annualized_return=annualized if math.isfinite(annualized) else 0.0,
        annualized_volatility=std * scale,
        sharpe=mean / std * scale if std > 0 else 0.0,
        sortino=mean / down_std * scale if down_std > 0 else 0.0,
        max_drawdown=float(drawdown(equity).min()) if len(equity) else 0.0,
        max_drawdown_duration_ns=max_drawdown_duration(ts_ns, equity),
        trades=len(pnls),
        win_rate=len(wins) / len(pnls) if len(pnls) else 0.0,
        profit_factor=float(wins.sum()) / gross_loss if gross_loss > 0 else 0.0,
        expectancy=float(pnls.mean()) if len(pnls) else 0.0,
        fees=fees,
        turnover=traded_notional / average_equity if average_equity > 0 else 0.0,
    )
