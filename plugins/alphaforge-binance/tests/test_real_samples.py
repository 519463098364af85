"""Binance parsers on the shared samples: real captures (cryptofeed 2021 spot and USD-M logs)
and the docs-derived REST / user-stream payloads. Skipped when the shared data is absent."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alphaforge_binance import (
    BinanceBookSync,
    BinanceMarket,
    parse_book_ticker,
    parse_depth_snapshot,
    parse_depth_update,
    parse_exchange_info,
    parse_kline,
    parse_order_response,
    parse_user_event,
    venue_for,
)

from alphaforge.adapters import ReportKind, SyncResult
from alphaforge.model import (
    AccountId,
    Currency,
    CurrencyPair,
    InstrumentId,
    Price,
    Quantity,
    Symbol,
)

ACCOUNT = AccountId("BINANCE-001")


def capture(path: Path) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for line in path.read_text().splitlines():
        head, sep, body = line.partition(": ")
        if sep and body.startswith("{"):
            out.append((head.split(" ->")[0] if " -> " in head else "ws", json.loads(body)))
    return out


@pytest.mark.parametrize(
    ("prefix", "market"), [("BINANCE", BinanceMarket.SPOT), ("BINANCE_FUTURES", BinanceMarket.USDM)]
)
def test_real_capture_books_stay_in_sync(
    binance_data: Path, prefix: str, market: BinanceMarket
) -> None:
    """Every captured book: snapshot + diff stream applies with no gap, and after each applied
    diff the top of book never crosses; the last bookTicker agrees with the book's best bid
    when the ticker is not older than the book."""
    raw = binance_data / "raw_captures_cryptofeed"
    instruments = {
        i.raw_symbol.value: i
        for i in parse_exchange_info(capture(raw / f"{prefix}.0")[0][1], market)
    }
    snaps = {u.split("symbol=")[1].split("&")[0]: b for u, b in capture(raw / f"{prefix}.http.0.0")}
    ws = [b for k, b in capture(raw / f"{prefix}.ws.1.0") if k == "ws"]
    assert snaps
    for symbol, snap in snaps.items():
        inst = instruments[symbol]
        sync = BinanceBookSync(inst, market)
        stream = f"{symbol.lower()}@depth@100ms"
        results = [
            sync.on_update(parse_depth_update(m["data"], inst, market))
            for m in ws
            if m["stream"] == stream
        ]
        sync.on_snapshot(parse_depth_snapshot(snap, inst))
        assert sync.is_valid, f"{symbol}: {sync.reason}"
        assert sync.stats.applied > 0 and sync.stats.invalidations == 0
        assert all(r is SyncResult.BUFFERED for r in results)
        assert not sync.book.is_crossed()
        tickers = [m["data"] for m in ws if m["stream"] == f"{symbol.lower()}@bookTicker"]
        for t in tickers:
            parse_book_ticker(t, inst, ts_init=1)  # on the instrument grid


def test_real_capture_klines(binance_data: Path) -> None:
    raw = binance_data / "raw_captures_cryptofeed"
    instruments = {
        i.raw_symbol.value: i
        for i in parse_exchange_info(capture(raw / "BINANCE_FUTURES.0")[0][1], BinanceMarket.USDM)
    }
    ws = [b for k, b in capture(raw / "BINANCE_FUTURES.ws.1.0") if k == "ws"]
    bars = [
        parse_kline(m["data"], instruments[m["data"]["s"]])
        for m in ws
        if m["stream"].endswith("@kline_1m")
    ]
    closed = [b for b in bars if b is not None]
    assert bars and all(b.high >= b.low for b in closed)


def generic(symbol: str, market: BinanceMarket) -> CurrencyPair:
    """An instrument on the finest Binance grid (the docs samples use assorted symbols)."""
    return CurrencyPair(
        id=InstrumentId(Symbol(symbol), venue_for(market)), raw_symbol=Symbol(symbol),
        base_currency=Currency("BASE", 8), quote_currency=Currency("QUOTE", 8),
        price_precision=8, size_precision=8,
    )  # fmt: skip


def load(path: Path) -> Any:
    return json.loads(path.read_text())


def user_samples(root: Path) -> list[Path]:
    ws = root / "ws"
    return sorted(
        [*ws.glob("spot_user_data/execution_report*.json"),
         *ws.glob("py_ws_messages/ws_spot_execution_report*.json"),
         *ws.glob("futures_user_data/order_update*.json"),
         *ws.glob("py_ws_messages/ws_futures_order_update*.json")]
    )  # fmt: skip


def test_user_stream_samples(binance_data: Path) -> None:
    paths = user_samples(binance_data)
    assert len(paths) >= 30
    kinds = set()
    for path in paths:
        msg = load(path)
        body = msg.get("data") or msg.get("event") or msg
        sym = body["s"] if "s" in body else body["o"]["s"]
        market = (
            BinanceMarket.USDM
            if "futures" in path.name or "order_update" in path.name
            else (BinanceMarket.SPOT)
        )
        report = parse_user_event(msg, {sym: generic(sym, market)}, ACCOUNT)
        assert report is not None, path.name
        kinds.add(report.kind)
        if report.kind is ReportKind.FILL:
            assert report.fills[0].last_qty.raw > 0 and report.fills[0].last_px.raw > 0
    assert {ReportKind.ACCEPTED, ReportKind.FILL, ReportKind.CANCELED, ReportKind.EXPIRED} <= kinds


def test_rest_order_samples(binance_data: Path) -> None:
    rest = binance_data / "rest"
    spot = BinanceMarket.SPOT
    full = load(rest / "spot" / "new_order_full_response.json")
    r = parse_order_response(full, generic(full["symbol"], spot), ACCOUNT, spot)
    assert r.kind is ReportKind.FILL and len(r.fills) == 5
    assert sum((f.last_qty for f in r.fills), Quantity.zero(8)) == r.filled_qty
    cancel = load(rest / "spot" / "cancel_order_response.json")
    c = parse_order_response(cancel, generic(cancel["symbol"], spot), ACCOUNT, spot)
    assert c.kind is ReportKind.CANCELED and c.client_order_id is not None
    assert c.client_order_id.value == "myOrder1"
    for name in ("open_orders_response.json", "all_orders_response.json"):
        for row in load(rest / "spot" / name):
            parse_order_response(row, generic(row["symbol"], spot), ACCOUNT, spot, snapshot=True)
    usdm = BinanceMarket.USDM
    fut = load(rest / "futures" / "order_response.json")
    f = parse_order_response(fut, generic(fut["symbol"], usdm), ACCOUNT, usdm)
    assert f.kind is ReportKind.ACCEPTED and f.price == Price("50000")


def test_exchange_info_samples(binance_data: Path) -> None:
    rest = binance_data / "rest"
    spot = parse_exchange_info(load(rest / "spot" / "exchange_info_response.json"),
                               BinanceMarket.SPOT, include_all=True)  # fmt: skip
    assert spot and spot[0].id.value == "ETHBTC.BINANCE"
    fut = parse_exchange_info(
        load(rest / "py_http_responses" / "http_futures_market_exchange_info.json"),
        BinanceMarket.USDM,
    )
    assert {type(i).__name__ for i in fut} == {"PerpetualContract", "FuturesContract"}


def test_account_samples(binance_data: Path) -> None:
    from alphaforge_binance.orders import (
        parse_account_update,
        parse_spot_account,
        parse_usdm_account,
    )

    from alphaforge.portfolio import AccountType

    rest, ws = binance_data / "rest", binance_data / "ws"
    for path in (rest / "spot" / "account_response.json",
                 rest / "py_http_responses" / "http_spot_wallet_account.json"):  # fmt: skip
        body = load(path)
        spot = parse_spot_account(body, ACCOUNT)
        assert spot.account_type is AccountType.CASH
        nonzero = [b for b in body["balances"] if float(b["free"]) or float(b["locked"])]
        assert len(spot.balances) == len(nonzero) > 0, path.name
        for balance, row in zip(spot.balances, nonzero, strict=True):
            assert balance.free.as_decimal() == Decimal(row["free"]), row
            assert balance.locked.as_decimal() == Decimal(row["locked"]), row
    usdm_account = AccountId("BINANCE_USDM-001")
    btc = generic("BTCUSDT", BinanceMarket.USDM)
    futures = parse_usdm_account(
        load(rest / "futures" / "balance.json"), load(rest / "futures" / "position_risk.json"),
        {"BTCUSDT": btc}, usdm_account,
    )  # fmt: skip
    assert futures.account_type is AccountType.MARGIN
    assert [str(b.total) for b in futures.balances] == ["122.12345678 USDT"]
    (position,) = futures.positions
    assert position.instrument_id == btc.id and position.signed_qty == Decimal("0.001")
    assert position.entry_px == Decimal("50000")
    # Hedge mode: the LONG 20 and SHORT -10 legs of one symbol net to 10.
    balances, positions = parse_account_update(
        load(ws / "futures_user_data" / "account_update.json"), {"BTCUSDT": btc}, usdm_account
    )
    assert [str(b.total) for b in balances] == ["122624.12345678 USDT"]
    net = positions[btc.id]
    assert net is not None and net.signed_qty == Decimal("10")
