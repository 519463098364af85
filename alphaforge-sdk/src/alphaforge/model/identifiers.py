"""Identifiers: small immutable string wrappers, validated once at construction.

Every identifier holds one non-empty ``str`` without whitespace or control characters;
``str(x)`` returns it. Identifiers of different kinds never compare equal (``Venue("X") !=
Symbol("X")``), and they hash like their string. They are plain ``__slots__`` classes (like the
fixed-point values) because trade and order ids are built on hot paths; the value sits in a
private slot behind the read-only ``value`` property.
"""

from __future__ import annotations

from typing import Any, TypeVar

from alphaforge.errors import InvalidValue

__all__ = [
    "AccountId",
    "ClientOrderId",
    "InstrumentId",
    "PositionId",
    "StrategyId",
    "Symbol",
    "TradeId",
    "TraderId",
    "Venue",
    "VenueOrderId",
]

_IdT = TypeVar("_IdT", bound="Identifier")


def _check_text(value: object, field: str) -> str:
    if type(value) is not str or not value or not value.isprintable() or " " in value:
        raise InvalidValue(field, value, "must be a non-empty str without whitespace")
    return value


class Identifier:
    """Base class of all identifiers (not instantiated directly).

    Parameters
    ----------
    value
        Non-empty ``str`` without whitespace or control characters.

    Raises
    ------
    InvalidValue
        ``value`` is not a str, is empty or contains whitespace.
    """

    __slots__ = ("_value",)

    _value: str
    _FIELD = "value"

    def __init__(self, value: str) -> None:
        if type(value) is not str or not value or not value.isprintable() or " " in value:
            raise InvalidValue(self._FIELD, value, "must be a non-empty str without whitespace")
        self._value = value

    @property
    def value(self) -> str:
        """The identifier string."""
        return self._value

    def __str__(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._value!r})"

    def __hash__(self) -> int:
        return hash(self._value)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._value == other._value

    def __ne__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._value != other._value

    def __lt__(self: _IdT, other: _IdT) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._value < other._value

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self._value,))


class Venue(Identifier):
    """A trading venue, e.g. ``Venue("BINANCE")``."""

    __slots__ = ()
    _FIELD = "venue"


class Symbol(Identifier):
    """A venue-local instrument symbol, e.g. ``Symbol("BTCUSDT")`` (may contain dots)."""

    __slots__ = ()
    _FIELD = "symbol"


class _DashedId(Identifier):
    """An identifier of the form ``"LEFT-RIGHT"`` with both parts non-empty."""

    __slots__ = ()
    _SPLIT_LAST = True

    def __init__(self, value: str) -> None:
        super().__init__(value)
        if self._SPLIT_LAST:
            left, dash, right = value.rpartition("-")
        else:
            left, dash, right = value.partition("-")
        if not dash or not left or not right:
            raise InvalidValue(
                self._FIELD, value, "must have the form 'NAME-TAG' with both parts non-empty"
            )

    def _parts(self) -> tuple[str, str]:
        if self._SPLIT_LAST:
            left, _, right = self._value.rpartition("-")
        else:
            left, _, right = self._value.partition("-")
        return left, right


class TraderId(_DashedId):
    """A trader instance, ``"NAME-TAG"`` (split at the last ``-``), e.g. ``"TESTER-001"``."""

    __slots__ = ()
    _FIELD = "trader_id"

    @property
    def name(self) -> str:
        """The part before the last ``-``."""
        return self._parts()[0]

    @property
    def tag(self) -> str:
        """The part after the last ``-``."""
        return self._parts()[1]


class AccountId(_DashedId):
    """An account, ``"VENUE-NUMBER"`` (split at the first ``-``), e.g. ``"BINANCE-001"``."""

    __slots__ = ()
    _FIELD = "account_id"
    _SPLIT_LAST = False

    @property
    def issuer(self) -> str:
        """The venue / issuer part (before the first ``-``)."""
        return self._parts()[0]

    @property
    def number(self) -> str:
        """The account number part (after the first ``-``)."""
        return self._parts()[1]


class StrategyId(Identifier):
    """A strategy instance, e.g. ``StrategyId("EMACross-001")``."""

    __slots__ = ()
    _FIELD = "strategy_id"


class ClientOrderId(Identifier):
    """An order id assigned by the client (us)."""

    __slots__ = ()
    _FIELD = "client_order_id"


class VenueOrderId(Identifier):
    """An order id assigned by the venue."""

    __slots__ = ()
    _FIELD = "venue_order_id"


class TradeId(Identifier):
    """A trade (fill / execution) id assigned by the venue."""

    __slots__ = ()
    _FIELD = "trade_id"


class PositionId(Identifier):
    """A position id."""

    __slots__ = ()
    _FIELD = "position_id"


class InstrumentId:
    """An instrument: ``"SYMBOL.VENUE"``.

    Parameters
    ----------
    symbol
        The venue-local symbol.
    venue
        The venue.

    Examples
    --------
    >>> InstrumentId.from_str("BTCUSDT.BINANCE")
    InstrumentId('BTCUSDT.BINANCE')
    >>> InstrumentId.from_str("BRK.B.NYSE").symbol
    Symbol('BRK.B')
    """

    __slots__ = ("_symbol", "_venue", "_value")

    _symbol: Symbol
    _venue: Venue
    _value: str

    def __init__(self, symbol: Symbol, venue: Venue) -> None:
        if type(symbol) is not Symbol:
            raise InvalidValue("symbol", symbol, "must be a Symbol")
        if type(venue) is not Venue:
            raise InvalidValue("venue", venue, "must be a Venue")
        if "." in venue._value:
            raise InvalidValue("venue", venue._value, "must not contain '.'")
        self._symbol = symbol
        self._venue = venue
        self._value = f"{symbol._value}.{venue._value}"

    @classmethod
    def from_str(cls, value: str) -> InstrumentId:
        """Parse ``"SYMBOL.VENUE"``, splitting at the last dot.

        Raises
        ------
        InvalidValue
            Not a str, no dot, an empty part, or whitespace.
        """
        _check_text(value, "instrument_id")
        symbol, dot, venue = value.rpartition(".")
        if not dot or not symbol or not venue:
            raise InvalidValue(
                "instrument_id",
                value,
                "must have the form 'SYMBOL.VENUE' with both parts non-empty",
            )
        out = object.__new__(cls)
        out._symbol = Symbol(symbol)
        out._venue = Venue(venue)
        out._value = value
        return out

    @property
    def symbol(self) -> Symbol:
        """The symbol part."""
        return self._symbol

    @property
    def venue(self) -> Venue:
        """The venue part."""
        return self._venue

    @property
    def value(self) -> str:
        """The ``"SYMBOL.VENUE"`` string."""
        return self._value

    def __str__(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"InstrumentId({self._value!r})"

    def __hash__(self) -> int:
        return hash(self._value)

    def __eq__(self, other: object) -> bool:
        if type(other) is not InstrumentId:
            return NotImplemented
        return self._value == other._value

    def __ne__(self, other: object) -> bool:
        if type(other) is not InstrumentId:
            return NotImplemented
        return self._value != other._value

    def __lt__(self, other: InstrumentId) -> bool:
        if type(other) is not InstrumentId:
            return NotImplemented
        return self._value < other._value

    def __reduce__(self) -> tuple[Any, ...]:
        return (InstrumentId.from_str, (self._value,))
