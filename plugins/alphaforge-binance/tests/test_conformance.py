"""The SDK's adapter conformance kit (no live node) on Binance: inline streams (always run)
and the real cryptofeed capture of NKNUSDT spot (snapshot + 150 diff-depth events)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from alphaforge_binance import (
    SPOT_CAPABILITIES,
    USDM_CAPABILITIES,
    BinanceBookSync,
    BinanceMarket,
    encode_new_order,
    parse_account_position,
    parse_agg_trade,
    parse_book_ticker,
    parse_depth_snapshot,
    parse_depth_update,
    parse_exchange_info,
    parse_execution_report,
    parse_kline,
    parse_trade,
)

from alphaforge.adapters import Capabilities
from alphaforge.model import Instrument, Order, QuoteTick, TradeTick
from alphaforge.testing import AdapterConformance, BookScenario, OrderEncoder

SPOT, USDM = BinanceMarket.SPOT, BinanceMarket.USDM

INFO = {
    "symbols": [
        {"symbol": "ETHUSDT", "status": "TRADING", "baseAsset": "ETH", "quoteAsset": "USDT",
         "contractType": "PERPETUAL", "marginAsset": "USDT", "filters": [
             {"filterType": "PRICE_FILTER", "tickSize": "0.01000000"},
             {"filterType": "LOT_SIZE", "stepSize": "0.00010000", "minQty": "0.00010000",
              "maxQty": "9000.00000000"}]}
    ]
}  # fmt: skip


def inline_stream(market: BinanceMarket) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A snapshot at 100 and ten contiguous diffs (the first two already covered)."""
    snap = {"lastUpdateId": 100, "bids": [["2000.00", "1.0000"], ["1999.00", "2.0000"]],
            "asks": [["2001.00", "1.5000"], ["2002.00", "3.0000"]]}  # fmt: skip
    diffs = []
    prev, u = 90, 95
    for i in range(10):
        first, last = prev + 1, u
        diff = {"e": "depthUpdate", "E": 1_700_000_000_000 + i, "s": "ETHUSDT", "U": first,
                "u": last, "b": [[f"{1998 - i}.00", f"{i + 1}.0000"]],
                "a": [["2001.00", "0"]] if i == 5 else [[f"{2003 + i}.00", "0.5000"]]}  # fmt: skip
        if market is USDM:
            diff["pu"] = prev
        diffs.append(diff)
        prev, u = last, last + 4 if i else 100 if market is SPOT else 101
    return snap, diffs


class _Binance(AdapterConformance):
    market = SPOT

    @pytest.fixture
    def adapter_capabilities(self) -> Capabilities:
        return SPOT_CAPABILITIES if self.market is SPOT else USDM_CAPABILITIES

    @pytest.fixture
    def adapter_instruments(self) -> Sequence[Instrument]:
        return parse_exchange_info(INFO, self.market)

    @pytest.fixture
    def book_scenario(self, adapter_instruments: Sequence[Instrument]) -> BookScenario:
        inst = adapter_instruments[0]
        snap, diffs = inline_stream(self.market)
        return BookScenario(
            instrument=inst,
            snapshot=parse_depth_snapshot(snap, inst),
            updates=[parse_depth_update(d, inst, self.market) for d in diffs],
            make_sync=lambda: BinanceBookSync(inst, self.market),
        )

    @pytest.fixture
    def adapter_trades(self, adapter_instruments: Sequence[Instrument]) -> Sequence[TradeTick]:
        inst = adapter_instruments[0]
        return [
            parse_trade({"e": "trade", "s": "ETHUSDT", "t": 1, "p": "2000.01", "q": "0.5",
                         "T": 1_700_000_000_000, "m": True}, inst),
            parse_agg_trade({"e": "aggTrade", "s": "ETHUSDT", "a": 9, "p": "2000.02",
                             "q": "0.1000", "T": 1_700_000_000_001, "m": False}, inst),
        ]  # fmt: skip

    @pytest.fixture
    def adapter_quotes(self, adapter_instruments: Sequence[Instrument]) -> Sequence[QuoteTick]:
        inst = adapter_instruments[0]
        return [parse_book_ticker({"u": 1, "s": "ETHUSDT", "b": "2000.00", "B": "1.0000",
                                   "a": "2000.01", "A": "2.0000"}, inst, ts_init=1)]  # fmt: skip

    @pytest.fixture
    def order_encoder(self) -> OrderEncoder:
        def encode(order: Order, instrument: Instrument) -> object:
            return encode_new_order(order, instrument, self.market)

        return encode

    @pytest.fixture
    def garbage_parsers(
        self, adapter_instruments: Sequence[Instrument]
    ) -> Sequence[Callable[[object], object]]:
        inst = adapter_instruments[0]
        return [
            lambda f: parse_trade(f, inst),
            lambda f: parse_agg_trade(f, inst),
            lambda f: parse_book_ticker(f, inst),
            lambda f: parse_depth_update(f, inst, self.market),
            lambda f: parse_depth_snapshot(f, inst),
            lambda f: parse_exchange_info(f, self.market),
            lambda f: parse_execution_report(f, inst, _ACCOUNT),
            lambda f: parse_account_position(f, _ACCOUNT),
            lambda f: parse_kline(f, inst),
        ]


from alphaforge.model import AccountId  # noqa: E402

_ACCOUNT = AccountId("BINANCE-001")


class TestBinanceSpotConformance(_Binance):
    adapter_name = "binance"
    market = SPOT


class TestBinanceUsdmConformance(_Binance):
    adapter_name = "binance_usdm"
    market = USDM


def _capture(path: Path) -> list[tuple[str, Any]]:
    """(kind, body) of a cryptofeed log: kind is the REST URL or "ws"."""
    out: list[tuple[str, Any]] = []
    for line in path.read_text().splitlines():
        head, sep, body = line.partition(": ")
        if not sep or not body.startswith("{"):
            continue
        out.append((head.split(" ->")[0] if " -> " in head else "ws", json.loads(body)))
    return out


class TestBinanceSpotRealCapture(_Binance):
    """NKNUSDT from the real 2021-10-12 capture: exchangeInfo, REST snapshot, diff stream,
    bookTicker and aggTrades."""

    market = SPOT

    @pytest.fixture
    def capture(self, binance_data: Path) -> dict[str, Any]:
        raw = binance_data / "raw_captures_cryptofeed"
        info = _capture(raw / "BINANCE.0")[0][1]
        snaps = {url.split("symbol=")[1].split("&")[0]: body
                 for url, body in _capture(raw / "BINANCE.http.0.0")}  # fmt: skip
        ws = [b for k, b in _capture(raw / "BINANCE.ws.1.0") if k == "ws"]
        return {"info": info, "snap": snaps["NKNUSDT"], "ws": ws}

    @pytest.fixture
    def adapter_instruments(self, capture: dict[str, Any]) -> Sequence[Instrument]:
        instruments = parse_exchange_info(capture["info"], SPOT)
        return sorted(instruments, key=lambda i: i.id.value != "NKNUSDT.BINANCE")

    @pytest.fixture
    def book_scenario(
        self, capture: dict[str, Any], adapter_instruments: Sequence[Instrument]
    ) -> BookScenario:
        inst = adapter_instruments[0]
        diffs = [m for m in capture["ws"] if m["stream"] == "nknusdt@depth@100ms"]
        return BookScenario(
            instrument=inst,
            snapshot=parse_depth_snapshot(capture["snap"], inst),
            updates=[parse_depth_update(d, inst, SPOT) for d in diffs],
            make_sync=lambda: BinanceBookSync(inst, SPOT),
        )

    @pytest.fixture
    def adapter_trades(
        self, capture: dict[str, Any], adapter_instruments: Sequence[Instrument]
    ) -> Sequence[TradeTick]:
        by_symbol = {i.raw_symbol.value: i for i in adapter_instruments}
        msgs = [m["data"] for m in capture["ws"] if m["stream"].endswith("@aggTrade")]
        return [parse_agg_trade(m, by_symbol[m["s"]]) for m in msgs]

    @pytest.fixture
    def adapter_quotes(
        self, capture: dict[str, Any], adapter_instruments: Sequence[Instrument]
    ) -> Sequence[QuoteTick]:
        by_symbol = {i.raw_symbol.value: i for i in adapter_instruments}
        msgs = [m["data"] for m in capture["ws"] if m["stream"].endswith("@bookTicker")]
        return [parse_book_ticker(m, by_symbol[m["s"]], ts_init=1) for m in msgs]
