"""Binance order reports (user stream and REST responses) and new-order requests.

User stream -> :class:`~alphaforge.adapters.OrderReport`:

==========================  ======================================================================
Spot ``executionReport.x``  USD-M ``ORDER_TRADE_UPDATE.o.x``  -> report kind
==========================  ======================================================================
NEW                         NEW                                ACCEPTED
TRADE                       TRADE, CALCULATED (liquidation)    FILL (a fill of ``l`` at ``L``)
CANCELED                    CANCELED                           CANCELED
EXPIRED, TRADE_PREVENTION   EXPIRED                            EXPIRED
REJECTED                    --                                 REJECTED
REPLACED                    AMENDMENT                          UPDATED
==========================  ======================================================================

Order types: spot ``STOP_LOSS``/``STOP_LOSS_LIMIT``/``TAKE_PROFIT``/``TAKE_PROFIT_LIMIT`` and
USD-M ``STOP_MARKET``/``STOP``/``TAKE_PROFIT_MARKET``/``TAKE_PROFIT`` map to STOP_MARKET /
STOP_LIMIT / MARKET_IF_TOUCHED / LIMIT_IF_TOUCHED; ``LIMIT_MAKER`` and ``GTX`` are post-only
LIMIT / GTC; USD-M ``TRAILING_STOP_MARKET`` is reported as STOP_MARKET. A client order id of
``""`` means none (an external order). A TRADE whose last price ``L`` is ``0`` (seen on
Binance.US) is priced at the order's limit price, else at its average price.

Accounts (:func:`parse_spot_account`, :func:`parse_usdm_account`, :func:`parse_account_update`):
spot ``balances[].free/locked``; USD-M ``/fapi/v2/balance`` (``balance`` is the wallet total,
``availableBalance`` what is free; the rest is held as margin) and ``/fapi/v2/positionRisk``
(one-way ``positionSide=BOTH`` rows, or hedge-mode ``LONG``/``SHORT`` rows netted per symbol).
Trade history (``myTrades`` / ``userTrades``) becomes ``FILL`` reports with
:func:`parse_account_trades`, joined to the orders (``allOrders``) for the client order id.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

import attrs

from alphaforge.adapters import FillReport, OrderReport, ReportKind
from alphaforge.adapters.parsing import (
    as_bool,
    as_int,
    as_mapping,
    as_str,
    field,
    ms_to_ns,
    parse_price,
    parse_quantity,
    raw_at,
)
from alphaforge.adapters.reports import AccountReport, PositionReport
from alphaforge.errors import InvalidValue
from alphaforge.model import (
    AccountId,
    ClientOrderId,
    Currency,
    Instrument,
    LiquiditySide,
    Money,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    Price,
    TimeInForce,
    TradeId,
    VenueOrderId,
)
from alphaforge.portfolio import AccountBalance, AccountType
from alphaforge_binance.common import BinanceMarket, capabilities_for
from alphaforge_binance.instruments import currency
from alphaforge_binance.market_data import unwrap

__all__ = [
    "encode_new_order",
    "parse_account_trades",
    "parse_account_update",
    "parse_spot_account",
    "parse_usdm_account",
    "parse_execution_report",
    "parse_order_response",
    "parse_order_trade_update",
    "parse_user_event",
]

_SIDES: Final = {"BUY": OrderSide.BUY, "SELL": OrderSide.SELL}
# venue type -> (type, post_only)
_TYPES: Final = {
    "MARKET": (OrderType.MARKET, False),
    "LIMIT": (OrderType.LIMIT, False),
    "LIMIT_MAKER": (OrderType.LIMIT, True),
    "STOP_LOSS": (OrderType.STOP_MARKET, False),
    "STOP_MARKET": (OrderType.STOP_MARKET, False),
    "TRAILING_STOP_MARKET": (OrderType.STOP_MARKET, False),
    "STOP_LOSS_LIMIT": (OrderType.STOP_LIMIT, False),
    "STOP": (OrderType.STOP_LIMIT, False),
    "TAKE_PROFIT": (OrderType.MARKET_IF_TOUCHED, False),  # spot: market take-profit
    "TAKE_PROFIT_MARKET": (OrderType.MARKET_IF_TOUCHED, False),
    "TAKE_PROFIT_LIMIT": (OrderType.LIMIT_IF_TOUCHED, False),
    "LIQUIDATION": (OrderType.MARKET, False),
}
# USD-M "TAKE_PROFIT" is the limit variant.
_USDM_TYPES: Final = {**_TYPES, "TAKE_PROFIT": (OrderType.LIMIT_IF_TOUCHED, False)}
# venue TIF -> (tif, post_only)
_TIFS: Final = {
    "GTC": (TimeInForce.GTC, False),
    "IOC": (TimeInForce.IOC, False),
    "FOK": (TimeInForce.FOK, False),
    "GTD": (TimeInForce.GTD, False),
    "GTX": (TimeInForce.GTC, True),
}
_STATUS: Final = {
    "NEW": OrderStatus.ACCEPTED,
    "PENDING_NEW": OrderStatus.SUBMITTED,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "PENDING_CANCEL": OrderStatus.PENDING_CANCEL,
    "REJECTED": OrderStatus.REJECTED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,
    "NEW_INSURANCE": OrderStatus.ACCEPTED,
    "NEW_ADL": OrderStatus.ACCEPTED,
}
_EXEC_KIND: Final = {
    "NEW": ReportKind.ACCEPTED,
    "TRADE": ReportKind.FILL,
    "CALCULATED": ReportKind.FILL,
    "CANCELED": ReportKind.CANCELED,
    "EXPIRED": ReportKind.EXPIRED,
    "TRADE_PREVENTION": ReportKind.EXPIRED,
    "REJECTED": ReportKind.REJECTED,
    "REPLACED": ReportKind.UPDATED,
    "AMENDMENT": ReportKind.UPDATED,
}


def _lookup(table: Mapping[str, Any], value: object, path: str) -> Any:
    if type(value) is not str or value not in table:
        raise InvalidValue(path, value, f"must be one of {sorted(table)}")
    return table[value]


def _client_id(
    m: Mapping[str, Any], path: str, *, orig_key: str | None = None
) -> ClientOrderId | None:
    # On a spot cancel, "c" is the cancel request's id and "C" the original order's.
    for key in (orig_key, "c") if orig_key else ("c",):
        assert key is not None
        value = m.get(key)
        if value is not None and type(value) is not str:
            raise InvalidValue(f"{path}.{key}", value, "must be a string")
        if value:
            return ClientOrderId(value)
    return None


def _decimal(value: object, path: str, *, signed: bool = False) -> Decimal:
    if type(value) is not str or len(value) > 64:
        raise InvalidValue(path, value, "must be a decimal string")
    try:
        out = Decimal(value)
    except ArithmeticError:
        raise InvalidValue(path, value, "must be a decimal string") from None
    if not out.is_finite() or (out < 0 and not signed):
        raise InvalidValue(path, value, "must be finite" if signed else "must be finite and >= 0")
    return out


def _opt_price(value: object, inst: Instrument, path: str) -> Price | None:
    if value is None:
        return None
    price = parse_price(value, inst.price_precision, path)
    return price if price.raw else None


def _commission(amount: object, asset: object, inst: Instrument, path: str) -> Money:
    """Exact commission; a well-known currency with fewer decimals than Binance's 8 (USD on
    Binance.US) is widened to 8 rather than rounded."""
    cur = inst.quote_currency if asset is None else currency(asset, f"{path}.N")
    text = amount if amount is not None else "0"
    if cur.precision < 8:
        try:
            return Money.from_raw(raw_at(text, cur.precision, path), cur)
        except InvalidValue:
            cur = Currency(cur.code, 8)
    return Money.from_raw(raw_at(text, cur.precision, path), cur)


def _report(
    m: Mapping[str, Any],
    inst: Instrument,
    account_id: AccountId,
    market: BinanceMarket,
    path: str,
    *,
    kind: ReportKind,
    ts_event: int,
    client_order_id: ClientOrderId | None,
    keys: Mapping[str, str],
) -> OrderReport:
    """Common fields; ``keys`` maps logical names to the venue's keys for this payload."""
    sp = inst.size_precision
    types = _TYPES if market is BinanceMarket.SPOT else _USDM_TYPES
    otype, post_only = _lookup(types, field(m, keys["type"], path), f"{path}.{keys['type']}")
    tif, gtx = _lookup(_TIFS, m.get(keys["tif"], "GTC"), f"{path}.{keys['tif']}")
    quantity = parse_quantity(field(m, keys["qty"], path), sp, f"{path}.{keys['qty']}")
    filled = parse_quantity(field(m, keys["filled"], path), sp, f"{path}.{keys['filled']}")
    avg_px: Decimal | None = None
    if "avg" in keys and m.get(keys["avg"]) is not None:
        avg = _decimal(m[keys["avg"]], f"{path}.{keys['avg']}")
        avg_px = avg.normalize() if avg else None
    elif "cum_quote" in keys and filled.raw and m.get(keys["cum_quote"]) is not None:
        quote = _decimal(m[keys["cum_quote"]], f"{path}.{keys['cum_quote']}")
        avg_px = (quote / filled.as_decimal()).normalize() if quote else None
    reduce_only = m.get(keys.get("reduce", ""), False)
    return OrderReport(
        account_id=account_id,
        instrument_id=inst.id,
        client_order_id=client_order_id,
        venue_order_id=VenueOrderId(str(as_int(field(m, keys["id"], path), f"{path}.id"))),
        kind=kind,
        status=_lookup(_STATUS, field(m, keys["status"], path), f"{path}.{keys['status']}"),
        side=_lookup(_SIDES, field(m, keys["side"], path), f"{path}.{keys['side']}"),
        order_type=otype,
        time_in_force=tif,
        quantity=quantity,
        filled_qty=filled,
        price=_opt_price(m.get(keys["price"]), inst, f"{path}.{keys['price']}")
        if otype in (OrderType.LIMIT, OrderType.STOP_LIMIT, OrderType.LIMIT_IF_TOUCHED)
        else None,
        trigger_price=_opt_price(m.get(keys["stop"]), inst, f"{path}.{keys['stop']}"),
        avg_px=avg_px,
        post_only=post_only or gtx,
        reduce_only=as_bool(reduce_only, f"{path}.reduceOnly"),
        reason=str(m.get("r", "")) if m.get("r") not in (None, "NONE") else "",
        ts_event=ts_event,
    )


def _stream_report(
    m: Mapping[str, Any],
    inst: Instrument,
    account_id: AccountId,
    market: BinanceMarket,
    path: str,
    keys: Mapping[str, str],
    client_order_id: ClientOrderId | None,
) -> OrderReport:
    ts = ms_to_ns(field(m, "T", path), f"{path}.T")
    kind = _lookup(_EXEC_KIND, field(m, "x", path), f"{path}.x")
    last_qty = parse_quantity(field(m, "l", path), inst.size_precision, f"{path}.l")
    if kind is ReportKind.FILL and not last_qty.raw:
        kind = ReportKind.STATUS  # nothing executed in this message
    report = _report(
        m, inst, account_id, market, path,
        kind=ReportKind.STATUS if kind is ReportKind.FILL else kind, ts_event=ts,
        client_order_id=client_order_id, keys=keys,
    )  # fmt: skip
    if kind is not ReportKind.FILL:
        if report.status is OrderStatus.PENDING_CANCEL:
            return _replace_kind(report, ReportKind.PENDING_CANCEL)
        return report
    last_px = parse_price(field(m, "L", path), inst.price_precision, f"{path}.L")
    if not last_px.raw:  # Binance.US sends L=0 on some fills
        fallback = report.price or (
            Price(report.avg_px.quantize(Decimal(1).scaleb(-inst.price_precision)))
            if report.avg_px
            else None
        )
        if fallback is None:
            raise InvalidValue(f"{path}.L", m.get("L"), "a fill needs a price")
        last_px = inst.make_price(fallback)
    fill = FillReport(
        trade_id=TradeId(str(as_int(field(m, "t", path), f"{path}.t"))),
        last_qty=last_qty,
        last_px=last_px,
        commission=_commission(m.get("n"), m.get("N"), inst, f"{path}.n"),
        liquidity_side=LiquiditySide.MAKER
        if as_bool(field(m, "m", path), f"{path}.m")
        else LiquiditySide.TAKER,
        ts_event=ts,
    )
    return _with_fills(report, (fill,))


def _with_fills(report: OrderReport, fills: tuple[FillReport, ...]) -> OrderReport:
    return attrs.evolve(report, kind=ReportKind.FILL, fills=fills)


def _replace_kind(report: OrderReport, kind: ReportKind) -> OrderReport:
    return attrs.evolve(report, kind=kind)


_SPOT_STREAM_KEYS: Final = {
    "type": "o", "tif": "f", "qty": "q", "filled": "z", "cum_quote": "Z", "id": "i",
    "status": "X", "side": "S", "price": "p", "stop": "P",
}  # fmt: skip
_USDM_STREAM_KEYS: Final = {
    "type": "o", "tif": "f", "qty": "q", "filled": "z", "avg": "ap", "id": "i",
    "status": "X", "side": "S", "price": "p", "stop": "sp", "reduce": "R",
}  # fmt: skip
_SPOT_REST_KEYS: Final = {
    "type": "type", "tif": "timeInForce", "qty": "origQty", "filled": "executedQty",
    "cum_quote": "cummulativeQuoteQty", "id": "orderId", "status": "status", "side": "side",
    "price": "price", "stop": "stopPrice",
}  # fmt: skip
_USDM_REST_KEYS: Final = {
    "type": "type", "tif": "timeInForce", "qty": "origQty", "filled": "executedQty",
    "avg": "avgPrice", "id": "orderId", "status": "status", "side": "side", "price": "price",
    "stop": "stopPrice", "reduce": "reduceOnly",
}  # fmt: skip


def parse_execution_report(
    msg: object, instrument: Instrument, account_id: AccountId
) -> OrderReport:
    """A spot ``executionReport`` (plain or wrapped) as an order report."""
    m = unwrap(msg, "executionReport")
    if m.get("e") != "executionReport":
        raise InvalidValue("executionReport.e", m.get("e"), "expected an executionReport")
    if m.get("s") != instrument.raw_symbol.value:
        raise InvalidValue("executionReport.s", m.get("s"), f"is not {instrument.raw_symbol}")
    return _stream_report(
        m, instrument, account_id, BinanceMarket.SPOT, "executionReport", _SPOT_STREAM_KEYS,
        _client_id(m, "executionReport", orig_key="C"),
    )  # fmt: skip


def parse_order_trade_update(
    msg: object, instrument: Instrument, account_id: AccountId
) -> OrderReport:
    """A USD-M ``ORDER_TRADE_UPDATE`` as an order report."""
    m = unwrap(msg, "ORDER_TRADE_UPDATE")
    if m.get("e") != "ORDER_TRADE_UPDATE":
        raise InvalidValue("ORDER_TRADE_UPDATE.e", m.get("e"), "expected ORDER_TRADE_UPDATE")
    o = as_mapping(field(m, "o", "ORDER_TRADE_UPDATE"), "ORDER_TRADE_UPDATE.o")
    if o.get("s") != instrument.raw_symbol.value:
        raise InvalidValue("ORDER_TRADE_UPDATE.o.s", o.get("s"), f"is not {instrument.raw_symbol}")
    return _stream_report(
        o, instrument, account_id, BinanceMarket.USDM, "ORDER_TRADE_UPDATE.o",
        _USDM_STREAM_KEYS, _client_id(o, "ORDER_TRADE_UPDATE.o"),
    )  # fmt: skip


def parse_user_event(
    msg: object, instruments: Mapping[str, Instrument], account_id: AccountId
) -> OrderReport | None:
    """Dispatch one user-stream message; ``None`` for events that are not order updates
    (balances, positions, listStatus, ...). ``instruments`` maps Binance symbols."""
    m = unwrap(msg, "user_event")
    event = m.get("e")
    if event == "executionReport":
        sym = as_str(m.get("s"), "executionReport.s")
        inst = _instrument(instruments, sym, "executionReport.s")
        return parse_execution_report(m, inst, account_id)
    if event == "ORDER_TRADE_UPDATE":
        o = as_mapping(m.get("o"), "ORDER_TRADE_UPDATE.o")
        inst = _instrument(instruments, as_str(o.get("s"), "ORDER_TRADE_UPDATE.o.s"), "o.s")
        return parse_order_trade_update(m, inst, account_id)
    if type(event) is not str:
        raise InvalidValue("user_event.e", event, "must be an event name")
    return None


def _instrument(instruments: Mapping[str, Instrument], sym: str, path: str) -> Instrument:
    inst = instruments.get(sym)
    if inst is None:
        raise InvalidValue(path, sym, "unknown symbol (load the instruments first)")
    return inst


def parse_order_response(
    payload: object,
    instrument: Instrument,
    account_id: AccountId,
    market: BinanceMarket,
    *,
    snapshot: bool = False,
) -> OrderReport:
    """A REST order body (new / cancel / query / open orders row) as an order report.

    Parameters
    ----------
    snapshot
        ``True`` for queries (``GET order``, ``openOrders``): a ``STATUS`` report.
        ``False`` for the answer to our own command: the kind follows the status (NEW ->
        ACCEPTED, CANCELED, EXPIRED, REJECTED; a spot FULL response's ``fills`` -> FILL).
        USD-M responses carry no fills: a filled USD-M answer is a ``STATUS`` report and the
        fills arrive on the user stream.
    """
    path = "order"
    m = as_mapping(payload, path)
    if m.get("symbol") != instrument.raw_symbol.value:
        raise InvalidValue("order.symbol", m.get("symbol"), f"is not {instrument.raw_symbol}")
    ts_key = (
        "transactTime" if "transactTime" in m else "updateTime" if "updateTime" in m else "time"
    )
    ts = ms_to_ns(field(m, ts_key, path), f"{path}.{ts_key}")
    keys = _SPOT_REST_KEYS if market is BinanceMarket.SPOT else _USDM_REST_KEYS
    # A cancel answer names the original order in origClientOrderId.
    coid = _client_id({"c": m.get("origClientOrderId") or m.get("clientOrderId")}, path)
    report = _report(
        m, instrument, account_id, market, path, kind=ReportKind.STATUS, ts_event=ts,
        client_order_id=coid, keys=keys,
    )  # fmt: skip
    if snapshot:
        return report
    fills_raw = m.get("fills") or []
    if not isinstance(fills_raw, list):
        raise InvalidValue("order.fills", fills_raw, "must be a list")
    fills = tuple(
        FillReport(
            trade_id=TradeId(str(as_int(field(f, "tradeId", p), f"{p}.tradeId"))),
            last_qty=parse_quantity(field(f, "qty", p), instrument.size_precision, f"{p}.qty"),
            last_px=parse_price(field(f, "price", p), instrument.price_precision, f"{p}.price"),
            commission=_commission(f.get("commission"), f.get("commissionAsset"), instrument, p),
            liquidity_side=LiquiditySide.TAKER,
            ts_event=ts,
        )
        for i, f in enumerate(fills_raw)
        for p in (f"order.fills[{i}]",)
        if as_mapping(f, p) is not None
    )
    if fills:
        return _with_fills(report, fills)
    kind = {
        OrderStatus.ACCEPTED: ReportKind.ACCEPTED,
        OrderStatus.CANCELED: ReportKind.CANCELED,
        OrderStatus.EXPIRED: ReportKind.EXPIRED,
        OrderStatus.REJECTED: ReportKind.REJECTED,
    }.get(report.status, ReportKind.STATUS)
    return _replace_kind(report, kind)


# -- requests ---------------------------------------------------------------------------------

_SPOT_TYPE_NAMES: Final = {
    OrderType.MARKET: "MARKET",
    OrderType.LIMIT: "LIMIT",
    OrderType.STOP_MARKET: "STOP_LOSS",
    OrderType.STOP_LIMIT: "STOP_LOSS_LIMIT",
}
_USDM_TYPE_NAMES: Final = {
    OrderType.MARKET: "MARKET",
    OrderType.LIMIT: "LIMIT",
    OrderType.STOP_MARKET: "STOP_MARKET",
    OrderType.STOP_LIMIT: "STOP",
    OrderType.MARKET_IF_TOUCHED: "TAKE_PROFIT_MARKET",
    OrderType.LIMIT_IF_TOUCHED: "TAKE_PROFIT",
}


def encode_new_order(order: Order, instrument: Instrument, market: BinanceMarket) -> dict[str, str]:
    """The (unsigned) parameters of ``POST /api/v3/order`` / ``POST /fapi/v1/order``.

    Raises
    ------
    NotSupported
        The order uses a feature :data:`~alphaforge_binance.common.SPOT_CAPABILITIES` /
        ``USDM_CAPABILITIES`` does not declare (checked before anything else).
    InvalidValue
        Price or quantity off the instrument's grid, or an order for another instrument.
    """
    capabilities_for(market).require_order(
        order.order_type, order.time_in_force, post_only=order.post_only,
        reduce_only=order.reduce_only,
    )  # fmt: skip
    if order.instrument_id != instrument.id:
        raise InvalidValue("order.instrument_id", str(order.instrument_id), f"not {instrument.id}")
    spot = market is BinanceMarket.SPOT
    names = _SPOT_TYPE_NAMES if spot else _USDM_TYPE_NAMES
    otype = order.order_type
    params = {
        "symbol": instrument.raw_symbol.value,
        "side": order.side.name,
        "type": names[otype],
        "quantity": str(instrument.make_qty(order.quantity)),
        "newClientOrderId": order.client_order_id.value,
    }
    if order.price is not None:
        params["price"] = str(instrument.make_price(order.price))
    if order.trigger_price is not None:
        params["stopPrice"] = str(instrument.make_price(order.trigger_price))
    if (
        otype is not OrderType.MARKET
        and otype is not OrderType.STOP_MARKET
        and otype is not OrderType.MARKET_IF_TOUCHED
    ):
        params["timeInForce"] = order.time_in_force.name
    if order.post_only:
        if spot:  # LIMIT_MAKER takes no timeInForce
            params["type"] = "LIMIT_MAKER"
            params.pop("timeInForce", None)
        else:
            params["timeInForce"] = "GTX"
    if order.time_in_force is TimeInForce.GTD and order.expire_time_ns is not None:
        params["goodTillDate"] = str(order.expire_time_ns // 1_000_000)
    if order.reduce_only:
        params["reduceOnly"] = "true"
    params["newOrderRespType"] = "FULL" if spot else "RESULT"
    return params


# -- accounts ---------------------------------------------------------------------------------


def _balance(asset: object, total: object, free: object, path: str) -> AccountBalance:
    cur = currency(asset, f"{path}.asset")
    p = cur.precision
    total_raw = raw_at(total, p, f"{path}.total", signed=True)
    free_raw = min(raw_at(free, p, f"{path}.free", signed=True), total_raw)
    return AccountBalance(
        Money.from_raw(total_raw, cur),
        Money.from_raw(total_raw - free_raw, cur),
        Money.from_raw(free_raw, cur),
    )


def _free_locked(
    rows: object, path: str, keys: tuple[str, str, str], *, nonzero_only: bool
) -> tuple[AccountBalance, ...]:
    """Spot ``[{asset, free, locked}]`` rows (named by ``keys``) as balances."""
    if not isinstance(rows, list):
        raise InvalidValue(path, rows, "must be a list")
    asset_key, free_key, locked_key = keys
    out = []
    for i, row in enumerate(rows):
        at = f"{path}[{i}]"
        r = as_mapping(row, at)
        free = _decimal(field(r, free_key, at), f"{at}.{free_key}")
        locked = _decimal(field(r, locked_key, at), f"{at}.{locked_key}")
        if free or locked or not nonzero_only:
            out.append(_balance(field(r, asset_key, at), str(free + locked), r[free_key], at))
    return tuple(out)


def parse_spot_account(
    payload: object, account_id: AccountId, *, ts_init: int = 0
) -> AccountReport:
    """``GET /api/v3/account``: every asset with a non-zero balance (total = free + locked)."""
    m = as_mapping(payload, "account")
    balances = _free_locked(field(m, "balances", "account"), "account.balances",
                            ("asset", "free", "locked"), nonzero_only=True)  # fmt: skip
    ts = m.get("updateTime")
    return AccountReport(
        account_id=account_id, account_type=AccountType.CASH, balances=balances,
        ts_event=ms_to_ns(ts, "account.updateTime") if ts else ts_init,
    )  # fmt: skip


def parse_account_position(msg: object, account_id: AccountId) -> AccountReport:
    """A spot ``outboundAccountPosition`` (the assets a change touched) as a partial report."""
    m = unwrap(msg, "outboundAccountPosition")
    if m.get("e") != "outboundAccountPosition":
        raise InvalidValue("outboundAccountPosition.e", m.get("e"), "expected it")
    rows = field(m, "B", "outboundAccountPosition")
    balances = _free_locked(rows, "outboundAccountPosition.B", ("a", "f", "l"), nonzero_only=False)
    return AccountReport(
        account_id=account_id, account_type=AccountType.CASH, balances=balances,
        ts_event=ms_to_ns(field(m, "E", "outboundAccountPosition"), "outboundAccountPosition.E"),
    )  # fmt: skip


def parse_usdm_account(
    balances: object,
    positions: object,
    instruments: Mapping[str, Instrument],
    account_id: AccountId,
    *,
    ts_init: int = 0,
) -> AccountReport:
    """``GET /fapi/v2/balance`` + ``GET /fapi/v2/positionRisk`` as one margin account report.

    Positions of symbols not in ``instruments`` are reported under ``<symbol>.BINANCE_USDM``
    ids with the entry price as given (they are still the account's exposure).
    """
    if not isinstance(balances, list):
        raise InvalidValue("balance", balances, "must be a list")
    out = []
    for i, row in enumerate(balances):
        path = f"balance[{i}]"
        r = as_mapping(row, path)
        total = field(r, "balance", path)
        if _decimal(total, f"{path}.balance", signed=True):
            out.append(_balance(field(r, "asset", path), total,
                                field(r, "availableBalance", path), path))  # fmt: skip
    if not isinstance(positions, list):
        raise InvalidValue("positionRisk", positions, "must be a list")
    net: dict[str, list[Any]] = {}  # symbol -> [qty, entry*|qty| sum, upnl, ts]
    for i, row in enumerate(positions):
        path = f"positionRisk[{i}]"
        r = as_mapping(row, path)
        qty = _decimal(field(r, "positionAmt", path), f"{path}.positionAmt", signed=True)
        if not qty:
            continue
        sym = as_str(field(r, "symbol", path), f"{path}.symbol")
        entry = _decimal(field(r, "entryPrice", path), f"{path}.entryPrice")
        upnl = _decimal(r.get("unRealizedProfit", "0"), f"{path}.unRealizedProfit", signed=True)
        ts = ms_to_ns(r.get("updateTime", 0), f"{path}.updateTime")
        acc = net.setdefault(sym, [Decimal(0), Decimal(0), Decimal(0), 0])
        acc[0] += qty
        acc[1] += entry * abs(qty)
        acc[2] += upnl
        acc[3] = max(acc[3], ts)
    reports = []
    for sym, (qty, cost, upnl, ts) in sorted(net.items()):
        if not qty:
            continue  # hedge mode: equal long and short legs
        inst = instruments.get(sym)
        iid = inst.id if inst is not None else _usdm_id(sym)
        settle = inst.settlement_currency if inst is not None else currency("USDT", "asset")
        unrealized = Money.from_raw(
            raw_at(str(upnl.quantize(Decimal(1).scaleb(-settle.precision))), settle.precision,
                   f"positionRisk[{sym}].unRealizedProfit", signed=True),
            settle,
        )  # fmt: skip
        reports.append(PositionReport(
            instrument_id=iid, signed_qty=qty.normalize(),
            entry_px=(cost / abs(qty)).normalize() if cost else None,
            unrealized_pnl=unrealized, ts_event=ts,
        ))  # fmt: skip
    return AccountReport(
        account_id=account_id, account_type=AccountType.MARGIN, balances=tuple(out),
        positions=tuple(reports), ts_event=ts_init,
    )  # fmt: skip


def _usdm_id(symbol: str) -> Any:
    from alphaforge.model import InstrumentId, Symbol
    from alphaforge_binance.common import USDM_VENUE

    return InstrumentId(Symbol(symbol), USDM_VENUE)


def parse_account_update(
    msg: object, instruments: Mapping[str, Instrument], account_id: AccountId
) -> tuple[tuple[AccountBalance, ...], dict[Any, PositionReport | None]]:
    """A USD-M ``ACCOUNT_UPDATE``: the changed wallet balances and positions (``None`` = the
    position is now flat). One-way mode only reports ``BOTH`` rows; hedge-mode ``LONG`` /
    ``SHORT`` rows of one symbol are netted."""
    m = unwrap(msg, "ACCOUNT_UPDATE")
    if m.get("e") != "ACCOUNT_UPDATE":
        raise InvalidValue("ACCOUNT_UPDATE.e", m.get("e"), "expected ACCOUNT_UPDATE")
    a = as_mapping(field(m, "a", "ACCOUNT_UPDATE"), "ACCOUNT_UPDATE.a")
    ts = ms_to_ns(field(m, "T", "ACCOUNT_UPDATE"), "ACCOUNT_UPDATE.T")
    balances = []
    for i, row in enumerate(a.get("B") or []):
        path = f"ACCOUNT_UPDATE.a.B[{i}]"
        r = as_mapping(row, path)
        wallet = field(r, "wb", path)
        balances.append(_balance(field(r, "a", path), wallet, wallet, path))
    rows = [
        {"symbol": r.get("s"), "positionAmt": r.get("pa"), "entryPrice": r.get("ep"),
         "unRealizedProfit": r.get("up", "0"), "updateTime": m.get("T", 0)}
        for r in (as_mapping(x, "ACCOUNT_UPDATE.a.P[]") for x in (a.get("P") or []))
    ]  # fmt: skip
    report = parse_usdm_account([], rows, instruments, account_id, ts_init=ts)
    positions: dict[Any, PositionReport | None] = {}
    for r in rows:
        sym = as_str(r["symbol"], "ACCOUNT_UPDATE.a.P[].s")
        inst = instruments.get(sym)
        positions[inst.id if inst is not None else _usdm_id(sym)] = None
    for p in report.positions:
        positions[p.instrument_id] = p
    return tuple(balances), positions


def parse_account_trades(
    trades: object,
    orders: object,
    instrument: Instrument,
    account_id: AccountId,
    market: BinanceMarket,
) -> list[OrderReport]:
    """``myTrades`` / ``userTrades`` rows as ``FILL`` reports, oldest first.

    ``orders`` is the ``allOrders`` answer covering the trades' orders (it gives the client
    order id and the order's terms). The cumulative filled quantity of each report is the
    order's ``executedQty`` less the later trades of the same order in ``trades``.

    Raises
    ------
    InvalidValue
        A malformed row, or a trade whose order is not in ``orders``.
    """
    if not isinstance(trades, list) or not isinstance(orders, list):
        raise InvalidValue("trades", type(trades).__name__, "trades and orders must be lists")
    by_id: dict[int, Mapping[str, Any]] = {}
    for i, row in enumerate(orders):
        r = as_mapping(row, f"allOrders[{i}]")
        by_id[as_int(field(r, "orderId", f"allOrders[{i}]"), f"allOrders[{i}].orderId")] = r
    rows = [as_mapping(t, f"trades[{i}]") for i, t in enumerate(trades)]
    rows.sort(key=lambda r: (r.get("time", 0), r.get("id", 0)))
    sp, pp = instrument.size_precision, instrument.price_precision
    later: dict[int, int] = {}
    out: list[OrderReport] = []
    for i in range(len(rows) - 1, -1, -1):  # newest first, to know what came after
        r, path = rows[i], f"trades[{i}]"
        oid = as_int(field(r, "orderId", path), f"{path}.orderId")
        order = by_id.get(oid)
        if order is None:
            raise InvalidValue(f"{path}.orderId", oid, "not in the orders answer")
        base = parse_order_response(order, instrument, account_id, market, snapshot=True)
        qty = parse_quantity(field(r, "qty", path), sp, f"{path}.qty")
        filled_raw = max(base.filled_qty.raw - later.get(oid, 0), qty.raw)
        later[oid] = later.get(oid, 0) + qty.raw
        ts = ms_to_ns(field(r, "time", path), f"{path}.time")
        maker = r.get("isMaker", r.get("maker"))
        side = LiquiditySide.MAKER if as_bool(maker, f"{path}.isMaker") else LiquiditySide.TAKER
        fill = FillReport(
            trade_id=TradeId(str(as_int(field(r, "id", path), f"{path}.id"))),
            last_qty=qty,
            last_px=parse_price(field(r, "price", path), pp, f"{path}.price"),
            commission=_commission(r.get("commission"), r.get("commissionAsset"), instrument, path),
            liquidity_side=side,
            ts_event=ts,
        )
        filled = type(base.filled_qty).from_raw(min(filled_raw, base.quantity.raw), sp)
        status = OrderStatus.FILLED if filled == base.quantity else OrderStatus.PARTIALLY_FILLED
        out.append(attrs.evolve(base, kind=ReportKind.FILL, status=status, filled_qty=filled,
                                fills=(fill,), ts_event=ts))  # fmt: skip
    out.reverse()
    return out
