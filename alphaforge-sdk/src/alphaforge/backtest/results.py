"""What a backtest produces: tables of orders, fills and positions, statistics and a report.

:class:`ResultRecorder` watches a run: it samples equity (and the first instrument's price) on a
clock timer and collects fills from the bus. :class:`BacktestResult` holds the outcome as Arrow
tables (``.to_pandas()`` when pandas is installed), :class:`~alphaforge.backtest.stats.Statistics`,
a terminal summary and the self-contained HTML report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from alphaforge.backtest.report import ReportData, render_html
from alphaforge.backtest.stats import Statistics, compute
from alphaforge.data._arrow import pa
from alphaforge.model.enums import OrderSide
from alphaforge.model.events import OrderFilled

EQUITY_TIMER = "backtest.equity"


class ResultRecorder:
    """Collects what a run did while it runs (equity samples on a timer, fills from the bus)."""

    def __init__(self, kernel: Any, portfolio: Any, exec_engine: Any, interval_ns: int) -> None:
        self._kernel, self._portfolio, self._exec = kernel, portfolio, exec_engine
        self._clock = kernel.clock
        self.fills: list[OrderFilled] = []
        self._ts: list[int] = []
        self._equity: list[float] = []
        self._price: list[float] = []
        instruments = kernel.cache.instrument_ids()
        self._priced = instruments[0] if instruments else None
        kernel.msgbus.subscribe("events.order.*", self._on_order_event, priority=-100)
        self._clock.set_timer(EQUITY_TIMER, interval_ns, lambda event: self.sample())

    def _on_order_event(self, event: Any) -> None:
        if type(event) is OrderFilled:
            self.fills.append(event)

    def sample(self) -> None:
        """Record equity and price now (also called at the end of the run)."""
        ts = self._clock.timestamp_ns()
        if self._ts and self._ts[-1] == ts:
            return
        try:
            equity = float(self._portfolio.equity().as_decimal())
        except Exception:  # noqa: BLE001 - no conversion rate yet: skip this sample
            return
        self._ts.append(ts)
        self._equity.append(equity)
        self._price.append(self._mark())

    def _mark(self) -> float:
        if self._priced is None:
            return float("nan")
        quote = self._kernel.cache.quote(self._priced)
        if quote is not None:
            return float(quote.mid_float)
        trade = self._kernel.cache.trade(self._priced)
        return float(trade.price_float) if trade is not None else float("nan")

    def result(self, *, interrupted: bool, streams: int) -> BacktestResult:
        if self._clock.timer_count and EQUITY_TIMER in self._clock.timer_names:
            self._clock.cancel_timer(EQUITY_TIMER)
        cache = self._kernel.cache
        # History holds the earlier lives of reused (netting) ids; the cache the current ones.
        unique = {id(p): p for p in (*self._exec.position_history, *cache.positions())}
        positions = list(unique.values())
        closed_pnls = [float(p.realized_pnl.as_decimal()) for p in positions if p.is_closed]
        fees = sum(float(f.commission.as_decimal()) for f in self.fills)
        notional = sum(float(f.last_qty.as_decimal() * f.last_px.as_decimal()) for f in self.fills)
        ts = np.array(self._ts, dtype=np.int64)
        equity = np.array(self._equity)
        stats = compute(ts, equity, np.array(closed_pnls), fees=fees, traded_notional=notional)
        return BacktestResult(
            statistics=stats,
            equity_ts=ts,
            equity=equity,
            price=np.array(self._price),
            orders=_orders_table(cache.orders()),
            fills=_fills_table(self.fills),
            positions=_positions_table(positions),
            interrupted=interrupted,
            streams=streams,
        )


@attrs.frozen
class BacktestResult:
    """The outcome of one run."""

    statistics: Statistics
    equity_ts: np.ndarray[Any, Any]
    equity: np.ndarray[Any, Any]
    price: np.ndarray[Any, Any]
    orders: Any  # pyarrow.Table
    fills: Any
    positions: Any
    interrupted: bool = False
    streams: int = 0

    def summary(self) -> str:
        """A terminal summary (statistics and counts)."""
        lines = [f"{'orders':<28}{self.orders.num_rows}", f"{'fills':<28}{self.fills.num_rows}",
                 f"{'positions':<28}{self.positions.num_rows}"]  # fmt: skip
        for name, value in self.statistics.as_dict().items():
            shown = f"{value:,.6f}" if isinstance(value, float) else f"{value:,}"
            lines.append(f"{name:<28}{shown}")
        if self.interrupted:
            lines.append("(interrupted: partial results)")
        return "\n".join(lines)

    def fingerprint(self) -> str:
        """Every table and statistic, serialized: equal for equal runs (determinism checks)."""
        parts = {
            "stats": self.statistics.as_dict(),
            "equity": self.equity.tolist(),
            "orders": self.orders.to_pylist(),
            "fills": self.fills.to_pylist(),
            "positions": self.positions.to_pylist(),
        }
        return json.dumps(parts, sort_keys=True, default=str)

    def report_data(self, title: str = "AlphaForge backtest") -> ReportData:
        fills = self.fills
        fill_ts = np.asarray(fills.column("ts_event").to_numpy(), dtype=np.int64)
        fill_px = np.asarray([float(p) for p in fills.column("last_px").to_pylist()])
        is_buy = np.asarray([s == "BUY" for s in fills.column("side").to_pylist()], dtype=bool)
        tables = {
            name: (table.column_names, [list(r.values()) for r in table.to_pylist()])
            for name, table in (
                ("Fills", fills),
                ("Positions", self.positions),
                ("Orders", self.orders),
            )
        }
        return ReportData(
            title=title, statistics=self.statistics, equity_ts=self.equity_ts,
            equity=self.equity, price_ts=self.equity_ts, price=self.price,
            fill_ts=fill_ts, fill_price=fill_px, fill_is_buy=is_buy, tables=tables,
            notes=["interrupted: partial results"] if self.interrupted else [],
        )  # fmt: skip

    def write_report(self, path: str | Path, title: str = "AlphaForge backtest") -> Path:
        """Write the self-contained HTML report; returns its path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(render_html(self.report_data(title)), encoding="utf-8")
        tmp.replace(path)
        return path


def _orders_table(orders: list[Any]) -> Any:
    rows = [
        {
            "client_order_id": str(o.client_order_id),
            "strategy_id": str(o.strategy_id),
            "instrument_id": str(o.instrument_id),
            "side": o.side.name,
            "type": o.order_type.name,
            "quantity": str(o.quantity),
            "price": str(o.price) if o.price is not None else None,
            "status": o.status.name,
            "filled_qty": str(o.filled_qty),
            "avg_px": str(o.avg_px) if o.avg_px is not None else None,
            "ts_init": o.init_event.ts_init,
            "ts_last": o.ts_last,
        }
        for o in orders
    ]
    return pa.Table.from_pylist(rows, schema=_ORDER_SCHEMA)


def _fills_table(fills: list[OrderFilled]) -> Any:
    rows = [
        {
            "ts_event": f.ts_event,
            "client_order_id": str(f.client_order_id),
            "instrument_id": str(f.instrument_id),
            "side": OrderSide(f.order_side).name,
            "last_qty": str(f.last_qty),
            "last_px": str(f.last_px),
            "commission": str(f.commission),
            "liquidity": f.liquidity_side.name,
            "trade_id": str(f.trade_id),
        }
        for f in fills
    ]
    return pa.Table.from_pylist(rows, schema=_FILL_SCHEMA)


def _positions_table(positions: list[Any]) -> Any:
    rows = [
        {
            "position_id": str(p.id),
            "instrument_id": str(p.instrument_id),
            "strategy_id": str(p.strategy_id),
            "entry": p.entry.name,
            "peak_qty": str(p.peak_qty),
            "avg_px_open": str(p.avg_px_open),
            "avg_px_close": str(p.avg_px_close) if p.avg_px_close is not None else None,
            "realized_pnl": str(p.realized_pnl),
            "ts_opened": p.ts_opened,
            "ts_closed": p.ts_closed,
            "closed": p.is_closed,
        }
        for p in positions
    ]
    return pa.Table.from_pylist(rows, schema=_POSITION_SCHEMA)


_ORDER_SCHEMA = pa.schema([
    ("client_order_id", pa.string()), ("strategy_id", pa.string()), ("instrument_id", pa.string()),
    ("side", pa.string()), ("type", pa.string()), ("quantity", pa.string()),
    ("price", pa.string()), ("status", pa.string()), ("filled_qty", pa.string()),
    ("avg_px", pa.string()), ("ts_init", pa.uint64()), ("ts_last", pa.uint64()),
])  # fmt: skip
_FILL_SCHEMA = pa.schema([
    ("ts_event", pa.uint64()), ("client_order_id", pa.string()), ("instrument_id", pa.string()),
    ("side", pa.string()), ("last_qty", pa.string()), ("last_px", pa.string()),
    ("commission", pa.string()), ("liquidity", pa.string()), ("trade_id", pa.string()),
])  # fmt: skip
_POSITION_SCHEMA = pa.schema([
    ("position_id", pa.string()), ("instrument_id", pa.string()), ("strategy_id", pa.string()),
    ("entry", pa.string()), ("peak_qty", pa.string()), ("avg_px_open", pa.string()),
    ("avg_px_close", pa.string()), ("realized_pnl", pa.string()), ("ts_opened", pa.uint64()),
    ("ts_closed", pa.uint64()), ("closed", pa.bool_()),
])  # fmt: skip
