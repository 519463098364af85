"""Hypothesis properties of the fixed-point values against an exact Decimal reference."""

from __future__ import annotations

import decimal
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from alphaforge.errors import ArithmeticOverflow
from alphaforge.model import INT64_MAX, INT64_MIN, Price, Quantity, Rounding

_EXACT = decimal.Context(prec=80, traps=[decimal.Inexact, decimal.InvalidOperation])
_ROUND = decimal.Context(prec=80, traps=[decimal.InvalidOperation])  # rounding is expected here

_DECIMAL_ROUNDING = {
    Rounding.HALF_EVEN: decimal.ROUND_HALF_EVEN,
    Rounding.DOWN: decimal.ROUND_DOWN,
    Rounding.UP: decimal.ROUND_UP,
    Rounding.FLOOR: decimal.ROUND_FLOOR,
    Rounding.CEILING: decimal.ROUND_CEILING,
}

raws = st.one_of(
    st.integers(INT64_MIN, INT64_MAX),
    st.integers(-10_000, 10_000),
    st.sampled_from([INT64_MIN, INT64_MIN + 1, -1, 0, 1, INT64_MAX - 1, INT64_MAX]),
)
precisions = st.integers(0, 18)
prices = st.builds(Price.from_raw, raws, precisions)


def ref(p: Price) -> Decimal:
    """Exact Decimal value computed independently of the class."""
    return _EXACT.divide(Decimal(p.raw), Decimal(10) ** p.precision)


@given(prices)
def test_str_round_trip(p: Price) -> None:
    q = Price(str(p))
    assert (q.raw, q.precision) == (p.raw, p.precision)
    assert Decimal(str(p)) == ref(p)
    assert repr(p) == f"Price('{p}')"


@given(prices)
def test_decimal_round_trip(p: Price) -> None:
    d = p.as_decimal()
    assert d == ref(p) and d.as_tuple().exponent == -p.precision
    q = Price(d)
    assert (q.raw, q.precision) == (p.raw, p.precision)


@given(prices, prices)
def test_eq_hash_order_match_decimal(a: Price, b: Price) -> None:
    da, db = ref(a), ref(b)
    assert (a == b) == (da == db)
    assert (a != b) == (da != db)
    assert (a < b) == (da < db)
    assert (a <= b) == (da <= db)
    assert (a > b) == (da > db)
    assert (a >= b) == (da >= db)
    assert hash(a) == hash(da)
    if a == b:
        assert hash(a) == hash(b)


@given(prices, precisions)
def test_equal_across_precisions(p: Price, extra: int) -> None:
    target = min(18, p.precision + extra)
    try:
        q = p.rescale(target)
    except ArithmeticOverflow:
        assert abs(p.raw) * 10 ** (target - p.precision) > INT64_MAX
        return
    assert q == p and hash(q) == hash(p)


@given(prices, prices)
def test_add_sub_match_decimal(a: Price, b: Price) -> None:
    prec = max(a.precision, b.precision)
    for op, exact in (("+", _EXACT.add(ref(a), ref(b))), ("-", _EXACT.subtract(ref(a), ref(b)))):
        expected_raw = int(_EXACT.multiply(exact, Decimal(10) ** prec))
        fits = INT64_MIN <= expected_raw <= INT64_MAX
        try:
            r = a + b if op == "+" else a - b
        except ArithmeticOverflow:
            assert not fits
            continue
        assert fits
        assert r.precision == prec and r.raw == expected_raw and ref(r) == exact


@given(prices, precisions, st.sampled_from(list(Rounding)))
def test_rescale_matches_quantize(p: Price, precision: int, rounding: Rounding) -> None:
    exact = ref(p)
    expected = exact.quantize(Decimal(1).scaleb(-precision), _DECIMAL_ROUNDING[rounding], _ROUND)
    expected_raw = int(expected.scaleb(precision, _EXACT))
    try:
        r = p.rescale(precision, rounding)
    except ArithmeticOverflow:
        assert not INT64_MIN <= expected_raw <= INT64_MAX
        return
    assert r.precision == precision and r.raw == expected_raw


@given(st.integers(0, INT64_MAX), precisions)
def test_quantity_str_round_trip(raw: int, precision: int) -> None:
    q = Quantity.from_raw(raw, precision)
    assert Quantity(str(q)) == q and str(Quantity(str(q))) == str(q)


@given(prices, prices, precisions, st.sampled_from(list(Rounding)))
def test_mul_matches_decimal(a: Price, b: Price, precision: int, rounding: Rounding) -> None:
    exact = _EXACT.multiply(ref(a), ref(b))
    expected = exact.quantize(Decimal(1).scaleb(-precision), _DECIMAL_ROUNDING[rounding], _ROUND)
    expected_raw = int(expected.scaleb(precision, _EXACT))
    try:
        r = a.mul(b, precision, rounding)
    except ArithmeticOverflow:
        assert not INT64_MIN <= expected_raw <= INT64_MAX
        return
    assert r.raw == expected_raw
