"""Instruments from ``exchangeInfo`` (Spot ``/api/v3/exchangeInfo``, USD-M ``/fapi/v1/...``).

=================  ==========================================================================
filter             instrument field
=================  ==========================================================================
PRICE_FILTER       ``tickSize`` -> ``tick_size`` and ``price_precision`` (trailing zeros
                   dropped: ``"0.01000000"`` is 2 decimals, ``"0.10"`` is 1)
LOT_SIZE           ``stepSize`` -> ``lot_size`` / ``size_precision``; ``minQty``/``maxQty``
                   -> ``min_quantity`` / ``max_quantity``
MIN_NOTIONAL       spot ``minNotional``, USD-M ``notional`` -> ``min_notional`` (quote)
NOTIONAL           spot ``minNotional`` / ``maxNotional`` -> ``min_notional``/``max_notional``
=================  ==========================================================================

Spot symbols become :class:`~alphaforge.model.CurrencyPair` on venue ``BINANCE``; USD-M
``PERPETUAL`` contracts :class:`~alphaforge.model.PerpetualContract` and dated contracts
(``CURRENT_QUARTER``, ...) :class:`~alphaforge.model.FuturesContract` on ``BINANCE_USDM``.
Only ``status == "TRADING"`` symbols are returned unless ``include_all``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from alphaforge.adapters.parsing import (
    as_int,
    as_mapping,
    as_str,
    field,
    ms_to_ns,
    raw_at,
    step_precision,
)
from alphaforge.errors import InvalidValue
from alphaforge.model import (
    WELL_KNOWN_CURRENCIES,
    Currency,
    CurrencyPair,
    FuturesContract,
    Instrument,
    InstrumentId,
    Money,
    PerpetualContract,
    Price,
    Quantity,
    Symbol,
)
from alphaforge_binance.common import BinanceMarket, venue_for

__all__ = ["parse_exchange_info", "parse_symbol"]

_ASSET_PRECISION = 8


def currency(code: object, path: str, precision: int = _ASSET_PRECISION) -> Currency:
    """The :class:`Currency` of a Binance asset code (well-known ones keep their precision)."""
    text = as_str(code, path)
    known = WELL_KNOWN_CURRENCIES.get(text)
    if known is not None:
        return known
    try:
        return Currency(text, precision)
    except InvalidValue as exc:
        raise InvalidValue(path, text, exc.reason) from None


def _filters(sym: Mapping[str, Any], path: str) -> dict[str, Mapping[str, Any]]:
    raw = field(sym, "filters", path)
    if not isinstance(raw, list):
        raise InvalidValue(f"{path}.filters", raw, "must be a list")
    out: dict[str, Mapping[str, Any]] = {}
    for i, f in enumerate(raw):
        m = as_mapping(f, f"{path}.filters[{i}]")
        out[as_str(field(m, "filterType", f"{path}.filters[{i}]"), f"{path}.filterType")] = m
    return out


def _positive(text: object, path: str = "filter") -> bool:
    """Whether an optional filter value is present and > 0 (garbage raises)."""
    if text is None:
        return False
    if type(text) is not str:
        raise InvalidValue(path, text, "must be a decimal string")
    try:
        return Decimal(text) > 0
    except InvalidOperation:
        raise InvalidValue(path, text, "must be a decimal string") from None


def parse_symbol(
    sym: Mapping[str, Any], market: BinanceMarket, *, path: str = "symbol", ts_init: int = 0
) -> Instrument | None:
    """One ``exchangeInfo`` symbol as an instrument (``None`` for a contract type AlphaForge has
    no model for, e.g. a USD-M symbol being delisted with an empty ``contractType``).

    Raises
    ------
    InvalidValue
        A missing or malformed field; the message names ``path.field``.
    """
    sym = as_mapping(sym, path)
    name = as_str(field(sym, "symbol", path), f"{path}.symbol")
    path = f"{path}[{name}]"
    filters = _filters(sym, path)
    quote = currency(field(sym, "quoteAsset", path), f"{path}.quoteAsset")
    base = currency(field(sym, "baseAsset", path), f"{path}.baseAsset")

    pf = filters.get("PRICE_FILTER")
    if pf is not None and _positive(pf.get("tickSize"), f"{path}.tickSize"):
        tick_text = pf["tickSize"]
        pp = step_precision(tick_text, f"{path}.PRICE_FILTER.tickSize")
        tick = Price.from_raw(raw_at(tick_text, pp, f"{path}.PRICE_FILTER.tickSize"), pp)
    else:  # no tick filter: the symbol's declared price precision
        key = "quotePrecision" if market is BinanceMarket.SPOT else "pricePrecision"
        pp = as_int(field(sym, key, path), f"{path}.{key}")
        tick = Price.from_raw(1, pp)

    lot_filter = filters.get("LOT_SIZE")
    min_qty = max_qty = None
    if lot_filter is not None and _positive(lot_filter.get("stepSize"), f"{path}.stepSize"):
        step_text = lot_filter["stepSize"]
        sp = step_precision(step_text, f"{path}.LOT_SIZE.stepSize")
        lot = Quantity.from_raw(raw_at(step_text, sp, f"{path}.LOT_SIZE.stepSize"), sp)
        if _positive(lot_filter.get("minQty"), f"{path}.minQty"):
            min_qty = Quantity.from_raw(
                raw_at(lot_filter["minQty"], sp, f"{path}.LOT_SIZE.minQty"), sp
            )
        if _positive(lot_filter.get("maxQty"), f"{path}.maxQty"):
            max_qty = Quantity.from_raw(
                raw_at(lot_filter["maxQty"], sp, f"{path}.LOT_SIZE.maxQty"), sp
            )
    else:
        key = "baseAssetPrecision" if market is BinanceMarket.SPOT else "quantityPrecision"
        sp = as_int(field(sym, key, path), f"{path}.{key}")
        lot = Quantity.from_raw(1, sp)

    min_notional = max_notional = None
    for fname, key in (("MIN_NOTIONAL", "minNotional"), ("MIN_NOTIONAL", "notional"),
                       ("NOTIONAL", "minNotional")):  # fmt: skip
        value = filters.get(fname, {}).get(key)
        if _positive(value, f"{path}.{fname}.{key}"):
            min_notional = _money(value, quote, f"{path}.{fname}.{key}")
            break
    value = filters.get("NOTIONAL", {}).get("maxNotional")
    if _positive(value, f"{path}.NOTIONAL.maxNotional"):
        max_notional = _money(value, quote, f"{path}.NOTIONAL.maxNotional")

    iid = InstrumentId(Symbol(name), venue_for(market))
    common: dict[str, Any] = {
        "id": iid,
        "raw_symbol": Symbol(name),
        "base_currency": base,
        "quote_currency": quote,
        "price_precision": pp,
        "size_precision": sp,
        "tick_size": tick,
        "lot_size": lot,
        "min_quantity": min_qty,
        "max_quantity": max_qty,
        "min_notional": min_notional,
        "max_notional": max_notional,
        "ts_init": ts_init,
    }
    try:
        if market is BinanceMarket.SPOT:
            return CurrencyPair(**common)
        margin = sym.get("marginAsset")
        if margin is not None:
            common["settlement_currency"] = currency(margin, f"{path}.marginAsset")
        for key, attr in (("requiredMarginPercent", "margin_init"),
                          ("maintMarginPercent", "margin_maint")):  # fmt: skip
            if isinstance(sym.get(key), str):
                common[attr] = Decimal(sym[key]) / 100
        kind = sym.get("contractType")
        if kind == "PERPETUAL" or (isinstance(kind, str) and kind.endswith("_PERPETUAL")):
            return PerpetualContract(**common)
        if isinstance(kind, str) and kind:
            return FuturesContract(
                **common,
                underlying=as_str(sym.get("pair", name), f"{path}.pair"),
                expiry_ns=ms_to_ns(field(sym, "deliveryDate", path), f"{path}.deliveryDate"),
                activation_ns=ms_to_ns(sym.get("onboardDate", 0), f"{path}.onboardDate"),
            )
        return None
    except InvalidValue as exc:
        raise InvalidValue(f"{path}.{exc.field}", exc.value, exc.reason) from None


def _money(text: object, cur: Currency, path: str) -> Money:
    return Money.from_raw(raw_at(text, cur.precision, path), cur)


def parse_exchange_info(
    payload: Mapping[str, Any] | Any,
    market: BinanceMarket,
    *,
    include_all: bool = False,
    ts_init: int = 0,
) -> list[Instrument]:
    """Every instrument of an ``exchangeInfo`` response.

    Parameters
    ----------
    payload
        The decoded JSON body.
    market
        Spot or USD-M (the two responses differ).
    include_all
        Also return symbols whose ``status`` is not ``TRADING`` (halted, delisted, ...).
    ts_init
        Stamped on every instrument.

    Raises
    ------
    InvalidValue
        The payload or one symbol is malformed (named by its path); nothing is returned.
    """
    body = as_mapping(payload, "exchangeInfo")
    symbols = field(body, "symbols", "exchangeInfo")
    if not isinstance(symbols, Sequence) or isinstance(symbols, (str, bytes)):
        raise InvalidValue("exchangeInfo.symbols", symbols, "must be a list")
    out: list[Instrument] = []
    for i, sym in enumerate(symbols):
        path = f"exchangeInfo.symbols[{i}]"
        if not include_all and as_mapping(sym, path).get("status") != "TRADING":
            continue
        inst = parse_symbol(sym, market, path=path, ts_init=ts_init)
        if inst is not None:
            out.append(inst)
    return out
