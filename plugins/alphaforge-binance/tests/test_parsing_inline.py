"""Binance parsers on small inline payloads (always run; shapes as in Binance's API docs)."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from alphaforge_binance import (
    BinanceAdapter,
    BinanceBookSync,
    BinanceMarket,
    encode_new_order,
    parse_agg_trade,
    parse_book_ticker,
    parse_depth_snapshot,
    parse_depth_update,
    parse_exchange_info,
    parse_execution_report,
    parse_kline,
    parse_order_response,
    parse_order_trade_update,
    parse_trade,
    parse_user_event,
)

from alphaforge.adapters import ReportKind, SyncResult, SyncState, order_events
from alphaforge.errors import ConfigError, InvalidValue, NotSupported
from alphaforge.model import (
    AccountId,
    AggressorSide,
    BarAggregation,
    ClientOrderId,
    CurrencyPair,
    FuturesContract,
    LiquiditySide,
    Money,
    Order,
    OrderFilled,
    OrderInitialized,
    OrderSide,
    OrderStatus,
    OrderType,
    PerpetualContract,
    Price,
    Quantity,
    StrategyId,
    TimeInForce,
)

SPOT, USDM = BinanceMarket.SPOT, BinanceMarket.USDM
ACCOUNT = AccountId("BINANCE-001")

SPOT_INFO: dict[str, Any] = {
    "symbols": [
        {
            "symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC", "quoteAsset": "USDT",
            "baseAssetPrecision": 8, "quoteAssetPrecision": 8, "quotePrecision": 8,
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": "0.01000000",
                 "maxPrice": "1000000.00000000", "tickSize": "0.01000000"},
                {"filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000.00000000",
                 "stepSize": "0.00001000"},
                {"filterType": "NOTIONAL", "minNotional": "5.00000000",
                 "maxNotional": "9000000.00000000"},
            ],
        },
        {"symbol": "OLDUSDT", "status": "BREAK", "baseAsset": "OLD", "quoteAsset": "USDT",
         "filters": []},
    ]
}  # fmt: skip

USDM_INFO: dict[str, Any] = {
    "symbols": [
        {
            "symbol": "BTCUSDT", "pair": "BTCUSDT", "contractType": "PERPETUAL",
            "status": "TRADING", "baseAsset": "BTC", "quoteAsset": "USDT", "marginAsset": "USDT",
            "pricePrecision": 2, "quantityPrecision": 3, "maintMarginPercent": "2.5000",
            "requiredMarginPercent": "5.0000", "deliveryDate": 4133404802000,
            "onboardDate": 1569398400000,
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": "556.80", "maxPrice": "4529764",
                 "tickSize": "0.10"},
                {"filterType": "LOT_SIZE", "stepSize": "0.001", "maxQty": "1000",
                 "minQty": "0.001"},
                {"filterType": "MIN_NOTIONAL", "notional": "100"},
            ],
        },
        {
            "symbol": "BTCUSDT_240927", "pair": "BTCUSDT", "contractType": "CURRENT_QUARTER",
            "status": "TRADING", "baseAsset": "BTC", "quoteAsset": "USDT", "marginAsset": "USDT",
            "deliveryDate": 1727424000000, "onboardDate": 1711008000000,
            "filters": [
                {"filterType": "PRICE_FILTER", "tickSize": "0.10"},
                {"filterType": "LOT_SIZE", "stepSize": "0.001", "minQty": "0.001",
                 "maxQty": "500"},
            ],
        },
    ]
}  # fmt: skip


@pytest.fixture
def spot_btc() -> CurrencyPair:
    inst = parse_exchange_info(SPOT_INFO, SPOT)[0]
    assert isinstance(inst, CurrencyPair)
    return inst


@pytest.fixture
def usdm_btc() -> PerpetualContract:
    inst = parse_exchange_info(USDM_INFO, USDM)[0]
    assert isinstance(inst, PerpetualContract)
    return inst


# -- instruments ------------------------------------------------------------------------------


def test_spot_filters_map_to_instrument(spot_btc: CurrencyPair) -> None:
    assert str(spot_btc.id) == "BTCUSDT.BINANCE"
    assert spot_btc.tick_size == Price("0.01") and spot_btc.price_precision == 2
    assert spot_btc.lot_size == Quantity("0.00001") and spot_btc.size_precision == 5
    assert spot_btc.min_quantity == Quantity("0.00001")
    assert spot_btc.max_quantity == Quantity("9000")
    assert spot_btc.min_notional is not None
    assert spot_btc.min_notional.as_decimal() == Decimal("5")
    assert spot_btc.max_notional is not None
    # Non-trading symbols are skipped unless asked for (and then malformed ones still raise).
    assert len(parse_exchange_info(SPOT_INFO, SPOT)) == 1


def test_usdm_perpetual_and_dated_future(usdm_btc: PerpetualContract) -> None:
    assert str(usdm_btc.id) == "BTCUSDT.BINANCE_USDM"
    assert usdm_btc.tick_size == Price("0.1") and usdm_btc.price_precision == 1
    assert usdm_btc.lot_size == Quantity("0.001")
    assert usdm_btc.min_notional == Money("100", usdm_btc.quote_currency)
    assert usdm_btc.margin_maint == Decimal("0.025") and usdm_btc.margin_init == Decimal("0.05")
    future = parse_exchange_info(USDM_INFO, USDM)[1]
    assert isinstance(future, FuturesContract)
    assert future.expiry_ns == 1727424000000 * 1_000_000 and future.underlying == "BTCUSDT"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("filters", 0, "tickSize"), "abc"),
        (("filters", 1, "stepSize"), 0.001),
        (("baseAsset",), "btc lower"),
        (("symbol",), None),
    ],
)
def test_bad_exchange_info_names_the_field(path: tuple[Any, ...], value: object) -> None:
    info = copy.deepcopy(SPOT_INFO)
    target: Any = info["symbols"][0]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(InvalidValue) as exc:
        parse_exchange_info(info, SPOT)
    assert "exchangeInfo.symbols[0]" in exc.value.field


# -- market data ------------------------------------------------------------------------------


def test_trade_and_agg_trade(spot_btc: CurrencyPair) -> None:
    msg = {"stream": "btcusdt@trade", "data": {"e": "trade", "E": 1672515782136, "s": "BTCUSDT",
           "t": 12345, "p": "16500.01000000", "q": "0.00100000", "T": 1672515782136,
           "m": True, "M": True}}  # fmt: skip
    t = parse_trade(msg, spot_btc, ts_init=7)
    assert t.price == Price("16500.01") and t.size == Quantity("0.001")
    assert t.aggressor_side is AggressorSide.SELLER  # buyer was the maker
    assert str(t.trade_id) == "12345" and t.ts_event == 1672515782136 * 10**6 and t.ts_init == 7
    agg = {"e": "aggTrade", "E": 1, "s": "BTCUSDT", "a": 26129, "p": "16500.00", "q": "1.5",
           "f": 100, "l": 105, "T": 1672515782000, "m": False}  # fmt: skip
    a = parse_agg_trade(agg, spot_btc)
    assert a.aggressor_side is AggressorSide.BUYER and str(a.trade_id) == "26129"


def test_off_grid_price_is_rejected(spot_btc: CurrencyPair) -> None:
    msg = {"e": "trade", "s": "BTCUSDT", "t": 1, "p": "16500.001", "q": "1", "T": 1, "m": True}
    with pytest.raises(InvalidValue, match=r"trade\.p"):
        parse_trade(msg, spot_btc)


def test_book_ticker_spot_and_futures(spot_btc: CurrencyPair, usdm_btc: PerpetualContract) -> None:
    spot = {"u": 400900217, "s": "BTCUSDT", "b": "25.35000000", "B": "31.21000000",
            "a": "25.36000000", "A": "40.66000000"}  # fmt: skip
    q = parse_book_ticker(spot, spot_btc, ts_init=99)
    assert q.bid_price == Price("25.35") and q.ask_size == Quantity("40.66")
    assert q.ts_event == 99  # spot bookTicker carries no time
    fut = {"e": "bookTicker", "u": 1, "E": 1568014460893, "T": 1568014460891, "s": "BTCUSDT",
           "b": "25.3", "B": "31.210", "a": "25.4", "A": "40.660"}  # fmt: skip
    assert parse_book_ticker(fut, usdm_btc).ts_event == 1568014460891 * 10**6


def test_kline_closed_and_open(spot_btc: CurrencyPair) -> None:
    k = {"t": 1672515780000, "T": 1672515839999, "s": "BTCUSDT", "i": "1m", "o": "16500.00",
         "c": "16510.00", "h": "16520.00", "l": "16490.00", "v": "12.50000", "x": True}  # fmt: skip
    bar = parse_kline({"e": "kline", "E": 1, "s": "BTCUSDT", "k": k}, spot_btc)
    assert bar is not None and bar.close == Price("16510")
    assert bar.bar_type.spec.aggregation is BarAggregation.MINUTE
    assert bar.ts_event == 1672515840000 * 10**6
    assert parse_kline({"e": "kline", "s": "BTCUSDT", "k": {**k, "x": False}}, spot_btc) is None
    with pytest.raises(InvalidValue, match="kline"):
        parse_kline({"e": "kline", "s": "BTCUSDT", "k": {**k, "h": "16000.00"}}, spot_btc)


# -- book sync --------------------------------------------------------------------------------


def spot_diff(first: int, last: int, bids: list[list[str]], asks: list[list[str]]) -> Any:
    return {"e": "depthUpdate", "E": 1, "s": "BTCUSDT", "U": first, "u": last, "b": bids, "a": asks}


def usdm_diff(first: int, last: int, prev: int, bids: list[list[str]]) -> Any:
    return {"e": "depthUpdate", "E": 1, "T": 1, "s": "BTCUSDT", "U": first, "u": last,
            "pu": prev, "b": bids, "a": []}  # fmt: skip


SNAP = {"lastUpdateId": 100, "bids": [["100.00", "1.00000"], ["99.00", "2.00000"]],
        "asks": [["101.00", "1.50000"]]}  # fmt: skip


def test_spot_sync_rules(spot_btc: CurrencyPair) -> None:
    sync = BinanceBookSync(spot_btc, SPOT)
    up = lambda *a: sync.on_update(parse_depth_update(spot_diff(*a), spot_btc, SPOT))  # noqa: E731
    assert up(95, 99, [["98.00", "1"]], []) is SyncResult.BUFFERED  # before the snapshot
    assert up(99, 102, [["100.00", "0"]], []) is SyncResult.BUFFERED
    assert sync.on_snapshot(parse_depth_snapshot(SNAP, spot_btc)) == 1  # 95..99 dropped
    assert sync.is_valid and sync.last_sequence == 102
    assert sync.book.best_bid_price() == Price("99.00")
    assert up(103, 105, [], [["101.00", "3"]]) is SyncResult.APPLIED
    assert up(103, 105, [], [["101.00", "9"]]) is SyncResult.DROPPED  # duplicate
    assert sync.book.best_ask_size() == Quantity("3")
    before = sync.book.top()
    assert up(107, 108, [["50.00", "1"]], []) is SyncResult.INVALIDATED  # 106 missing
    assert sync.state is SyncState.INVALID and "gap" in sync.reason
    assert up(109, 110, [], []) is SyncResult.BUFFERED
    assert sync.book.top() == before  # nothing more applied
    fresh = {"lastUpdateId": 106, "bids": [["99.00", "2"]], "asks": [["101.00", "4"]]}
    assert sync.on_snapshot(parse_depth_snapshot(fresh, spot_btc)) == 2
    assert sync.is_valid and sync.last_sequence == 110
    assert sync.book.best_bid_price() == Price("99.00")  # 107..108 added 50.00 below
    assert sync.stats.invalidations == 1


def test_spot_snapshot_older_than_stream_waits_for_another(spot_btc: CurrencyPair) -> None:
    sync = BinanceBookSync(spot_btc, SPOT)
    sync.on_update(parse_depth_update(spot_diff(150, 160, [], []), spot_btc, SPOT))
    assert sync.on_snapshot(parse_depth_snapshot(SNAP, spot_btc)) == 0  # 101..149 missing
    assert sync.needs_snapshot and "older" in sync.reason and sync.buffered == 1
    newer = {**SNAP, "lastUpdateId": 155}
    assert sync.on_snapshot(parse_depth_snapshot(newer, spot_btc)) == 1
    assert sync.is_valid and sync.last_sequence == 160


def test_usdm_sync_rules(usdm_btc: PerpetualContract) -> None:
    sync = BinanceBookSync(usdm_btc, USDM)
    snap = {"lastUpdateId": 100, "E": 5, "T": 4, "bids": [["100.0", "1.000"]],
            "asks": [["101.0", "1.000"]]}  # fmt: skip
    up = lambda *a: sync.on_update(parse_depth_update(usdm_diff(*a), usdm_btc, USDM))  # noqa: E731
    up(90, 99, 80, [])
    up(95, 100, 99, [["100.0", "2.000"]])  # U <= L <= u: bridges (spot would drop u == L)
    assert sync.on_snapshot(parse_depth_snapshot(snap, usdm_btc)) == 1
    assert sync.book.best_bid_size() == Quantity("2")
    assert up(101, 110, 100, [["99.0", "1.000"]]) is SyncResult.APPLIED
    assert up(111, 120, 109, []) is SyncResult.INVALIDATED  # pu != previous u
    assert "prev 109" in sync.reason


def test_depth_update_without_pu_is_rejected_for_usdm(usdm_btc: PerpetualContract) -> None:
    with pytest.raises(InvalidValue, match="pu"):
        parse_depth_update(spot_diff(1, 2, [], []), usdm_btc, USDM)


def test_bad_snapshot_leaves_the_book_unchanged(spot_btc: CurrencyPair) -> None:
    sync = BinanceBookSync(spot_btc, SPOT)
    sync.on_snapshot(parse_depth_snapshot(SNAP, spot_btc))
    before = sync.book.top()
    with pytest.raises(InvalidValue):
        parse_depth_snapshot({**SNAP, "bids": [["100.00", "0"]]}, spot_btc)
    with pytest.raises(InvalidValue):
        parse_depth_snapshot({**SNAP, "asks": [["1.000000001", "1"]]}, spot_btc)
    assert sync.book.top() == before and sync.is_valid


# -- user stream and REST ---------------------------------------------------------------------

EXEC_NEW = {"e": "executionReport", "E": 1499405658658, "s": "BTCUSDT", "c": "O-1", "S": "BUY",
            "o": "LIMIT", "f": "GTC", "q": "1.00000000", "p": "16000.00000000",
            "P": "0.00000000", "x": "NEW", "X": "NEW", "r": "NONE", "i": 4293153,
            "l": "0.00000000", "z": "0.00000000", "L": "0.00000000", "n": "0", "N": None,
            "T": 1499405658657, "t": -1, "m": False, "Z": "0.00000000", "C": ""}  # fmt: skip


def test_execution_report_lifecycle(spot_btc: CurrencyPair) -> None:
    new = parse_execution_report({"subscriptionId": 0, "event": EXEC_NEW}, spot_btc, ACCOUNT)
    assert new.kind is ReportKind.ACCEPTED and new.status is OrderStatus.ACCEPTED
    assert new.client_order_id == ClientOrderId("O-1") and new.price == Price("16000")
    trade = {**EXEC_NEW, "x": "TRADE", "X": "PARTIALLY_FILLED", "l": "0.40000000",
             "z": "0.40000000", "L": "16000.00000000", "n": "0.00040000", "N": "BNB",
             "t": 77, "m": True, "Z": "6400.00000000"}  # fmt: skip
    fill = parse_execution_report(trade, spot_btc, ACCOUNT)
    assert fill.kind is ReportKind.FILL and fill.avg_px == Decimal("16000")
    (f,) = fill.fills
    assert f.last_qty == Quantity("0.4") and f.liquidity_side is LiquiditySide.MAKER
    assert f.commission.currency.code == "BNB"
    assert f.commission.as_decimal() == Decimal("0.0004")
    events = order_events(fill, strategy_id=StrategyId("S-1"), ts_init=1)
    assert len(events) == 1 and isinstance(events[0], OrderFilled)
    assert events[0].trade_id.value == "77" and events[0].order_side is OrderSide.BUY
    # A cancel names the original order in "C" ("c" is the cancel request's id).
    cancel = {**EXEC_NEW, "x": "CANCELED", "X": "CANCELED", "c": "cancel-9", "C": "O-1"}
    canceled = parse_execution_report(cancel, spot_btc, ACCOUNT)
    assert canceled.kind is ReportKind.CANCELED and canceled.client_order_id.value == "O-1"  # type: ignore[union-attr]
    maker = parse_execution_report({**EXEC_NEW, "o": "LIMIT_MAKER"}, spot_btc, ACCOUNT)
    assert maker.post_only and maker.order_type is OrderType.LIMIT
    external = parse_execution_report({**EXEC_NEW, "c": ""}, spot_btc, ACCOUNT)
    assert external.is_external
    with pytest.raises(InvalidValue):
        order_events(external, strategy_id=StrategyId("S-1"), ts_init=1)


def test_order_trade_update(usdm_btc: PerpetualContract) -> None:
    msg = {"e": "ORDER_TRADE_UPDATE", "E": 1568879465651, "T": 1568879465650, "o": {
        "s": "BTCUSDT", "c": "O-2", "S": "SELL", "o": "TAKE_PROFIT", "f": "GTX",
        "q": "0.002", "p": "7100.5", "ap": "7100.50000", "sp": "7000.0", "x": "TRADE",
        "X": "FILLED", "i": 8886774, "l": "0.002", "z": "0.002", "L": "7100.5", "N": "USDT",
        "n": "0.00284020", "T": 1568879465651, "t": 42, "m": False, "R": True}}  # fmt: skip
    r = parse_order_trade_update(msg, usdm_btc, ACCOUNT)
    assert r.kind is ReportKind.FILL and r.status is OrderStatus.FILLED
    assert r.order_type is OrderType.LIMIT_IF_TOUCHED and r.post_only and r.reduce_only
    assert r.trigger_price == Price("7000") and r.fills[0].liquidity_side is LiquiditySide.TAKER
    assert parse_user_event(msg, {"BTCUSDT": usdm_btc}, ACCOUNT) == r
    assert parse_user_event({"e": "ACCOUNT_UPDATE"}, {}, ACCOUNT) is None
    with pytest.raises(InvalidValue, match="unknown symbol"):
        parse_user_event(msg, {}, ACCOUNT)


def test_rest_responses(spot_btc: CurrencyPair, usdm_btc: PerpetualContract) -> None:
    full = {"symbol": "BTCUSDT", "orderId": 28, "clientOrderId": "O-3", "transactTime": 1,
            "price": "0.00000000", "origQty": "0.30000000", "executedQty": "0.30000000",
            "cummulativeQuoteQty": "4800.00000000", "status": "FILLED", "timeInForce": "GTC",
            "type": "MARKET", "side": "SELL", "fills": [
                {"price": "16000.00", "qty": "0.10000000", "commission": "1.6",
                 "commissionAsset": "USDT", "tradeId": 56},
                {"price": "16000.00", "qty": "0.20000000", "commission": "3.2",
                 "commissionAsset": "USDT", "tradeId": 57}]}  # fmt: skip
    r = parse_order_response(full, spot_btc, ACCOUNT, SPOT)
    assert r.kind is ReportKind.FILL and len(r.fills) == 2 and r.price is None
    assert r.avg_px == Decimal("16000")
    assert parse_order_response(full, spot_btc, ACCOUNT, SPOT, snapshot=True).kind is (
        ReportKind.STATUS
    )
    fut = {"orderId": 1, "symbol": "BTCUSDT", "status": "NEW", "clientOrderId": "O-4",
           "price": "50000.0", "avgPrice": "0.00", "origQty": "0.001", "executedQty": "0",
           "timeInForce": "GTC", "type": "LIMIT", "reduceOnly": False, "side": "BUY",
           "stopPrice": "0", "updateTime": 1625474304765}  # fmt: skip
    assert parse_order_response(fut, usdm_btc, ACCOUNT, USDM).kind is ReportKind.ACCEPTED
    with pytest.raises(InvalidValue, match=r"order\.status"):
        parse_order_response({**fut, "status": "WEIRD"}, usdm_btc, ACCOUNT, USDM)


def make_order(inst: Any, **kw: Any) -> Order:
    fields: dict[str, Any] = {
        "client_order_id": ClientOrderId("O-9"), "strategy_id": StrategyId("S-1"),
        "instrument_id": inst.id, "ts_event": 0, "ts_init": 0, "side": OrderSide.BUY,
        "order_type": OrderType.LIMIT, "quantity": Quantity("0.001"), "price": Price("100.0"),
    }  # fmt: skip
    fields.update(kw)
    return Order.from_init(OrderInitialized(**fields))


def test_encode_new_order(spot_btc: CurrencyPair, usdm_btc: PerpetualContract) -> None:
    params = encode_new_order(make_order(spot_btc, post_only=True), spot_btc, SPOT)
    assert params["type"] == "LIMIT_MAKER" and "timeInForce" not in params
    assert params["price"] == "100.00" and params["quantity"] == "0.00100"
    fut = encode_new_order(make_order(usdm_btc, post_only=True, reduce_only=True), usdm_btc, USDM)
    assert fut["timeInForce"] == "GTX" and fut["reduceOnly"] == "true"
    with pytest.raises(NotSupported, match="reduce-only"):
        encode_new_order(make_order(spot_btc, reduce_only=True), spot_btc, SPOT)
    with pytest.raises(NotSupported, match="GTD"):
        encode_new_order(
            make_order(spot_btc, time_in_force=TimeInForce.GTD, expire_time_ns=10**18),
            spot_btc,
            SPOT,
        )
    with pytest.raises(InvalidValue):  # off the tick grid
        encode_new_order(make_order(spot_btc, price=Price("100.001")), spot_btc, SPOT)


def test_adapter_factory_config() -> None:
    adapter = BinanceAdapter(SPOT, testnet=True)
    assert adapter.testnet and adapter.capabilities.venue.value == "BINANCE"
    with pytest.raises(ConfigError):
        BinanceAdapter(SPOT, bogus="x")
    assert BinanceAdapter(USDM).data_client().venue.value == "BINANCE_USDM"
    with pytest.raises(ConfigError):
        BinanceAdapter(SPOT, key_type="rsa")
    with pytest.raises(ConfigError):  # no credentials
        adapter.execution_client(ACCOUNT)
