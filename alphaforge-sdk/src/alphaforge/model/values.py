"""Exact fixed-point values: :class:`Price`, :class:`Quantity`, :class:`Money`, :class:`Currency`.

Representation
--------------
Every value is an ``int`` *raw* that fits a signed 64-bit integer plus a *precision* in
``0..=18``; the value is ``raw / 10**precision``. This is exactly the native ``AfFixed {int64
raw; uint8 precision}`` record, so nothing converts at the C ABI: pass ``x.raw`` and
``x.precision``.

Construction
------------
From ``str``, :class:`decimal.Decimal` or ``int`` -- never from ``float`` (a float already lost
the decimal digits; it raises :class:`~alphaforge.errors.InvalidValue`). The precision is
inferred from the text (``"1.50"`` -> 2) or given explicitly (``Price("1.5", precision=2)`` ->
``1.50``). Extra fraction digits beyond an explicit precision must be zeros, otherwise
:class:`~alphaforge.errors.PrecisionError`. ``from_raw(raw, precision)`` is the fast path.

Text grammar (strict, ASCII only)::

    [+-] digits [ "." digits ]

No whitespace, no exponent, no ``nan``/``inf``, no ``_`` separators, no bare ``"1."`` or
``".5"``; at most 18 fraction digits when the precision is inferred.

Semantics
---------
* Equality, hashing and ordering are exact and independent of precision:
  ``Price("1.0") == Price("1.00")`` and both hash like ``Decimal("1.0")``. Values only compare
  with the *same* type (a ``Price`` never equals a ``Quantity`` or a plain number; ordering
  against another type raises ``TypeError``).
* ``+`` and ``-`` between values of the same type give that type at the larger precision; a raw
  result outside int64 raises :class:`~alphaforge.errors.ArithmeticOverflow`.
* ``*`` and ``/`` (with a fixed-point value, an ``int`` or a ``Decimal``) give an exact
  :class:`~decimal.Decimal` (``/`` uses the current decimal context). To stay in fixed point use
  :meth:`mul` / :meth:`div` with an explicit precision and :class:`Rounding`.
* :meth:`rescale` changes the precision; losing non-zero digits needs an explicit rounding.

Implementation note: ``Price``/``Quantity``/``Money`` are plain ``__slots__`` classes rather
than attrs classes because they are built millions of times. As in :class:`fractions.Fraction`,
the state lives in private slots behind read-only properties (``raw``, ``precision``,
``currency``): assigning any attribute raises ``AttributeError``, and construction is a plain
slot store (a raising ``__setattr__`` would double the cost of every construction).
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final, NoReturn, TypeVar

import attrs

from alphaforge.errors import ArithmeticOverflow, InvalidValue, PrecisionError

__all__ = [
    "BTC",
    "ETH",
    "EUR",
    "FIXED_PRECISION_MAX",
    "GBP",
    "INT64_MAX",
    "INT64_MIN",
    "JPY",
    "USD",
    "USDC",
    "USDT",
    "WELL_KNOWN_CURRENCIES",
    "Currency",
    "Money",
    "Price",
    "Quantity",
    "Rounding",
]

INT64_MIN: Final = -(1 << 63)
INT64_MAX: Final = (1 << 63) - 1
FIXED_PRECISION_MAX: Final = 18
"""Largest supported precision (number of fraction digits)."""

_POW10: Final = tuple(10**i for i in range(40))
_HASH_MODULUS: Final = sys.hash_info.modulus
# Modular inverses of 10**p, so that hash(x) == hash(Decimal(x)) == hash(Fraction(x)).
_HASH_INV10: Final = tuple(pow(10**i, _HASH_MODULUS - 2, _HASH_MODULUS) for i in range(19))
_MAX_TEXT_LEN: Final = 256

_FixedT = TypeVar("_FixedT", bound="_Fixed")


class Rounding(enum.IntEnum):
    """Rounding modes; the numbers match the C ABI (``AF_ROUND_*``).

    Same meaning as the :mod:`decimal` modes of the same names.
    """

    HALF_EVEN = 0
    """Round to nearest, ties to even (banker's rounding)."""
    DOWN = 1
    """Round toward zero (truncate)."""
    UP = 2
    """Round away from zero."""
    FLOOR = 3
    """Round toward negative infinity."""
    CEILING = 4
    """Round toward positive infinity."""


def _div_round(n: int, d: int, rounding: Rounding) -> int:
    """Return ``n / d`` rounded to an integer with ``rounding`` (``d > 0``)."""
    q, r = divmod(n, d)  # floor division, 0 <= r < d
    if r == 0 or rounding == Rounding.FLOOR:
        return q
    if rounding == Rounding.CEILING:
        return q + 1
    if rounding == Rounding.DOWN:
        return q if n >= 0 else q + 1
    if rounding == Rounding.UP:
        return q + 1 if n >= 0 else q
    if rounding == Rounding.HALF_EVEN:
        twice = 2 * r
        if twice > d or (twice == d and q & 1):
            return q + 1
        return q
    raise InvalidValue("rounding", rounding, "not a Rounding mode")


def _check_rounding(rounding: object) -> Rounding:
    if type(rounding) is Rounding:
        return rounding
    try:
        return Rounding(rounding)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        raise InvalidValue("rounding", rounding, "not a Rounding mode") from None


def _check_precision(precision: object, field: str = "precision") -> int:
    if type(precision) is not int or not 0 <= precision <= FIXED_PRECISION_MAX:
        raise InvalidValue(field, precision, f"must be an int in 0..={FIXED_PRECISION_MAX}")
    return precision


def _bad_text(value: str, cls_name: str) -> NoReturn:
    raise InvalidValue(
        "value",
        value,
        f"not a valid {cls_name} literal (expected [+-]digits[.digits], ASCII, no spaces/exponent)",
    )


def _parse(value: object, precision: int | None, cls_name: str) -> tuple[int, int]:
    """Return ``(raw, precision)`` for a str/Decimal/int input (range is checked by the caller)."""
    tp = type(value)
    if tp is str:
        text: str = value  # type: ignore[assignment]
        if len(text) > _MAX_TEXT_LEN or not text.isascii():
            _bad_text(text, cls_name)
        body = text
        first = text[:1]
        if first == "-" or first == "+":
            body = text[1:]
        int_part, dot, frac = body.partition(".")
        if not int_part.isdigit() or (dot and not frac.isdigit()):
            _bad_text(text, cls_name)
        n = len(frac)
        if precision is None:
            if n > FIXED_PRECISION_MAX:
                raise PrecisionError(
                    "value", text, f"more than {FIXED_PRECISION_MAX} fraction digits"
                )
            raw = int(int_part + frac) if n else int(int_part)
            precision = n
        else:
            _check_precision(precision)
            if n > precision:
                if frac[precision:].strip("0"):
                    raise PrecisionError(
                        "value", text, f"has non-zero digits beyond precision {precision}"
                    )
                frac = frac[:precision]
                n = precision
            raw = (int(int_part + frac) if n else int(int_part)) * _POW10[precision - n]
        return (-raw if first == "-" else raw), precision
    if tp is int:
        ivalue: int = value  # type: ignore[assignment]
        if precision is None:
            return ivalue, 0
        return ivalue * _POW10[_check_precision(precision)], precision
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise InvalidValue("value", value, "must be finite")
        sign, digits, exponent = value.as_tuple()
        assert isinstance(exponent, int)
        coeff = int("".join(map(str, digits))) if len(digits) < _MAX_TEXT_LEN else -1
        if coeff < 0:
            raise ArithmeticOverflow(f"value={value!r}: does not fit int64 raw")
        if sign:
            coeff = -coeff
        if exponent >= 0:
            if exponent > 40:
                raise ArithmeticOverflow(f"value={value!r}: does not fit int64 raw")
            coeff *= 10**exponent
            exponent = 0
        frac_digits = -exponent
        if precision is None:
            if frac_digits > FIXED_PRECISION_MAX:
                raise PrecisionError(
                    "value", value, f"more than {FIXED_PRECISION_MAX} fraction digits"
                )
            return coeff, frac_digits
        _check_precision(precision)
        if frac_digits > precision:
            q, r = divmod(coeff, 10 ** (frac_digits - precision))
            if r:
                raise PrecisionError(
                    "value", value, f"has non-zero digits beyond precision {precision}"
                )
            return q, precision
        return coeff * _POW10[precision - frac_digits], precision
    if tp is float:
        raise InvalidValue(
            "value", value, f"float is not accepted for {cls_name} (inexact); pass a str or Decimal"
        )
    if tp is bool:
        raise InvalidValue("value", value, f"bool is not accepted for {cls_name}")
    if isinstance(value, int):  # int subclasses (e.g. IntEnum): treat as int
        return _parse(int(value), precision, cls_name)
    raise InvalidValue(
        "value", value, f"{cls_name} is built from str, Decimal or int, not {tp.__name__}"
    )


def _overflow(op: str, a: object, b: object) -> NoReturn:
    raise ArithmeticOverflow(f"{a!r} {op} {b!r}: result does not fit int64 raw")


def _to_decimal_operand(other: object) -> Decimal | None:
    if isinstance(other, _Fixed):
        return other.as_decimal()
    if type(other) is int or isinstance(other, Decimal):
        return Decimal(other)
    return None


class _Fixed:
    """Shared implementation of the fixed-point value types (not public)."""

    __slots__ = ("_raw", "_precision")

    _raw: int
    _precision: int
    _NON_NEGATIVE = False

    def __init__(self, value: str | Decimal | int, precision: int | None = None) -> None:
        if type(value) is str:
            # Fast path for well-formed text; anything unusual falls through to `_parse`,
            # which re-validates and produces the precise error.
            int_part, dot, frac = value.partition(".")
            n = len(frac)
            if (frac.isdigit() or not dot) and n <= 18 and len(int_part) < 21 and value.isascii():
                digits = int_part[1:] if int_part[:1] == "-" else int_part
                if digits.isdigit():
                    raw = int(int_part + frac)  # int() handles the leading "-"
                    if precision is None:
                        prec = n
                    elif type(precision) is int and n <= precision <= 18:
                        raw *= _POW10[precision - n]
                        prec = precision
                    else:
                        prec = -1
                    if (
                        prec >= 0
                        and -9223372036854775808 <= raw <= 9223372036854775807
                        and (raw >= 0 or not self._NON_NEGATIVE)
                    ):
                        self._raw = raw
                        self._precision = prec
                        return
        raw, prec = _parse(value, precision, type(self).__name__)
        if not INT64_MIN <= raw <= INT64_MAX:
            raise ArithmeticOverflow(
                f"value={value!r}: raw {raw} at precision {prec} does not fit int64"
            )
        if raw < 0 and self._NON_NEGATIVE:
            raise InvalidValue("value", value, f"{type(self).__name__} must be non-negative")
        self._raw = raw
        self._precision = prec

    @property
    def raw(self) -> int:
        """The raw integer; ``value == raw / 10**precision``; fits int64."""
        return self._raw

    @property
    def precision(self) -> int:
        """Number of fraction digits, ``0..=18``."""
        return self._precision

    @classmethod
    def from_raw(cls: type[_FixedT], raw: int, precision: int) -> _FixedT:
        """Build from a raw integer and a precision without parsing (fast path).

        Parameters
        ----------
        raw
            Raw integer value; must fit int64.
        precision
            Number of fraction digits, ``0..=18``.

        Raises
        ------
        InvalidValue
            ``raw``/``precision`` out of range or of the wrong type (or a negative quantity).
        """
        if type(raw) is not int or not -9223372036854775808 <= raw <= 9223372036854775807:
            raise InvalidValue("raw", raw, "must be an int that fits int64")
        if type(precision) is not int or not 0 <= precision <= 18:
            raise InvalidValue("precision", precision, "must be an int in 0..=18")
        if raw < 0 and cls._NON_NEGATIVE:
            raise InvalidValue("raw", raw, f"{cls.__name__} must be non-negative")
        self = _NEW(cls)
        self._raw = raw
        self._precision = precision
        return self

    @classmethod
    def zero(cls: type[_FixedT], precision: int = 0) -> _FixedT:
        """Return zero at ``precision``."""
        return cls.from_raw(0, precision)

    # -- pickling ----------------------------------------------------------------------------

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self).from_raw, (self._raw, self._precision))

    def __copy__(self: _FixedT) -> _FixedT:
        return self

    def __deepcopy__(self: _FixedT, memo: object) -> _FixedT:
        return self

    # -- conversions -------------------------------------------------------------------------

    def as_decimal(self) -> Decimal:
        """Return the exact value as a :class:`~decimal.Decimal` (exponent ``-precision``)."""
        # Built from text so the result is exact whatever the current decimal context is.
        return Decimal(f"{self._raw}E-{self._precision}")

    def __float__(self) -> float:
        return float(self._raw / _POW10[self._precision])  # int/int: correctly rounded

    def __bool__(self) -> bool:
        return self._raw != 0

    def __str__(self) -> str:
        p = self._precision
        raw = self._raw
        if not p:
            return str(raw)
        digits = str(-raw if raw < 0 else raw).rjust(p + 1, "0")
        return f"{'-' if raw < 0 else ''}{digits[:-p]}.{digits[-p:]}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}('{self}')"

    # -- comparison --------------------------------------------------------------------------

    def __hash__(self) -> int:
        raw = self._raw
        h = (-raw if raw < 0 else raw) * _HASH_INV10[self._precision] % _HASH_MODULUS
        if raw < 0:
            h = -h
        return -2 if h == -1 else h

    def _cmp_key(self, other: _Fixed) -> tuple[int, int]:
        p, q = self._precision, other._precision
        if p == q:
            return self._raw, other._raw
        if p < q:
            return self._raw * _POW10[q - p], other._raw
        return self._raw, other._raw * _POW10[p - q]

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        a, b = self._cmp_key(other)
        return a == b

    def __ne__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        a, b = self._cmp_key(other)
        return a != b

    def __lt__(self: _FixedT, other: _FixedT) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        a, b = self._cmp_key(other)
        return a < b

    def __le__(self: _FixedT, other: _FixedT) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        a, b = self._cmp_key(other)
        return a <= b

    def __gt__(self: _FixedT, other: _FixedT) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        a, b = self._cmp_key(other)
        return a > b

    def __ge__(self: _FixedT, other: _FixedT) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        a, b = self._cmp_key(other)
        return a >= b

    # -- arithmetic --------------------------------------------------------------------------

    def _make(self: _FixedT, raw: int, precision: int, op: str, other: object) -> _FixedT:
        """Build a result of ``self``'s type; overflow / sign checked."""
        if not INT64_MIN <= raw <= INT64_MAX:
            _overflow(op, self, other)
        if raw < 0 and self._NON_NEGATIVE:
            raise InvalidValue(
                "result", f"{self} {op} {other}", f"{type(self).__name__} must be non-negative"
            )
        out = _NEW(type(self))
        out._raw = raw
        out._precision = precision
        return out

    def __add__(self: _FixedT, other: _FixedT) -> _FixedT:
        if type(other) is not type(self):
            return NotImplemented
        a, b = self._cmp_key(other)
        return self._make(a + b, max(self._precision, other._precision), "+", other)

    def __sub__(self: _FixedT, other: _FixedT) -> _FixedT:
        if type(other) is not type(self):
            return NotImplemented
        a, b = self._cmp_key(other)
        return self._make(a - b, max(self._precision, other._precision), "-", other)

    def __mul__(self, other: _Fixed | int | Decimal) -> Decimal:
        """Exact product as a :class:`~decimal.Decimal` (digits beyond the context are rounded
        by the current decimal context; 28 significant digits by default)."""
        d = _to_decimal_operand(other)
        if d is None:
            return NotImplemented
        return self.as_decimal() * d

    def __rmul__(self, other: int | Decimal) -> Decimal:
        d = _to_decimal_operand(other)
        if d is None:
            return NotImplemented
        return d * self.as_decimal()

    def __truediv__(self, other: _Fixed | int | Decimal) -> Decimal:
        """Quotient as a :class:`~decimal.Decimal` in the current decimal context."""
        d = _to_decimal_operand(other)
        if d is None:
            return NotImplemented
        if not d:
            raise InvalidValue("divisor", other, "division by zero")
        return self.as_decimal() / d

    def __rtruediv__(self, other: int | Decimal) -> Decimal:
        d = _to_decimal_operand(other)
        if d is None:
            return NotImplemented
        if not self._raw:
            raise InvalidValue("divisor", self, "division by zero")
        return d / self.as_decimal()

    def _ratio_operand(self, other: object, field: str) -> tuple[int, int]:
        """Return ``(numerator, denominator_exponent)`` with ``other == n / 10**e``."""
        if isinstance(other, _Fixed):
            return other._raw, other._precision
        if type(other) is int:
            return other, 0
        if isinstance(other, Decimal) and other.is_finite():
            sign, digits, exponent = other.as_tuple()
            assert isinstance(exponent, int)
            n = int("".join(map(str, digits)))
            if sign:
                n = -n
            if exponent >= 0:
                return n * 10**exponent, 0
            return n, -exponent
        raise InvalidValue(field, other, "must be a fixed-point value, an int or a finite Decimal")

    def mul(
        self: _FixedT,
        other: _Fixed | int | Decimal,
        precision: int | None = None,
        rounding: Rounding = Rounding.HALF_EVEN,
    ) -> _FixedT:
        """Multiply and stay in fixed point: ``self * other`` rounded to ``precision``.

        Parameters
        ----------
        other
            A fixed-point value (any type), an ``int`` or a finite ``Decimal``.
        precision
            Result precision; defaults to ``self.precision``.
        rounding
            How to round digits beyond ``precision``.

        Returns
        -------
        Same type as ``self``.

        Raises
        ------
        ArithmeticOverflow
            The rounded result does not fit int64.
        """
        prec = self._precision if precision is None else _check_precision(precision)
        mode = _check_rounding(rounding)
        n, e = self._ratio_operand(other, "other")
        # self * other = raw * n / 10**(p + e); scale to prec.
        shift = self._precision + e - prec
        num = self._raw * n
        raw = num * 10**-shift if shift <= 0 else _div_round(num, 10**shift, mode)
        return self._make(raw, prec, "*", other)

    def div(
        self: _FixedT,
        other: _Fixed | int | Decimal,
        precision: int | None = None,
        rounding: Rounding = Rounding.HALF_EVEN,
    ) -> _FixedT:
        """Divide and stay in fixed point: ``self / other`` rounded to ``precision``.

        Parameters
        ----------
        other
            A non-zero fixed-point value (any type), ``int`` or finite ``Decimal``.
        precision
            Result precision; defaults to ``self.precision``.
        rounding
            How to round digits beyond ``precision``.

        Raises
        ------
        InvalidValue
            Division by zero.
        ArithmeticOverflow
            The rounded result does not fit int64.
        """
        prec = self._precision if precision is None else _check_precision(precision)
        mode = _check_rounding(rounding)
        n, e = self._ratio_operand(other, "other")
        if n == 0:
            raise InvalidValue("other", other, "division by zero")
        # (raw / 10**p) / (n / 10**e) * 10**prec = raw * 10**(e + prec) / (n * 10**p)
        num = self._raw * 10 ** (e + prec)
        den = n * _POW10[self._precision]
        if den < 0:
            num, den = -num, -den
        return self._make(_div_round(num, den, mode), prec, "/", other)

    def rescale(self: _FixedT, precision: int, rounding: Rounding | None = None) -> _FixedT:
        """Return the value at another precision.

        Parameters
        ----------
        precision
            Target precision, ``0..=18``.
        rounding
            Rounding mode when digits are dropped. ``None`` (default) requires the rescale to be
            exact and raises :class:`PrecisionError` otherwise.

        Raises
        ------
        PrecisionError
            ``rounding`` is ``None`` and non-zero digits would be dropped.
        ArithmeticOverflow
            Increasing the precision overflows int64.
        """
        _check_precision(precision)
        p = self._precision
        if precision == p:
            return self
        if precision > p:
            return self._make(self._raw * _POW10[precision - p], precision, "rescale", precision)
        d = _POW10[p - precision]
        if rounding is None:
            q, r = divmod(self._raw, d)
            if r:
                raise PrecisionError(
                    "value", str(self), f"has non-zero digits beyond precision {precision}"
                )
            return self._make(q, precision, "rescale", precision)
        return self._make(
            _div_round(self._raw, d, _check_rounding(rounding)), precision, "rescale", precision
        )


_NEW: Final = object.__new__


class Price(_Fixed):
    """An exact price (may be negative: spreads, some futures).

    Parameters
    ----------
    value
        ``str`` (e.g. ``"101.25"``), :class:`~decimal.Decimal` or ``int``. Never ``float``.
    precision
        Fraction digits ``0..=18``; inferred from ``value`` when ``None``.

    Raises
    ------
    InvalidValue
        Malformed text, float input, non-finite Decimal, bad precision.
    PrecisionError
        ``value`` has non-zero digits beyond ``precision`` (or > 18 fraction digits).
    ArithmeticOverflow
        The raw value does not fit int64.

    Examples
    --------
    >>> Price("1.5", precision=2)
    Price('1.50')
    >>> Price("1.0") == Price("1.00")
    True
    """

    __slots__ = ()

    def __neg__(self) -> Price:
        return self._make(-self._raw, self._precision, "neg", "")

    def __pos__(self) -> Price:
        return self

    def __abs__(self) -> Price:
        return self if self._raw >= 0 else -self


class Quantity(_Fixed):
    """An exact non-negative quantity (size, volume).

    Same construction rules as :class:`Price`; a negative value (or a subtraction result below
    zero) raises :class:`~alphaforge.errors.InvalidValue`.

    Examples
    --------
    >>> Quantity("0.010")
    Quantity('0.010')
    """

    __slots__ = ()
    _NON_NEGATIVE = True


@attrs.frozen(slots=True)
class Currency:
    """A currency (or asset) code with the precision its amounts use.

    Parameters
    ----------
    code
        Upper-case ASCII letters/digits, 1..=16 chars (``"USD"``, ``"USDT"``, ``"1000PEPE"``).
    precision
        Fraction digits of :class:`Money` amounts in this currency, ``0..=18``.

    Examples
    --------
    >>> Currency("USD", 2)
    Currency(code='USD', precision=2)
    """

    code: str
    precision: int

    def __attrs_post_init__(self) -> None:
        code = self.code
        if (
            type(code) is not str
            or not 1 <= len(code) <= 16
            or not code.isascii()
            or not code.isalnum()
            or code.upper() != code
        ):
            raise InvalidValue("code", code, "must be 1..=16 upper-case ASCII letters/digits")
        _check_precision(self.precision)

    def __str__(self) -> str:
        return self.code


USD: Final = Currency("USD", 2)
EUR: Final = Currency("EUR", 2)
GBP: Final = Currency("GBP", 2)
JPY: Final = Currency("JPY", 0)
USDT: Final = Currency("USDT", 8)
USDC: Final = Currency("USDC", 8)
BTC: Final = Currency("BTC", 8)
ETH: Final = Currency("ETH", 8)

WELL_KNOWN_CURRENCIES: Final[Mapping[str, Currency]] = MappingProxyType(
    {c.code: c for c in (USD, EUR, GBP, JPY, USDT, USDC, BTC, ETH)}
)
"""Read-only map of the built-in currency constants by code."""


class Money(_Fixed):
    """An exact amount of a :class:`Currency`, always at ``currency.precision``.

    Parameters
    ----------
    amount
        ``str``, :class:`~decimal.Decimal` or ``int`` (never ``float``). Non-zero digits beyond
        the currency precision raise :class:`~alphaforge.errors.PrecisionError`.
    currency
        The currency.

    Notes
    -----
    ``+``/``-``/ordering require the same currency (else
    :class:`~alphaforge.errors.InvalidValue`); equality with another currency is ``False``.

    Examples
    --------
    >>> Money("12.5", USD)
    Money('12.50', USD)
    """

    __slots__ = ("_currency",)

    _currency: Currency

    def __init__(self, amount: str | Decimal | int, currency: Currency) -> None:
        if type(currency) is not Currency:
            raise InvalidValue("currency", currency, "must be a Currency")
        super().__init__(amount, currency.precision)
        self._currency = currency

    @property
    def currency(self) -> Currency:
        """The currency of the amount."""
        return self._currency

    @classmethod
    def from_raw(cls, raw: int, currency: Currency) -> Money:  # type: ignore[override]
        """Build from a raw integer at ``currency.precision`` (fast path).

        Parameters
        ----------
        raw
            Raw amount (fits int64) at the currency's precision.
        currency
            The :class:`Currency`; its precision is the scale of ``raw``.
        """
        if type(raw) is not int or not INT64_MIN <= raw <= INT64_MAX:
            raise InvalidValue("raw", raw, "must be an int that fits int64")
        if type(currency) is not Currency:
            raise InvalidValue("currency", currency, "must be a Currency")
        out = _NEW(cls)
        out._raw = raw
        out._precision = currency.precision
        out._currency = currency
        return out

    @classmethod
    def zero(cls, currency: Currency) -> Money:  # type: ignore[override]
        """Return zero ``currency``."""
        return cls.from_raw(0, currency)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Money.from_raw, (self._raw, self._currency))

    def __repr__(self) -> str:
        return f"Money('{_Fixed.__str__(self)}', {self._currency.code})"

    def __str__(self) -> str:
        return f"{_Fixed.__str__(self)} {self._currency.code}"

    def __hash__(self) -> int:
        return hash((_Fixed.__hash__(self), self._currency.code))

    def _same_currency(self, other: Money, op: str) -> None:
        if other._currency != self._currency:
            raise InvalidValue(
                "currency",
                other._currency.code,
                f"cannot {op} {self._currency.code} and {other._currency.code}",
            )

    def __eq__(self, other: object) -> bool:
        if type(other) is not Money:
            return NotImplemented
        return self._raw == other._raw and self._currency == other._currency

    def __ne__(self, other: object) -> bool:
        if type(other) is not Money:
            return NotImplemented
        return not (self._raw == other._raw and self._currency == other._currency)

    def __lt__(self, other: Money) -> bool:
        if type(other) is not Money:
            return NotImplemented
        self._same_currency(other, "compare")
        return self._raw < other._raw

    def __le__(self, other: Money) -> bool:
        if type(other) is not Money:
            return NotImplemented
        self._same_currency(other, "compare")
        return self._raw <= other._raw

    def __gt__(self, other: Money) -> bool:
        if type(other) is not Money:
            return NotImplemented
        self._same_currency(other, "compare")
        return self._raw > other._raw

    def __ge__(self, other: Money) -> bool:
        if type(other) is not Money:
            return NotImplemented
        self._same_currency(other, "compare")
        return self._raw >= other._raw

    def _money(self, raw: int, op: str, other: object) -> Money:
        if not INT64_MIN <= raw <= INT64_MAX:
            _overflow(op, self, other)
        return Money.from_raw(raw, self._currency)

    def __add__(self, other: Money) -> Money:
        if type(other) is not Money:
            return NotImplemented
        self._same_currency(other, "add")
        return self._money(self._raw + other._raw, "+", other)

    def __sub__(self, other: Money) -> Money:
        if type(other) is not Money:
            return NotImplemented
        self._same_currency(other, "subtract")
        return self._money(self._raw - other._raw, "-", other)

    def __neg__(self) -> Money:
        return self._money(-self._raw, "neg", "")

    def __pos__(self) -> Money:
        return self

    def __abs__(self) -> Money:
        return self if self._raw >= 0 else -self

    def _make(self, raw: int, precision: int, op: str, other: object) -> Money:
        if precision != self._precision:
            raise InvalidValue(
                "precision", precision, f"Money is always at {self._currency.code} precision"
            )
        return self._money(raw, op, other)

    def mul(  # type: ignore[override]
        self, other: _Fixed | int | Decimal, rounding: Rounding = Rounding.HALF_EVEN
    ) -> Money:
        """Multiply by a number, rounding to the currency precision.

        Parameters
        ----------
        other
            A fixed-point value, ``int`` or finite ``Decimal``.
        rounding
            How to round to ``currency.precision``.
        """
        return _Fixed.mul(self, other, None, rounding)

    def div(  # type: ignore[override]
        self, other: _Fixed | int | Decimal, rounding: Rounding = Rounding.HALF_EVEN
    ) -> Money:
        """Divide by a non-zero number, rounding to the currency precision."""
        return _Fixed.div(self, other, None, rounding)

    def rescale(self, precision: int, rounding: Rounding | None = None) -> Money:
        """Not supported: a Money amount is always at its currency precision."""
        if precision == self._precision:
            return self
        raise InvalidValue(
            "precision", precision, f"Money is always at {self._currency.code} precision"
        )
