"""A self-contained HTML report: inline SVG charts and tables, no scripts, no network.

The page opens from disk anywhere (a CI artifact, an air-gapped box): the equity curve, the
drawdown, the price with buy/sell fills, the statistics and the order/position tables are all
inline. Long series are thinned to at most ``MAX_POINTS`` per chart, keeping each bucket's
first, min and max points so spikes survive.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import attrs
import numpy as np

from alphaforge.backtest.stats import Statistics, drawdown

MAX_POINTS = 1500
WIDTH, HEIGHT, PAD = 960, 220, 40


@attrs.frozen
class ReportData:
    """What the report shows; plain arrays so any run (or a test) can produce it."""

    title: str
    statistics: Statistics
    equity_ts: np.ndarray[Any, Any]
    equity: np.ndarray[Any, Any]
    price_ts: np.ndarray[Any, Any]
    price: np.ndarray[Any, Any]
    fill_ts: np.ndarray[Any, Any]
    fill_price: np.ndarray[Any, Any]
    fill_is_buy: np.ndarray[Any, Any]
    tables: Mapping[str, tuple[Sequence[str], Sequence[Sequence[Any]]]] = attrs.field(factory=dict)
    notes: Sequence[str] = ()


def _thin(x: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], ...]:
    if len(x) <= MAX_POINTS:
        return x, y
    buckets = np.array_split(np.arange(len(x)), MAX_POINTS // 3)
    keep = sorted({i for b in buckets for i in (b[0], b[np.argmin(y[b])], b[np.argmax(y[b])])})
    return x[keep], y[keep]


def _scale(values: np.ndarray[Any, Any], lo: float, hi: float, out_lo: float, out_hi: float) -> Any:
    span = hi - lo or 1.0
    return out_lo + (np.asarray(values, dtype=float) - lo) / span * (out_hi - out_lo)


def _chart(
    title: str,
    x: np.ndarray[Any, Any],
    y: np.ndarray[Any, Any],
    color: str,
    markers: Sequence[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], str]] = (),
) -> str:
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) == 0:
        return f"<h2>{html.escape(title)}</h2><p>no data</p>"
    tx, ty = _thin(x, y)
    x_lo, x_hi = float(x.min()), float(x.max())
    y_lo, y_hi = float(np.nanmin(y)), float(np.nanmax(y))
    for _, my, _ in markers:
        if len(my):
            y_lo, y_hi = min(y_lo, float(np.min(my))), max(y_hi, float(np.max(my)))
    px = _scale(tx, x_lo, x_hi, PAD, WIDTH - 10)
    py = _scale(ty, y_lo, y_hi, HEIGHT - 20, 10)
    points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px, py, strict=True))
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{html.escape(title)}">',
        f'<text x="2" y="14" class="axis">{y_hi:,.2f}</text>',
        f'<text x="2" y="{HEIGHT - 22}" class="axis">{y_lo:,.2f}</text>',
        f'<polyline fill="none" stroke="{color}" stroke-width="1.2" points="{points}"/>',
    ]
    for mx, my, mcolor in markers:
        mx_px = _scale(mx, x_lo, x_hi, PAD, WIDTH - 10)
        my_px = _scale(my, y_lo, y_hi, HEIGHT - 20, 10)
        parts += [
            f'<circle cx="{a:.1f}" cy="{b:.1f}" r="2.5" fill="{mcolor}"/>'
            for a, b in list(zip(mx_px, my_px, strict=True))[:MAX_POINTS]
        ]
    parts.append("</svg>")
    return f"<h2>{html.escape(title)}</h2>" + "".join(parts)


def _time(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _table(
    title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], limit: int = 500
) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
        for row in rows[:limit]
    )
    more = f"<p>{len(rows) - limit} more rows not shown.</p>" if len(rows) > limit else ""
    return f"<h2>{html.escape(title)}</h2><table><tr>{head}</tr>{body}</table>{more}"


def _format_stat(name: str, value: Any) -> str:
    if name.endswith("_ns"):
        return f"{value / 3.6e12:,.2f} h"
    if name in ("total_return", "annualized_return", "annualized_volatility", "max_drawdown",
                "win_rate"):  # fmt: skip
        return f"{value:.2%}"
    return f"{value:,.4f}" if isinstance(value, float) else str(value)


STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1000px}
svg{width:100%;height:auto;background:#fafafa;border:1px solid #eee}
.axis{font-size:10px;fill:#666} table{border-collapse:collapse;font-size:12px;margin-bottom:16px}
td,th{border:1px solid #ddd;padding:2px 6px;text-align:right} th{background:#f0f0f0}
"""


def render_html(data: ReportData) -> str:
    """The report page as one HTML string."""
    stats = data.statistics.as_dict()
    stat_rows = [(name, _format_stat(name, value)) for name, value in stats.items()]
    buys = data.fill_is_buy.astype(bool)
    sections = [
        f"<h1>{html.escape(data.title)}</h1>",
        "".join(f"<p>{html.escape(n)}</p>" for n in data.notes),
        _table("Statistics", ("metric", "value"), stat_rows),
        _chart("Equity", data.equity_ts, data.equity, "#1f77b4"),
        _chart("Drawdown", data.equity_ts, drawdown(data.equity) * 100, "#d62728"),
        _chart(
            "Price and fills (green buy, red sell)",
            data.price_ts,
            data.price,
            "#555",
            [
                (data.fill_ts[buys], data.fill_price[buys], "#2ca02c"),
                (data.fill_ts[~buys], data.fill_price[~buys], "#d62728"),
            ],
        ),
    ]
    sections += [_table(name, cols, rows) for name, (cols, rows) in data.tables.items()]
    if len(data.equity_ts):
        span = f"{_time(int(data.equity_ts[0]))} to {_time(int(data.equity_ts[-1]))} UTC"
        sections.insert(1, f"<p>{span}</p>")
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(data.title)}</title><style>{STYLE}</style></head><body>"
        + "".join(sections)
        + "</body></html>"
    )
