"""The binding to the native core: cffi ABI mode, out-of-line.

``_ffi.py`` is generated from the committed header by the build hook, and the shared library
is opened by absolute path, so importing this module parses no C and compiles nothing.

At import the module checks, and raises :class:`~alphaforge.errors.ABIMismatch` on failure:

- the library's ``af_abi_version()`` equals the version this package was generated for;
- every ``#[repr(C)]`` record the header declares has the same size and field offsets in the
  library as cffi computes from the header.

Per DESIGN.md §3 a cffi call costs a few hundred nanoseconds, so the functions here serve the
cold path (parsing configuration, checks, tests); hot paths cross the boundary in batches.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NoReturn

from alphaforge.errors import (
    ABIMismatch,
    AlphaForgeError,
    ArithmeticOverflow,
    InvalidValue,
    NativeError,
    PrecisionError,
)

# The ABI version this Python package is written against.
ABI_VERSION = 1

try:
    from alphaforge._native._ffi import ffi as ffi
except ImportError as exc:  # pragma: no cover - only on a broken install
    raise ABIMismatch(
        "alphaforge._native._ffi is missing: the package was installed without running its "
        "build hook (reinstall with `pip install ./alphaforge-sdk`)"
    ) from exc


def _library_path() -> Path:
    name = {"darwin": "libalphaforge_native.dylib", "win32": "alphaforge_native.dll"}.get(
        sys.platform, "libalphaforge_native.so"
    )
    return Path(__file__).resolve().with_name(name)


def _open_library() -> Any:
    path = _library_path()
    if not path.is_file():
        raise ABIMismatch(f"native library not found at {path}; reinstall alphaforge")
    return ffi.dlopen(str(path))


lib: Any = _open_library()


def last_error() -> str:
    """The message of the last failing native call on this thread."""
    return str(ffi.string(lib.af_last_error()).decode("utf-8", "replace"))


def status_name(status: int) -> str:
    """The symbolic ``AF_*`` name of a status code."""
    return str(ffi.string(lib.af_status_name(status)).decode("ascii"))


def _status_error(status: int, message: str) -> AlphaForgeError:
    if status == lib.AF_ERR_OVERFLOW:
        return ArithmeticOverflow(message)
    if status == lib.AF_ERR_PRECISION:
        return PrecisionError.from_message(message)
    if status in _INVALID_INPUT:
        return InvalidValue.from_message(message)
    return NativeError(f"{status_name(status)}: {message}", status)


_INVALID_INPUT = frozenset(
    (
        lib.AF_ERR_PARSE,
        lib.AF_ERR_INVALID_ARGUMENT,
        lib.AF_ERR_NULL_POINTER,
        lib.AF_ERR_NOT_FOUND,
        lib.AF_ERR_DIVISION_BY_ZERO,
    )
)


def check(status: int) -> None:
    """Raise the exception that matches a non-zero native status."""
    if status != 0:
        raise _status_error(status, last_error())


def _fail(message: str) -> NoReturn:
    raise ABIMismatch(f"{message} (library: {_library_path()})")


def check_abi(library: Any) -> None:
    """Raise :class:`ABIMismatch` unless ``library`` matches this package's ABI and layouts."""
    header_version = library.AF_ABI_VERSION
    library_version = library.af_abi_version()
    if header_version != ABI_VERSION:
        _fail(f"generated binding has ABI version {header_version}, package expects {ABI_VERSION}")
    if library_version != ABI_VERSION:
        _fail(f"native library has ABI version {library_version}, package expects {ABI_VERSION}")
    size = ffi.new("size_t *")
    offset = ffi.new("size_t *")
    for record in record_names():
        ctype = ffi.typeof(record)
        if library.af_layout(record.encode(), ffi.NULL, offset, size) != 0:
            _fail(f"record {record} is unknown to the native library: {last_error()}")
        if size[0] != ffi.sizeof(ctype):
            _fail(f"record {record}: native size {size[0]} != header size {ffi.sizeof(ctype)}")
        for field_name, field in ctype.fields:
            if library.af_layout(record.encode(), field_name.encode(), offset, size) != 0:
                _fail(f"field {record}.{field_name} is unknown to the native library")
            if (offset[0], size[0]) != (field.offset, ffi.sizeof(field.type)):
                _fail(
                    f"field {record}.{field_name}: native offset/size {offset[0]}/{size[0]} != "
                    f"header {field.offset}/{ffi.sizeof(field.type)}"
                )


def record_names() -> list[str]:
    """Every ``#[repr(C)]`` record (struct with visible fields) the header declares."""
    names = []
    for name in ffi.list_types()[0]:
        ctype = ffi.typeof(name)
        if ctype.kind != "struct":
            continue
        try:
            ffi.sizeof(ctype)  # completes the struct; opaque handles raise (and have no layout)
        except ffi.error:
            continue
        names.append(name)
    return sorted(names)


check_abi(lib)


_NUMPY_SCALARS = {
    "int8_t": "i1", "uint8_t": "u1", "int16_t": "<i2", "uint16_t": "<u2",
    "int32_t": "<i4", "uint32_t": "<u4", "int64_t": "<i8", "uint64_t": "<u8",
    "double": "<f8", "float": "<f4", "size_t": "<u8",
}  # fmt: skip


def numpy_dtype(record: str) -> Any:
    """The numpy structured dtype of a ``#[repr(C)]`` record, derived from the header.

    Derived, not hand-written: field names, offsets, padding and item size come from cffi's
    reading of the committed header (itself checked against the library at import), so a
    batch built with this dtype can be handed to the library with ``ffi.from_buffer``.
    """
    import numpy as np

    ctype = ffi.typeof(record)
    names: list[str] = []
    formats: list[Any] = []
    offsets: list[int] = []
    for name, field in ctype.fields:
        ftype = field.type
        if ftype.kind == "array":  # explicit padding, e.g. uint8_t[5]
            formats.append((_NUMPY_SCALARS[ftype.item.cname], (ftype.length,)))
        else:
            formats.append(_NUMPY_SCALARS[ftype.cname])
        names.append(name)
        offsets.append(field.offset)
    return np.dtype(
        {"names": names, "formats": formats, "offsets": offsets, "itemsize": ffi.sizeof(ctype)}
    )


def batch_pointer(array: Any, record: str, field: str = "array") -> Any:
    """A ``const record *`` over a numpy array, zero-copy; checks dtype and contiguity.

    Raises
    ------
    InvalidValue
        If ``array`` is not a C-contiguous numpy array of exactly :func:`numpy_dtype` (record).
    """
    import numpy as np

    expected = numpy_dtype(record)
    if not isinstance(array, np.ndarray) or array.ndim != 1:
        raise InvalidValue(field, type(array).__name__, f"expected a 1-d numpy array of {record}")
    if array.dtype != expected:
        raise InvalidValue(field, str(array.dtype), f"expected dtype {expected} ({record})")
    if not array.flags.c_contiguous:
        raise InvalidValue(field, "non-contiguous", "expected a C-contiguous array")
    if len(array) == 0:
        return ffi.NULL  # the ABI takes NULL with a count of 0
    return ffi.cast(f"{record} *", ffi.from_buffer(array))


# ---------------------------------------------------------------------------------------------
# Cold-path helpers
# ---------------------------------------------------------------------------------------------


def _read_string(fill: Any) -> str:
    """Call ``fill(buf, len, written)`` using the ABI's buffer protocol; grow once if needed."""
    written = ffi.new("size_t *")
    buf = ffi.new("char[]", 64)
    status = fill(buf, 64, written)
    if status == lib.AF_ERR_BUFFER_TOO_SMALL:
        buf = ffi.new("char[]", written[0] + 1)
        status = fill(buf, written[0] + 1, written)
    check(status)
    return str(ffi.string(buf, written[0]).decode("utf-8"))


def build_info() -> str:
    """A one-line description of the native library build."""
    return str(ffi.string(lib.af_build_info()).decode("utf-8"))


def fixed_parse(text: str, precision: int | None = None) -> tuple[int, int]:
    """Parse a decimal string natively; returns ``(raw, precision)``."""
    out = ffi.new("AfFixed *")
    prec = lib.AF_PRECISION_INFER if precision is None else precision
    if not 0 <= prec <= 255:
        raise InvalidValue("precision", precision, "must be within 0..=18")
    check(lib.af_fixed_parse(text.encode("utf-8"), prec, out))
    return int(out.raw), int(out.precision)


def fixed_format(raw: int, precision: int) -> str:
    """Format a fixed-point value natively."""
    value = ffi.new("AfFixed *", {"raw": raw, "precision": precision})
    return _read_string(lambda buf, n, w: lib.af_fixed_format(value[0], buf, n, w))


def time_parse_iso8601(text: str) -> int:
    """Parse an ISO-8601 / RFC 3339 timestamp into integer nanoseconds since the epoch."""
    out = ffi.new("uint64_t *")
    check(lib.af_time_parse_iso8601(text.encode("utf-8"), out))
    return int(out[0])


def time_format_iso8601(ns: int) -> str:
    """Format nanoseconds since the epoch as ``YYYY-MM-DDTHH:MM:SS.fffffffffZ``."""
    if not 0 <= ns < 2**64:
        raise InvalidValue("ns", ns, "must be within 0..2**64")
    return _read_string(lambda buf, n, w: lib.af_time_format_iso8601(ns, buf, n, w))


class Interner:
    """Native string interner: strings to small integer ids (how ids cross the ABI)."""

    __slots__ = ("_handle",)

    def __init__(self) -> None:
        out = ffi.new("AfInterner **")
        check(lib.af_interner_new(out))
        self._handle = ffi.gc(out[0], lib.af_interner_free)

    def intern(self, text: str) -> int:
        out = ffi.new("uint32_t *")
        check(lib.af_interner_intern(self._handle, text.encode("utf-8"), out))
        return int(out[0])

    def resolve(self, ident: int) -> str:
        return _read_string(
            lambda buf, n, w: lib.af_interner_resolve(self._handle, ident, buf, n, w)
        )

    def __len__(self) -> int:
        out = ffi.new("size_t *")
        check(lib.af_interner_len(self._handle, out))
        return int(out[0])
