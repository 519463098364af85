"""The cffi binding: ABI and layout checks, status mapping, cold-path helpers."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alphaforge import _native
from alphaforge.errors import ABIMismatch, ArithmeticOverflow, InvalidValue, PrecisionError
from alphaforge.model import Price

lib, ffi = _native.lib, _native.ffi


class AlteredLibrary:
    """The real library with one answer changed, to prove the import-time checks bite."""

    def __init__(self, **overrides: Any) -> None:
        self._overrides = overrides

    def __getattr__(self, name: str) -> Any:
        return self._overrides.get(name, getattr(lib, name))


def test_real_library_passes_the_abi_check() -> None:
    _native.check_abi(lib)
    assert "AfFixed" in _native.record_names()
    assert _native.build_info().startswith("alphaforge-native ")


def test_other_abi_version_is_refused() -> None:
    with pytest.raises(ABIMismatch, match="native library has ABI version 99, package expects 1"):
        _native.check_abi(AlteredLibrary(af_abi_version=lambda: 99))


def test_record_layout_drift_is_refused() -> None:
    def shifted_layout(record: bytes, field: Any, offset: Any, size: Any) -> int:
        status = int(lib.af_layout(record, field, offset, size))
        if field == b"precision":
            offset[0] += 1
        return status

    with pytest.raises(ABIMismatch, match=r"field AfFixed.precision: native offset/size 9/1"):
        _native.check_abi(AlteredLibrary(af_layout=shifted_layout))


def test_status_codes_map_to_the_exception_tree() -> None:
    with pytest.raises(InvalidValue, match=r"text=\"12.3x\": invalid digit 'x'"):
        _native.fixed_parse("12.3x")
    with pytest.raises(PrecisionError, match="would lose digits"):
        _native.fixed_parse("1.234", 2)
    a = ffi.new("AfFixed *", {"raw": 2**63 - 1, "precision": 0})
    out = ffi.new("AfFixed *")
    with pytest.raises(ArithmeticOverflow):
        _native.check(lib.af_fixed_add(a[0], a[0], out))
    assert _native.status_name(lib.AF_ERR_PARSE) == "AF_ERR_PARSE"


def test_null_pointer_is_an_error_not_a_crash() -> None:
    with pytest.raises(InvalidValue, match="out"):
        _native.check(lib.af_fixed_parse(b"1.5", lib.AF_PRECISION_INFER, ffi.NULL))


def test_timestamps_and_interner() -> None:
    ns = _native.time_parse_iso8601("2024-08-08T00:00:00.123456789Z")
    assert ns == 1_723_075_200_123_456_789
    assert _native.time_format_iso8601(ns) == "2024-08-08T00:00:00.123456789Z"
    interner = _native.Interner()
    ids = [interner.intern(s) for s in ("BTCUSDT.BINANCE", "ETHUSDT.BINANCE", "BTCUSDT.BINANCE")]
    assert ids == [0, 1, 0]
    assert len(interner) == 2
    assert interner.resolve(1) == "ETHUSDT.BINANCE"
    long_name = "X" * 500  # longer than the first buffer: exercises the grow-and-retry path
    assert interner.resolve(interner.intern(long_name)) == long_name
    with pytest.raises(InvalidValue):
        interner.resolve(99)


decimal_text = st.builds(
    lambda sign, whole, frac: f"{sign}{whole}{'.' + frac if frac else ''}",
    st.sampled_from(["", "-"]),
    st.integers(0, 10**12).map(str),
    st.text("0123456789", max_size=6),
)


@given(decimal_text)
def test_python_values_share_the_native_representation(text: str) -> None:
    """Python parses on its own (no FFI per value) and must agree with the native reference."""
    assert _native.fixed_parse(text) == (Price(text).raw, Price(text).precision)
    assert _native.fixed_format(Price(text).raw, Price(text).precision) == str(Price(text))
