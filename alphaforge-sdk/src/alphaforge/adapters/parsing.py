"""Pure helpers for adapter parsers: exact decimals, timestamps and typed field access.

Every helper raises :class:`~alphaforge.errors.InvalidValue` naming the field (a dotted path
such as ``"depthUpdate.b[3].price"``) and the offending value, so a garbage frame never
escapes as ``KeyError`` / ``TypeError`` and never leaves half-built state behind.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final, TypeVar

from alphaforge.errors import InvalidValue
from alphaforge.model.values import FIXED_PRECISION_MAX, INT64_MAX, Price, Quantity

__all__ = [
    "as_bool",
    "as_int",
    "as_mapping",
    "as_str",
    "field",
    "ms_to_ns",
    "parse_price",
    "parse_quantity",
    "raw_at",
    "step_precision",
    "us_to_ns",
]

_T = TypeVar("_T")
_POW10: Final = tuple(10**i for i in range(40))
_MAX_TEXT: Final = 64


def field(msg: Mapping[str, Any], key: str, path: str) -> Any:
    """``msg[key]``, or :class:`InvalidValue` naming ``path.key`` when it is missing."""
    try:
        return msg[key]
    except (KeyError, TypeError):
        raise InvalidValue(f"{path}.{key}", None, "is missing") from None


def as_mapping(value: object, path: str) -> Mapping[str, Any]:
    """``value`` if it is a JSON object, else :class:`InvalidValue`."""
    if not isinstance(value, Mapping):
        raise InvalidValue(path, value, "must be a JSON object")
    return value


def as_str(value: object, path: str) -> str:
    """``value`` if it is a non-empty ``str``, else :class:`InvalidValue`."""
    if type(value) is not str or not value:
        raise InvalidValue(path, value, "must be a non-empty string")
    return value


def as_int(value: object, path: str, *, minimum: int | None = 0) -> int:
    """``value`` if it is a JSON integer (not a bool) ``>= minimum``, else :class:`InvalidValue`."""
    if type(value) is not int:
        raise InvalidValue(path, value, "must be an integer")
    if minimum is not None and value < minimum:
        raise InvalidValue(path, value, f"must be >= {minimum}")
    return value


def as_bool(value: object, path: str) -> bool:
    """``value`` if it is a JSON boolean, else :class:`InvalidValue`."""
    if type(value) is not bool:
        raise InvalidValue(path, value, "must be a boolean")
    return value


def ms_to_ns(value: object, path: str) -> int:
    """Epoch milliseconds (JSON integer) to nanoseconds."""
    ms = as_int(value, path)
    if ms > INT64_MAX // 1_000_000:
        raise InvalidValue(path, value, "is not an epoch time in milliseconds")
    return ms * 1_000_000


def us_to_ns(value: object, path: str) -> int:
    """Epoch microseconds (JSON integer) to nanoseconds."""
    us = as_int(value, path)
    if us > INT64_MAX // 1_000:
        raise InvalidValue(path, value, "is not an epoch time in microseconds")
    return us * 1_000


def raw_at(text: object, precision: int, path: str, *, signed: bool = False) -> int:
    """Exact raw integer of the decimal string ``text`` at ``precision`` fraction digits.

    ``"0.35210000"`` at precision 4 is ``3521``; trailing zeros beyond the precision are fine,
    non-zero digits beyond it raise (the value is not on the instrument's grid).

    Raises
    ------
    InvalidValue
        Not a plain decimal string, a sign when ``signed`` is false, digits lost, or a raw
        value outside int64.
    """
    if type(text) is not str or not 0 < len(text) <= _MAX_TEXT or not text.isascii():
        raise InvalidValue(path, text, "must be a decimal string")
    negative = text[0] == "-"
    if negative and not signed:
        raise InvalidValue(path, text, "must not be negative")
    whole, dot, frac = (text[1:] if negative else text).partition(".")
    if not whole.isdigit() or (dot and not frac.isdigit()):
        raise InvalidValue(path, text, "must be a decimal string")
    n = len(frac)
    if n > precision:
        if frac[precision:].strip("0"):
            raise InvalidValue(path, text, f"has more than {precision} significant decimals")
        frac, n = frac[:precision], precision
    raw: int = int(whole + frac)
    if n < precision:
        raw *= _POW10[precision - n]
    if raw > INT64_MAX:
        raise InvalidValue(path, text, "does not fit int64 at this precision")
    return -raw if negative else raw


def step_precision(text: object, path: str) -> int:
    """Fraction digits of a step such as ``"0.01000000"`` (2) or ``"1.00000000"`` (0).

    Raises
    ------
    InvalidValue
        Not a positive decimal string, or more than 18 significant fraction digits.
    """
    if type(text) is not str or len(text) > _MAX_TEXT:
        raise InvalidValue(path, text, "must be a decimal string")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvalidValue(path, text, "must be a decimal string") from None
    if not value.is_finite() or value <= 0:
        raise InvalidValue(path, text, "must be a positive decimal")
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    precision = max(0, -exponent)
    if precision > FIXED_PRECISION_MAX:
        raise InvalidValue(path, text, f"has more than {FIXED_PRECISION_MAX} decimals")
    return precision


def parse_price(text: object, precision: int, path: str) -> Price:
    """A :class:`Price` at ``precision`` from a decimal string (see :func:`raw_at`)."""
    return Price.from_raw(raw_at(text, precision, path, signed=True), precision)


def parse_quantity(text: object, precision: int, path: str) -> Quantity:
    """A :class:`Quantity` at ``precision`` from a decimal string (see :func:`raw_at`)."""
    return Quantity.from_raw(raw_at(text, precision, path), precision)
