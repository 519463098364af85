"""Behaviour of Price, Quantity, Money, Currency."""

from __future__ import annotations

import copy
import pickle
from decimal import Decimal

import pytest

from alphaforge.errors import ArithmeticOverflow, InvalidValue, PrecisionError
from alphaforge.model import (
    BTC,
    INT64_MAX,
    INT64_MIN,
    USD,
    USDT,
    WELL_KNOWN_CURRENCIES,
    Currency,
    Money,
    Price,
    Quantity,
    Rounding,
)


class TestConstruction:
    @pytest.mark.parametrize(
        ("text", "raw", "precision"),
        [
            ("1", 1, 0),
            ("1.5", 15, 1),
            ("1.50", 150, 2),
            ("-0.05", -5, 2),
            ("+3.25", 325, 2),
            ("0", 0, 0),
            ("-0.0", 0, 1),
            ("000123.4", 1234, 1),
            ("9.223372036854775807", INT64_MAX, 18),
            ("-9223372036854775808", INT64_MIN, 0),
        ],
    )
    def test_from_str_infers_precision(self, text: str, raw: int, precision: int) -> None:
        p = Price(text)
        assert (p.raw, p.precision) == (raw, precision)

    def test_explicit_precision_pads(self) -> None:
        p = Price("1.5", precision=2)
        assert (p.raw, p.precision, str(p)) == (150, 2, "1.50")

    def test_explicit_precision_accepts_extra_zeros(self) -> None:
        p = Price("1.5000000000000000000000", precision=1)
        assert (p.raw, p.precision) == (15, 1)

    def test_explicit_precision_rejects_extra_digits(self) -> None:
        with pytest.raises(PrecisionError) as ei:
            Price("1.505", precision=2)
        assert ei.value.field == "value" and ei.value.value == "1.505"
        assert "1.505" in str(ei.value)

    def test_from_decimal(self) -> None:
        assert Price(Decimal("1.250")).precision == 3
        assert Price(Decimal("1E+2")) == Price("100")
        assert Price(Decimal("1.2300"), precision=2).raw == 123
        assert Price(Decimal("-7.5"), precision=3).raw == -7500

    def test_from_decimal_extra_digits(self) -> None:
        with pytest.raises(PrecisionError):
            Price(Decimal("1.234"), precision=2)

    @pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
    def test_from_decimal_non_finite(self, value: Decimal) -> None:
        with pytest.raises(InvalidValue) as ei:
            Price(value)
        assert ei.value.field == "value"

    def test_from_int(self) -> None:
        assert Price(5) == Price("5")
        assert Price(5, precision=3).raw == 5000
        assert Quantity(0).raw == 0

    def test_float_rejected_with_hint(self) -> None:
        with pytest.raises(InvalidValue) as ei:
            Price(1.5)  # type: ignore[arg-type]
        assert ei.value.field == "value" and ei.value.value == 1.5
        assert "str or Decimal" in str(ei.value)

    @pytest.mark.parametrize("value", [True, None, [1], b"1"])
    def test_other_types_rejected(self, value: object) -> None:
        with pytest.raises(InvalidValue):
            Price(value)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        "text",
        [
            "",
            " 1",
            "1 ",
            "1. 5",
            "1.",
            ".5",
            "-",
            "+",
            "--1",
            "+-1",
            "1e5",
            "1E5",
            "nan",
            "NaN",
            "inf",
            "-inf",
            "1_000",
            "1,5",
            "0x10",
            "١٢",
            "1.2.3",
            "\t1",
        ],
    )
    def test_malformed_text(self, text: str) -> None:
        with pytest.raises(InvalidValue) as ei:
            Price(text)
        assert ei.value.field == "value" and ei.value.value == text

    def test_too_many_fraction_digits(self) -> None:
        with pytest.raises(PrecisionError) as ei:
            Price("0." + "1" * 19)
        assert "18" in str(ei.value)

    @pytest.mark.parametrize(
        "text", ["9223372036854775808", "-9223372036854775809", "9.3" + "0" * 17]
    )
    def test_int64_overflow(self, text: str) -> None:
        with pytest.raises(ArithmeticOverflow):
            Price(text)

    def test_overflow_after_padding(self) -> None:
        with pytest.raises(ArithmeticOverflow):
            Price("10", precision=18)

    @pytest.mark.parametrize("precision", [-1, 19, True, 1.0, "2"])
    def test_bad_precision(self, precision: object) -> None:
        with pytest.raises(InvalidValue) as ei:
            Price("1", precision=precision)  # type: ignore[arg-type]
        assert ei.value.field == "precision"

    def test_quantity_non_negative(self) -> None:
        with pytest.raises(InvalidValue) as ei:
            Quantity("-1")
        assert ei.value.field == "value" and ei.value.value == "-1"
        with pytest.raises(InvalidValue):
            Quantity.from_raw(-1, 0)
        assert Quantity("-0").raw == 0

    def test_huge_text_rejected_cleanly(self) -> None:
        with pytest.raises(InvalidValue):
            Price("1" * 10_000)


class TestFromRaw:
    def test_roundtrip(self) -> None:
        p = Price.from_raw(12345, 2)
        assert str(p) == "123.45" and (p.raw, p.precision) == (12345, 2)

    @pytest.mark.parametrize(
        ("raw", "precision"), [(INT64_MAX + 1, 0), (INT64_MIN - 1, 0), (1.0, 0)]
    )
    def test_raw_range(self, raw: object, precision: int) -> None:
        with pytest.raises(InvalidValue) as ei:
            Price.from_raw(raw, precision)  # type: ignore[arg-type]
        assert ei.value.field == "raw"

    @pytest.mark.parametrize("precision", [-1, 19, None])
    def test_precision_range(self, precision: object) -> None:
        with pytest.raises(InvalidValue) as ei:
            Price.from_raw(1, precision)  # type: ignore[arg-type]
        assert ei.value.field == "precision"

    def test_zero(self) -> None:
        assert Quantity.zero(3) == Quantity("0") and Quantity.zero(3).precision == 3


class TestImmutabilityAndProtocols:
    def test_assignment_raises(self) -> None:
        p = Price("1")
        with pytest.raises(AttributeError):
            p.raw = 5  # type: ignore[misc]
        with pytest.raises(AttributeError):
            p.precision = 5  # type: ignore[misc]
        with pytest.raises(AttributeError):
            p.other = 1  # type: ignore[attr-defined]
        assert p.raw == 1

    def test_str_and_repr(self) -> None:
        assert str(Price("1.5", precision=3)) == "1.500"
        assert str(Price("-0.05")) == "-0.05"
        assert str(Price("7")) == "7"
        assert repr(Price("1.50")) == "Price('1.50')"
        assert repr(Quantity("2")) == "Quantity('2')"

    def test_equality_across_precisions(self) -> None:
        assert Price("1.0") == Price("1.00")
        assert hash(Price("1.0")) == hash(Price("1.00"))
        assert hash(Price("1.5")) == hash(Decimal("1.5"))
        assert hash(Price("-2.25")) == hash(Decimal("-2.25"))
        assert Price("1.0") != Price("1.01")

    def test_types_do_not_mix(self) -> None:
        assert Price("1") != Quantity("1")
        assert Price("1") != 1
        assert Price("1") != Decimal(1)
        with pytest.raises(TypeError):
            _ = Price("1") < Quantity("2")  # type: ignore[operator]
        with pytest.raises(TypeError):
            _ = Price("1") + Quantity("2")  # type: ignore[operator]

    def test_ordering(self) -> None:
        assert Price("1.5") < Price("1.51") <= Price("1.510") < Price("2")
        assert Price("-1") < Price("0.00")
        assert max(Price("1.5"), Price("1.45")) == Price("1.5")
        assert sorted([Price("3"), Price("1.5"), Price("-2")]) == [
            Price("-2"),
            Price("1.5"),
            Price("3"),
        ]

    def test_conversions(self) -> None:
        assert Price("1.25").as_decimal() == Decimal("1.25")
        assert Price("1.250").as_decimal().as_tuple().exponent == -3
        assert float(Price("0.1")) == 0.1
        assert bool(Price("0.00")) is False and bool(Price("0.01")) is True

    def test_pickle_and_copy(self) -> None:
        for v in (Price("-1.25"), Quantity("3"), Money("1.5", USD)):
            assert pickle.loads(pickle.dumps(v)) == v
            assert copy.copy(v) is v and copy.deepcopy(v) is v
        assert pickle.loads(pickle.dumps(Money("1.5", USD))).currency == USD


class TestArithmetic:
    def test_add_sub_precision_is_max(self) -> None:
        r = Price("1.5") + Price("0.25")
        assert (r.raw, r.precision) == (175, 2)
        r = Price("1.5") - Price("0.25")
        assert str(r) == "1.25"

    def test_add_overflow(self) -> None:
        a = Price.from_raw(INT64_MAX, 0)
        with pytest.raises(ArithmeticOverflow):
            _ = a + Price("1")
        with pytest.raises(ArithmeticOverflow):
            _ = Price.from_raw(INT64_MIN, 0) - Price("1")

    def test_add_overflow_from_rescale(self) -> None:
        with pytest.raises(ArithmeticOverflow):
            _ = Price.from_raw(INT64_MAX, 0) + Price("0.1")

    def test_quantity_sub_negative(self) -> None:
        with pytest.raises(InvalidValue) as ei:
            _ = Quantity("1") - Quantity("2")
        assert ei.value.field == "result"

    def test_neg_abs(self) -> None:
        assert -Price("1.5") == Price("-1.5")
        assert abs(Price("-1.5")) == Price("1.5")
        with pytest.raises(ArithmeticOverflow):
            _ = -Price.from_raw(INT64_MIN, 0)

    def test_mul_div_give_decimal(self) -> None:
        assert Price("1.5") * Quantity("2") == Decimal("3.0")
        assert Price("1.5") * 2 == Decimal("3.0")
        assert 2 * Price("1.5") == Decimal("3.0")
        assert Price("1.5") * Decimal("0.1") == Decimal("0.15")
        assert Price("3") / 2 == Decimal("1.5")
        assert isinstance(Price("1") / Price("3"), Decimal)
        with pytest.raises(InvalidValue) as ei:
            _ = Price("1") / 0
        assert ei.value.field == "divisor"
        with pytest.raises(TypeError):
            _ = Price("1") * 1.5  # type: ignore[operator]

    def test_mul_fixed(self) -> None:
        r = Price("1.5").mul(Quantity("0.333"), 2)
        assert (r.raw, r.precision) == (50, 2)  # 0.4995 -> 0.50
        assert Price("1.5").mul(Quantity("0.333"), 2, Rounding.DOWN) == Price("0.49")
        assert Price("2.5").mul(3) == Price("7.5")
        assert Price("1.005").mul(1, 2, Rounding.HALF_EVEN) == Price("1.00")
        with pytest.raises(ArithmeticOverflow):
            Price.from_raw(INT64_MAX, 0).mul(2)
        with pytest.raises(InvalidValue) as ei:
            Price("1").mul(1.5)  # type: ignore[arg-type]
        assert ei.value.field == "other"

    def test_div_fixed(self) -> None:
        assert Price("10").div(3, 4) == Price("3.3333")
        assert Price("10").div(3, 4, Rounding.CEILING) == Price("3.3334")
        assert Price("-10").div(Decimal("4"), 1) == Price("-2.5")
        with pytest.raises(InvalidValue) as ei:
            Price("1").div(0)
        assert ei.value.field == "other"

    @pytest.mark.parametrize(
        ("value", "rounding", "expected"),
        [
            ("1.25", Rounding.HALF_EVEN, "1.2"),
            ("1.35", Rounding.HALF_EVEN, "1.4"),
            ("-1.25", Rounding.HALF_EVEN, "-1.2"),
            ("1.21", Rounding.UP, "1.3"),
            ("-1.21", Rounding.UP, "-1.3"),
            ("1.29", Rounding.DOWN, "1.2"),
            ("-1.29", Rounding.DOWN, "-1.2"),
            ("-1.21", Rounding.FLOOR, "-1.3"),
            ("-1.29", Rounding.CEILING, "-1.2"),
        ],
    )
    def test_rescale_rounding(self, value: str, rounding: Rounding, expected: str) -> None:
        r = Price(value).rescale(1, rounding)
        assert r == Price(expected) and r.precision == 1

    def test_rescale_exact_default(self) -> None:
        assert Price("1.50").rescale(1).raw == 15
        assert Price("1.5").rescale(4).raw == 15000
        with pytest.raises(PrecisionError) as ei:
            Price("1.55").rescale(1)
        assert ei.value.value == "1.55"
        with pytest.raises(ArithmeticOverflow):
            Price("10").rescale(18)
        with pytest.raises(InvalidValue):
            Price("1").rescale(19)
        with pytest.raises(InvalidValue) as ei2:
            Price("1.55").rescale(1, 9)  # type: ignore[arg-type]
        assert ei2.value.field == "rounding"

    def test_rounding_abi_values(self) -> None:
        assert [r.value for r in Rounding] == [0, 1, 2, 3, 4]
        assert [r.name for r in Rounding] == ["HALF_EVEN", "DOWN", "UP", "FLOOR", "CEILING"]


class TestCurrencyMoney:
    def test_currency(self) -> None:
        assert Currency("USD", 2) == USD and str(USD) == "USD"
        assert WELL_KNOWN_CURRENCIES["BTC"] is BTC
        assert USDT.precision == 8

    @pytest.mark.parametrize("code", ["", "usd", "US D", "U$D", "X" * 17, 5])
    def test_bad_currency_code(self, code: object) -> None:
        with pytest.raises(InvalidValue) as ei:
            Currency(code, 2)  # type: ignore[arg-type]
        assert ei.value.field == "code"

    def test_bad_currency_precision(self) -> None:
        with pytest.raises(InvalidValue) as ei:
            Currency("ABC", 19)
        assert ei.value.field == "precision"

    def test_money_precision_is_currency_precision(self) -> None:
        m = Money("12.5", USD)
        assert (m.raw, m.precision, m.currency) == (1250, 2, USD)
        assert str(m) == "12.50 USD" and repr(m) == "Money('12.50', USD)"
        with pytest.raises(PrecisionError):
            Money("1.234", USD)
        with pytest.raises(InvalidValue) as ei:
            Money("1", "USD")  # type: ignore[arg-type]
        assert ei.value.field == "currency"
        with pytest.raises(InvalidValue):
            Money(1.5, USD)  # type: ignore[arg-type]

    def test_money_arithmetic(self) -> None:
        assert Money("1.5", USD) + Money("2", USD) == Money("3.5", USD)
        assert Money("1.5", USD) - Money("2", USD) == Money("-0.5", USD)
        assert -Money("1", USD) == Money("-1", USD)
        assert Money("10", USD).mul(Decimal("0.0005")) == Money("0.00", USD)  # 0.005: ties to even
        assert Money("30", USD).mul(Decimal("0.0005")) == Money("0.02", USD)  # 0.015: ties to even
        assert Money("10", USD).mul(Decimal("0.0005"), Rounding.UP) == Money("0.01", USD)
        assert Money("10", USD).div(3) == Money("3.33", USD)
        assert Money.zero(BTC) == Money("0", BTC)

    def test_money_currency_mixing(self) -> None:
        with pytest.raises(InvalidValue) as ei:
            _ = Money("1", USD) + Money("1", BTC)
        assert ei.value.field == "currency" and ei.value.value == "BTC"
        with pytest.raises(InvalidValue):
            _ = Money("1", USD) - Money("1", BTC)
        with pytest.raises(InvalidValue):
            _ = Money("1", USD) < Money("1", BTC)
        assert Money("1", USD) != Money("1", BTC)
        assert Money("1", USD) != Price("1")

    def test_money_ordering_and_hash(self) -> None:
        assert Money("1", USD) < Money("1.01", USD)
        assert len({Money("1", USD), Money("1.00", USD), Money("1", BTC)}) == 2

    def test_money_overflow_and_raw(self) -> None:
        with pytest.raises(ArithmeticOverflow):
            _ = Money.from_raw(INT64_MAX, USD) + Money.from_raw(1, USD)
        with pytest.raises(InvalidValue):
            Money.from_raw(1, 2)  # type: ignore[arg-type]
        with pytest.raises(InvalidValue) as ei:
            Money("1", USD).rescale(4)
        assert ei.value.field == "precision"
        with pytest.raises(AttributeError):
            Money("1", USD).currency = BTC  # type: ignore[misc]
