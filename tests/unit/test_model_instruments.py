"""Behaviour of instruments."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from alphaforge.errors import ArithmeticOverflow, InvalidValue, PrecisionError
from alphaforge.model import (
    BTC,
    USD,
    USDT,
    CurrencyPair,
    FuturesContract,
    InstrumentId,
    Money,
    OptionContract,
    OptionKind,
    PerpetualContract,
    Price,
    Quantity,
    Rounding,
    Symbol,
)


def spot(**kw: Any) -> CurrencyPair:
    args: dict[str, Any] = dict(
        id=InstrumentId.from_str("BTCUSDT.BINANCE"),
        raw_symbol=Symbol("BTCUSDT"),
        base_currency=BTC,
        quote_currency=USDT,
        price_precision=2,
        size_precision=5,
        tick_size=Price("0.01"),
        lot_size=Quantity("0.00001"),
        maker_fee=Decimal("0.001"),
        taker_fee=Decimal("0.001"),
    )
    args.update(kw)
    return CurrencyPair(**args)


def test_defaults() -> None:
    inst = spot(tick_size=Price("0.05"))
    assert inst.settlement_currency == USDT and inst.notional_currency == USDT
    assert inst.multiplier == 1 and not inst.is_inverse
    d = CurrencyPair(
        id=InstrumentId.from_str("ETHUSD.X"),
        raw_symbol=Symbol("ETHUSD"),
        base_currency=BTC,
        quote_currency=USD,
        price_precision=1,
        size_precision=3,
    )
    assert d.tick_size == Price("0.1") and d.tick_size.precision == 1
    assert d.lot_size == Quantity("0.001") and d.lot_size.precision == 3


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"tick_size": Price("0.010")}, "tick_size"),
        ({"tick_size": Price("0.00")}, "tick_size"),
        ({"tick_size": Price("-0.01")}, "tick_size"),
        ({"tick_size": Quantity("0.01")}, "tick_size"),
        ({"lot_size": Quantity("0.001")}, "lot_size"),
        ({"lot_size": Quantity("0.00000")}, "lot_size"),
        ({"price_precision": 19}, "price_precision"),
        ({"size_precision": -1, "lot_size": Quantity("1")}, "size_precision"),
        ({"min_quantity": Quantity("2"), "max_quantity": Quantity("1")}, "min_quantity"),
        ({"min_quantity": 1}, "min_quantity"),
        ({"min_notional": Money("10", USD)}, "min_notional"),
        (
            {"min_notional": Money("10", USDT), "max_notional": Money("5", USDT)},
            "min_notional",
        ),
        ({"maker_fee": 0.001}, "maker_fee"),
        ({"taker_fee": Decimal("NaN")}, "taker_fee"),
        ({"margin_init": Decimal("-0.1")}, "margin_init"),
        ({"margin_maint": Decimal("-1")}, "margin_maint"),
        ({"multiplier": Decimal("0")}, "multiplier"),
        ({"ts_event": -1}, "ts_event"),
        ({"ts_init": 1.5}, "ts_init"),
        ({"base_currency": None}, "base_currency"),
        ({"is_inverse": True}, "is_inverse"),
        ({"id": "BTCUSDT.BINANCE"}, "id"),
        ({"raw_symbol": "BTCUSDT"}, "raw_symbol"),
        ({"quote_currency": "USDT"}, "quote_currency"),
    ],
)
def test_validation(kw: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidValue) as ei:
        spot(**kw)
    assert ei.value.field == field


def test_make_price() -> None:
    inst = spot(tick_size=Price("0.05"))
    p = inst.make_price("101.1")
    assert p == Price("101.10") and p.precision == 2
    assert inst.make_price(Price("101.15")) == Price("101.15")
    with pytest.raises(PrecisionError) as ei:
        inst.make_price("101.12")
    assert ei.value.field == "price" and ei.value.value == "101.12"
    assert inst.make_price("101.12", Rounding.HALF_EVEN) == Price("101.10")
    assert inst.make_price("101.13", Rounding.HALF_EVEN) == Price("101.15")
    assert inst.make_price("101.11", Rounding.CEILING) == Price("101.15")
    assert inst.make_price("101.149", Rounding.FLOOR) == Price("101.10")
    assert inst.make_price("-0.07", Rounding.DOWN) == Price("-0.05")
    with pytest.raises(InvalidValue):
        inst.make_price(1.5)  # type: ignore[arg-type]
    with pytest.raises(ArithmeticOverflow):
        inst.make_price(10**17)


def test_make_qty() -> None:
    inst = spot(size_precision=3, lot_size=Quantity("0.005"))
    assert inst.make_qty("1.01", Rounding.DOWN) == Quantity("1.010")
    assert inst.make_qty("1.014", Rounding.DOWN).precision == 3
    assert inst.make_qty("1.014", Rounding.DOWN) == Quantity("1.010")
    with pytest.raises(PrecisionError) as ei:
        inst.make_qty("1.001")
    assert ei.value.field == "quantity"
    with pytest.raises(InvalidValue):
        inst.make_qty("-1")


def test_is_price_on_tick() -> None:
    inst = spot(tick_size=Price("0.05"))
    assert inst.is_price_on_tick(Price("1.05"))
    assert inst.is_price_on_tick(Price("1.0500"))
    assert inst.is_price_on_tick(Price("2"))
    assert not inst.is_price_on_tick(Price("1.06"))
    assert not inst.is_price_on_tick(Price("1.051"))


def test_notional_linear() -> None:
    inst = spot()
    m = inst.notional(Quantity("0.5"), Price("30000.25"))
    assert m == Money("15000.125", USDT) and m.currency == USDT
    assert spot(multiplier=Decimal("10")).notional(Quantity("1"), Price("2")) == Money("20", USDT)
    usd = spot(quote_currency=USD)
    assert usd.notional(Quantity("0.005"), Price("1.01")) == Money("0.01", USD)  # 0.00505 -> 0.01
    assert usd.notional(Quantity("0.005"), Price("1.00")) == Money("0.00", USD)  # 0.005 -> even
    assert usd.notional(Quantity("0.005"), Price("1.00"), Rounding.UP) == Money("0.01", USD)
    with pytest.raises(InvalidValue) as ei:
        inst.notional(Price("1"), Price("1"))  # type: ignore[arg-type]
    assert ei.value.field == "quantity"


def perp(**kw: Any) -> PerpetualContract:
    args: dict[str, Any] = dict(
        id=InstrumentId.from_str("XBTUSD.BITMEX"),
        raw_symbol=Symbol("XBTUSD"),
        base_currency=BTC,
        quote_currency=USD,
        price_precision=1,
        size_precision=0,
        tick_size=Price("0.5"),
        is_inverse=True,
    )
    args.update(kw)
    return PerpetualContract(**args)


def test_inverse_perpetual() -> None:
    inst = perp()
    assert inst.settlement_currency == BTC and inst.notional_currency == BTC
    assert inst.notional(Quantity("100"), Price("50000.0")) == Money("0.002", BTC)
    with pytest.raises(InvalidValue) as ei:
        inst.notional(Quantity("100"), Price("0.0"))
    assert ei.value.field == "price"
    with pytest.raises(InvalidValue) as ei2:
        perp(base_currency=None)
    assert ei2.value.field == "base_currency"


def test_futures_and_options() -> None:
    common: dict[str, Any] = dict(
        raw_symbol=Symbol("X"),
        quote_currency=USD,
        price_precision=2,
        size_precision=0,
        multiplier=Decimal("50"),
    )
    fut = FuturesContract(
        id=InstrumentId.from_str("ESZ5.CME"), underlying="ES", expiry_ns=2_000, **common
    )
    assert fut.expiry_ns == 2_000 and fut.activation_ns == 0
    with pytest.raises(InvalidValue) as ei:
        FuturesContract(
            id=InstrumentId.from_str("ESZ5.CME"),
            underlying="ES",
            expiry_ns=5,
            activation_ns=10,
            **common,
        )
    assert ei.value.field == "expiry_ns"
    with pytest.raises(InvalidValue) as ei:
        FuturesContract(id=InstrumentId.from_str("ESZ5.CME"), underlying="", expiry_ns=5, **common)
    assert ei.value.field == "underlying"
    opt = OptionContract(
        id=InstrumentId.from_str("SPY250101C00500000.OPRA"),
        underlying="SPY",
        kind=OptionKind.CALL,
        strike=Price("500"),
        expiry_ns=10,
        **common,
    )
    assert opt.kind == OptionKind.CALL and opt.strike == Price("500")
    for kw, field in (
        ({"kind": 1}, "kind"),
        ({"strike": Price("0")}, "strike"),
        ({"strike": "500"}, "strike"),
    ):
        args: dict[str, Any] = dict(
            id=InstrumentId.from_str("O.OPRA"),
            underlying="SPY",
            kind=OptionKind.PUT,
            strike=Price("500"),
            expiry_ns=10,
            **common,
        )
        args.update(kw)
        with pytest.raises(InvalidValue) as ei:
            OptionContract(**args)
        assert ei.value.field == field


def test_instruments_are_frozen_and_hashable() -> None:
    inst = spot()
    with pytest.raises(AttributeError):
        inst.price_precision = 3  # type: ignore[misc]
    assert inst == spot() and hash(inst) == hash(spot())
