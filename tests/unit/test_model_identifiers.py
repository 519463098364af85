"""Behaviour of identifiers."""

from __future__ import annotations

import pickle

import pytest

from alphaforge.errors import InvalidValue
from alphaforge.model import (
    AccountId,
    ClientOrderId,
    InstrumentId,
    PositionId,
    StrategyId,
    Symbol,
    TradeId,
    TraderId,
    Venue,
    VenueOrderId,
)

SIMPLE = [Venue, Symbol, StrategyId, ClientOrderId, VenueOrderId, TradeId, PositionId]


@pytest.mark.parametrize("cls", SIMPLE)
def test_simple_identifier(cls: type) -> None:
    a = cls("ABC-1.x")
    assert str(a) == "ABC-1.x" and a.value == "ABC-1.x"
    assert a == cls("ABC-1.x") and hash(a) == hash(cls("ABC-1.x"))
    assert a != cls("ABC-2")
    assert repr(a) == f"{cls.__name__}('ABC-1.x')"
    assert pickle.loads(pickle.dumps(a)) == a
    with pytest.raises(AttributeError):
        a.value = "X"
    with pytest.raises(AttributeError):
        a.other = "X"


@pytest.mark.parametrize("cls", SIMPLE)
@pytest.mark.parametrize("bad", ["", " ", "A B", "A\tB", "A\n", "\u00a0A", 5, None])
def test_simple_identifier_rejects(cls: type, bad: object) -> None:
    with pytest.raises(InvalidValue) as ei:
        cls(bad)
    assert ei.value.value == bad
    assert repr(bad) in str(ei.value)


def test_field_names_in_errors() -> None:
    with pytest.raises(InvalidValue) as ei:
        ClientOrderId("")
    assert ei.value.field == "client_order_id"
    with pytest.raises(InvalidValue) as ei:
        Venue("a b")
    assert ei.value.field == "venue"


def test_kinds_never_equal() -> None:
    assert Venue("X") != Symbol("X")
    assert Venue("X") != "X"
    assert len({Venue("X"), Symbol("X")}) == 2


def test_instrument_id() -> None:
    iid = InstrumentId(Symbol("BTCUSDT"), Venue("BINANCE"))
    assert str(iid) == "BTCUSDT.BINANCE" and iid.value == "BTCUSDT.BINANCE"
    assert iid == InstrumentId.from_str("BTCUSDT.BINANCE")
    assert hash(iid) == hash(InstrumentId.from_str("BTCUSDT.BINANCE"))
    assert iid.symbol == Symbol("BTCUSDT") and iid.venue == Venue("BINANCE")
    assert repr(iid) == "InstrumentId('BTCUSDT.BINANCE')"
    assert pickle.loads(pickle.dumps(iid)) == iid
    with pytest.raises(AttributeError):
        iid.venue = Venue("X")  # type: ignore[misc]


def test_instrument_id_splits_at_last_dot() -> None:
    iid = InstrumentId.from_str("BRK.B.NYSE")
    assert iid.symbol == Symbol("BRK.B") and iid.venue == Venue("NYSE")
    assert InstrumentId(Symbol("BRK.B"), Venue("NYSE")) == iid


@pytest.mark.parametrize(
    "bad", ["BTCUSDT", ".BINANCE", "BTCUSDT.", "", "BTC USDT.BINANCE", "A.B C", 3]
)
def test_instrument_id_rejects(bad: object) -> None:
    with pytest.raises(InvalidValue) as ei:
        InstrumentId.from_str(bad)  # type: ignore[arg-type]
    assert ei.value.value in (bad, "B C")


def test_instrument_id_constructor_types() -> None:
    with pytest.raises(InvalidValue) as ei:
        InstrumentId("BTC", Venue("X"))  # type: ignore[arg-type]
    assert ei.value.field == "symbol"
    with pytest.raises(InvalidValue) as ei:
        InstrumentId(Symbol("BTC"), "X")  # type: ignore[arg-type]
    assert ei.value.field == "venue"
    with pytest.raises(InvalidValue) as ei:
        InstrumentId(Symbol("BTC"), Venue("A.B"))
    assert ei.value.field == "venue"


def test_trader_id() -> None:
    t = TraderId("MY-TRADER-001")
    assert (t.name, t.tag, str(t)) == ("MY-TRADER", "001", "MY-TRADER-001")
    for bad in ("TRADER", "-001", "TRADER-", ""):
        with pytest.raises(InvalidValue) as ei:
            TraderId(bad)
        assert ei.value.field == "trader_id" and ei.value.value == bad


def test_account_id() -> None:
    a = AccountId("IB-DU-12345")
    assert (a.issuer, a.number) == ("IB", "DU-12345")
    for bad in ("BINANCE", "-1", "BINANCE-"):
        with pytest.raises(InvalidValue) as ei:
            AccountId(bad)
        assert ei.value.field == "account_id" and ei.value.value == bad


def test_ordering() -> None:
    assert sorted([TradeId("b"), TradeId("a")]) == [TradeId("a"), TradeId("b")]
