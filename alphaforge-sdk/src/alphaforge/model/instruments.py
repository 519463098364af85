"""Instrument definitions: spot pairs, perpetuals, dated futures and options.

Instruments are immutable attrs classes (``kw_only``) validated at construction. They carry the
rules for building valid prices and sizes (:meth:`Instrument.make_price`,
:meth:`Instrument.make_qty`) and for notional values (:meth:`Instrument.notional`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs

from alphaforge.errors import ArithmeticOverflow, InvalidValue, PrecisionError
from alphaforge.model.enums import OptionKind
from alphaforge.model.identifiers import InstrumentId, Symbol
from alphaforge.model.values import (
    INT64_MAX,
    INT64_MIN,
    Currency,
    Money,
    Price,
    Quantity,
    Rounding,
    _check_precision,
    _check_rounding,
    _div_round,
)

__all__ = [
    "CurrencyPair",
    "FuturesContract",
    "Instrument",
    "OptionContract",
    "PerpetualContract",
]


def _default_settlement(self: Any) -> Currency:
    if self.is_inverse and self.base_currency is not None:
        return self.base_currency  # type: ignore[no-any-return]
    return self.quote_currency  # type: ignore[no-any-return]


def _default_tick(self: Any) -> Price:
    return Price.from_raw(1, _check_precision(self.price_precision, "price_precision"))


def _default_lot(self: Any) -> Quantity:
    return Quantity.from_raw(1, _check_precision(self.size_precision, "size_precision"))


def _decimal_ratio(value: Decimal) -> tuple[int, int]:
    """Return ``(n, e)`` with ``value == n / 10**e`` and ``e >= 0``."""
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    n = int("".join(map(str, digits))) if digits else 0
    if sign:
        n = -n
    if exponent >= 0:
        return n * 10**exponent, 0
    return n, -exponent


def _check_decimal(value: object, field: str, *, min_value: Decimal | None = None) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidValue(field, value, "must be a finite Decimal")
    if min_value is not None and value < min_value:
        raise InvalidValue(field, value, f"must be >= {min_value}")


def _check_ts(value: object, field: str) -> None:
    if type(value) is not int or not 0 <= value <= INT64_MAX * 2 + 1:
        raise InvalidValue(field, value, "must be an int of nanoseconds in uint64 range")


@attrs.frozen(kw_only=True, slots=True)
class Instrument:
    """Base class of all instruments.

    Parameters
    ----------
    id
        ``SYMBOL.VENUE`` id.
    raw_symbol
        The venue's native symbol.
    quote_currency
        Currency prices are quoted in.
    price_precision, size_precision
        Fraction digits of prices / sizes, ``0..=18``.
    base_currency
        Base asset (required for spot pairs, perpetuals and inverse instruments).
    is_inverse
        Inverse contract (notional in base currency, size in quote units).
    settlement_currency
        Defaults to the base currency for inverse instruments, else the quote currency.
    tick_size
        Minimum price increment; defaults to ``10**-price_precision``. Its precision must equal
        ``price_precision``.
    lot_size
        Minimum size increment; defaults to ``10**-size_precision``. Its precision must equal
        ``size_precision``.
    multiplier
        Contract multiplier (``> 0``), default 1.
    min_quantity, max_quantity
        Optional order size limits.
    min_notional, max_notional
        Optional notional limits, in the notional currency (quote; base if inverse).
    maker_fee, taker_fee
        Fee rates (negative = rebate).
    margin_init, margin_maint
        Margin rates (``>= 0``).
    ts_event, ts_init
        Nanoseconds since the Unix epoch.

    Raises
    ------
    InvalidValue
        Any field violating the rules above; the message names the field and value.
    """

    id: InstrumentId
    raw_symbol: Symbol
    quote_currency: Currency
    price_precision: int
    size_precision: int
    base_currency: Currency | None = None
    is_inverse: bool = False
    settlement_currency: Currency = attrs.field(
        default=attrs.Factory(_default_settlement, takes_self=True)
    )
    tick_size: Price = attrs.field(default=attrs.Factory(_default_tick, takes_self=True))
    lot_size: Quantity = attrs.field(default=attrs.Factory(_default_lot, takes_self=True))
    multiplier: Decimal = Decimal(1)
    min_quantity: Quantity | None = None
    max_quantity: Quantity | None = None
    min_notional: Money | None = None
    max_notional: Money | None = None
    maker_fee: Decimal = Decimal(0)
    taker_fee: Decimal = Decimal(0)
    margin_init: Decimal = Decimal(0)
    margin_maint: Decimal = Decimal(0)
    ts_event: int = 0
    ts_init: int = 0

    def __attrs_post_init__(self) -> None:
        self._validate()

    def _validate(self) -> None:
        if type(self.id) is not InstrumentId:
            raise InvalidValue("id", self.id, "must be an InstrumentId")
        if type(self.raw_symbol) is not Symbol:
            raise InvalidValue("raw_symbol", self.raw_symbol, "must be a Symbol")
        for name in ("quote_currency", "settlement_currency"):
            if type(getattr(self, name)) is not Currency:
                raise InvalidValue(name, getattr(self, name), "must be a Currency")
        if self.base_currency is not None and type(self.base_currency) is not Currency:
            raise InvalidValue("base_currency", self.base_currency, "must be a Currency or None")
        pp = _check_precision(self.price_precision, "price_precision")
        sp = _check_precision(self.size_precision, "size_precision")
        if type(self.is_inverse) is not bool:
            raise InvalidValue("is_inverse", self.is_inverse, "must be a bool")
        if self.is_inverse and self.base_currency is None:
            raise InvalidValue("base_currency", None, "is required for an inverse instrument")
        tick = self.tick_size
        if type(tick) is not Price:
            raise InvalidValue("tick_size", tick, "must be a Price")
        if tick.precision != pp:
            raise InvalidValue(
                "tick_size", str(tick), f"precision {tick.precision} != price_precision {pp}"
            )
        if tick.raw <= 0:
            raise InvalidValue("tick_size", str(tick), "must be positive")
        lot = self.lot_size
        if type(lot) is not Quantity:
            raise InvalidValue("lot_size", lot, "must be a Quantity")
        if lot.precision != sp:
            raise InvalidValue(
                "lot_size", str(lot), f"precision {lot.precision} != size_precision {sp}"
            )
        if lot.raw <= 0:
            raise InvalidValue("lot_size", str(lot), "must be positive")
        _check_decimal(self.multiplier, "multiplier")
        if self.multiplier <= 0:
            raise InvalidValue("multiplier", self.multiplier, "must be positive")
        for name in ("min_quantity", "max_quantity"):
            q = getattr(self, name)
            if q is not None and type(q) is not Quantity:
                raise InvalidValue(name, q, "must be a Quantity or None")
        if (
            self.min_quantity is not None
            and self.max_quantity is not None
            and self.min_quantity > self.max_quantity
        ):
            raise InvalidValue(
                "min_quantity",
                str(self.min_quantity),
                f"must be <= max_quantity {self.max_quantity}",
            )
        ncur = self.notional_currency
        for name in ("min_notional", "max_notional"):
            m = getattr(self, name)
            if m is None:
                continue
            if type(m) is not Money:
                raise InvalidValue(name, m, "must be Money or None")
            if m.currency != ncur:
                raise InvalidValue(name, str(m), f"must be in the notional currency {ncur.code}")
        if (
            self.min_notional is not None
            and self.max_notional is not None
            and self.min_notional > self.max_notional
        ):
            raise InvalidValue(
                "min_notional",
                str(self.min_notional),
                f"must be <= max_notional {self.max_notional}",
            )
        _check_decimal(self.maker_fee, "maker_fee")
        _check_decimal(self.taker_fee, "taker_fee")
        _check_decimal(self.margin_init, "margin_init", min_value=Decimal(0))
        _check_decimal(self.margin_maint, "margin_maint", min_value=Decimal(0))
        _check_ts(self.ts_event, "ts_event")
        _check_ts(self.ts_init, "ts_init")

    # -- helpers ---------------------------------------------------------------------------

    @property
    def notional_currency(self) -> Currency:
        """Currency of :meth:`notional`: quote currency, or base currency if inverse."""
        if self.is_inverse and self.base_currency is not None:
            return self.base_currency
        return self.quote_currency

    @staticmethod
    def _snap(
        raw: int, prec: int, step_raw: int, target_prec: int, rounding: Rounding | None
    ) -> int | None:
        """Return the raw (at ``target_prec``) of ``raw/10**prec`` snapped to a multiple of the
        step ``step_raw/10**target_prec``; ``None`` if off-step and ``rounding`` is ``None``."""
        # value / step = raw * 10**target_prec / (step_raw * 10**prec)
        num: int = raw * 10**target_prec
        den: int = step_raw * 10**prec
        if rounding is None:
            n, r = divmod(num, den)
            if r:
                return None
        else:
            n = _div_round(num, den, _check_rounding(rounding))
        return n * step_raw

    def make_price(
        self, value: Price | str | Decimal | int, rounding: Rounding | None = None
    ) -> Price:
        """Build a price on this instrument's tick grid at ``price_precision``.

        Parameters
        ----------
        value
            A :class:`Price` or anything :class:`Price` accepts (``str``, ``Decimal``, ``int``).
        rounding
            How to snap a value that is not a multiple of ``tick_size``. ``None`` (default):
            the value must already be on the tick grid.

        Raises
        ------
        PrecisionError
            Off-tick value with ``rounding=None``.
        InvalidValue, ArithmeticOverflow
            As for :class:`Price`.
        """
        price = value if type(value) is Price else Price(value)  # type: ignore[arg-type]
        tick = self.tick_size
        raw = self._snap(price.raw, price.precision, tick.raw, tick.precision, rounding)
        if raw is None:
            raise PrecisionError(
                "price", str(price), f"is not a multiple of tick_size {tick} for {self.id}"
            )
        if not INT64_MIN <= raw <= INT64_MAX:
            raise ArithmeticOverflow(f"price={price}: on-tick raw does not fit int64")
        return Price.from_raw(raw, tick.precision)

    def make_qty(
        self, value: Quantity | str | Decimal | int, rounding: Rounding | None = None
    ) -> Quantity:
        """Build a quantity on this instrument's lot grid at ``size_precision``.

        Size limits (``min_quantity``/``max_quantity``) are *not* checked here (that is the
        risk engine's job).

        Parameters
        ----------
        value
            A :class:`Quantity` or anything :class:`Quantity` accepts.
        rounding
            How to snap a value that is not a multiple of ``lot_size``. ``None`` (default): the
            value must already be on the lot grid.

        Raises
        ------
        PrecisionError
            Off-lot value with ``rounding=None``.
        InvalidValue, ArithmeticOverflow
            As for :class:`Quantity`.
        """
        qty = value if type(value) is Quantity else Quantity(value)  # type: ignore[arg-type]
        lot = self.lot_size
        raw = self._snap(qty.raw, qty.precision, lot.raw, lot.precision, rounding)
        if raw is None:
            raise PrecisionError(
                "quantity", str(qty), f"is not a multiple of lot_size {lot} for {self.id}"
            )
        if raw > INT64_MAX:
            raise ArithmeticOverflow(f"quantity={qty}: on-lot raw does not fit int64")
        return Quantity.from_raw(raw, lot.precision)

    def is_price_on_tick(self, price: Price) -> bool:
        """Whether ``price`` is an exact multiple of ``tick_size`` (any precision)."""
        tick = self.tick_size
        return self._snap(price.raw, price.precision, tick.raw, tick.precision, None) is not None

    def notional(
        self, quantity: Quantity, price: Price, rounding: Rounding = Rounding.HALF_EVEN
    ) -> Money:
        """Notional value of ``quantity`` at ``price``.

        Linear: ``quantity * price * multiplier`` in the quote currency. Inverse:
        ``quantity * multiplier / price`` in the base currency. Rounded to the currency's
        precision with ``rounding``.

        Raises
        ------
        InvalidValue
            Inverse instrument and ``price <= 0``.
        ArithmeticOverflow
            The result does not fit int64 at the currency precision.
        """
        if type(quantity) is not Quantity:
            raise InvalidValue("quantity", quantity, "must be a Quantity")
        if type(price) is not Price:
            raise InvalidValue("price", price, "must be a Price")
        mode = _check_rounding(rounding)
        cur = self.notional_currency
        m_n, m_e = _decimal_ratio(self.multiplier)
        if self.is_inverse:
            if price.raw <= 0:
                raise InvalidValue("price", str(price), "must be positive for inverse notional")
            num = quantity.raw * m_n * 10 ** (price.precision + cur.precision)
            den = price.raw * 10 ** (quantity.precision + m_e)
            raw = _div_round(num, den, mode)
        else:
            num = quantity.raw * price.raw * m_n
            shift = quantity.precision + price.precision + m_e - cur.precision
            raw = num * 10**-shift if shift <= 0 else _div_round(num, 10**shift, mode)
        if not INT64_MIN <= raw <= INT64_MAX:
            raise ArithmeticOverflow(
                f"notional of {quantity} @ {price} on {self.id}: does not fit int64 at "
                f"{cur.code} precision"
            )
        return Money.from_raw(raw, cur)


@attrs.frozen(kw_only=True, slots=True)
class CurrencyPair(Instrument):
    """A spot currency pair, e.g. BTC/USDT. ``base_currency`` is required; never inverse."""

    def _validate(self) -> None:
        if self.base_currency is None:
            raise InvalidValue("base_currency", None, "is required for a CurrencyPair")
        if self.is_inverse:
            raise InvalidValue("is_inverse", True, "a CurrencyPair cannot be inverse")
        Instrument._validate(self)


@attrs.frozen(kw_only=True, slots=True)
class PerpetualContract(Instrument):
    """A perpetual swap (linear or inverse). ``base_currency`` is required."""

    def _validate(self) -> None:
        if self.base_currency is None:
            raise InvalidValue("base_currency", None, "is required for a PerpetualContract")
        Instrument._validate(self)


@attrs.frozen(kw_only=True, slots=True)
class FuturesContract(Instrument):
    """A dated futures contract.

    Parameters
    ----------
    underlying
        Underlying asset / index name.
    expiry_ns
        Expiry, nanoseconds since the Unix epoch (``> activation_ns``).
    activation_ns
        When the contract starts trading (default 0).
    """

    underlying: str
    expiry_ns: int
    activation_ns: int = 0

    def _validate(self) -> None:
        Instrument._validate(self)
        _check_underlying_and_expiry(self.underlying, self.expiry_ns, self.activation_ns)


@attrs.frozen(kw_only=True, slots=True)
class OptionContract(Instrument):
    """An option.

    Parameters
    ----------
    underlying
        Underlying asset / instrument name.
    kind
        CALL or PUT.
    strike
        Strike price (``> 0``).
    expiry_ns
        Expiry, nanoseconds since the Unix epoch (``> activation_ns``).
    activation_ns
        When the contract starts trading (default 0).
    """

    underlying: str
    kind: OptionKind
    strike: Price
    expiry_ns: int
    activation_ns: int = 0

    def _validate(self) -> None:
        Instrument._validate(self)
        _check_underlying_and_expiry(self.underlying, self.expiry_ns, self.activation_ns)
        if type(self.kind) is not OptionKind:
            raise InvalidValue("kind", self.kind, "must be an OptionKind (CALL/PUT)")
        if type(self.strike) is not Price or self.strike.raw <= 0:
            raise InvalidValue("strike", self.strike, "must be a positive Price")


def _check_underlying_and_expiry(underlying: object, expiry_ns: object, activation: object) -> None:
    if type(underlying) is not str or not underlying or not underlying.isprintable():
        raise InvalidValue("underlying", underlying, "must be a non-empty str")
    _check_ts(expiry_ns, "expiry_ns")
    _check_ts(activation, "activation_ns")
    if expiry_ns <= activation:  # type: ignore[operator]
        raise InvalidValue("expiry_ns", expiry_ns, f"must be > activation_ns {activation}")
