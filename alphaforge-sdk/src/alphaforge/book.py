"""Native order books (L1, L2, L3) reached from Python in batches.

The book lives in the Rust core (``af_book_*`` in the C ABI). Python talks to it two ways:

- **Batches (the hot path).** :meth:`OrderBook.apply_batch` takes a numpy structured array of
  dtype :data:`BOOK_DELTA_DTYPE` -- exactly the native ``AfBookDelta`` record -- and hands its
  buffer to the native side without copying. A batch is **all or nothing**: if the delta at
  index ``i`` is rejected, the book is left exactly as before the call and
  :class:`BookDeltaError` carries ``index == i``. Build arrays with :func:`deltas_to_array`,
  :func:`array_from_arrow`, ``np.zeros(n, BOOK_DELTA_DTYPE)`` or the data catalog.
- **Single deltas (the cold path).** :meth:`OrderBook.apply` (an
  :class:`~alphaforge.model.OrderBookDelta`), :meth:`~OrderBook.add`,
  :meth:`~OrderBook.update`, :meth:`~OrderBook.delete`, :meth:`~OrderBook.clear`, and
  :meth:`~OrderBook.apply_raw` with raw integers. Each is one native call (about a
  microsecond); use batches for streams.

Reading the top of book costs no native call: the handle republishes an ``AfBookTop`` record
after every successful change, and the book reads it through a memory view
(:meth:`~OrderBook.best_bid_price` and friends). **Lifetime rule:** that view points into the
native handle and is valid while the :class:`OrderBook` lives (it owns the handle; never keep
the private view beyond it). Values are consistent when no other thread is applying deltas to
the same book at that moment; :meth:`~OrderBook.top` takes the native lock and is always
consistent.

Semantics (details in ``docs/order-books.md``): prices and sizes are converted exactly to the
book's precisions (a value that would lose digits raises
:class:`~alphaforge.errors.PrecisionError`); L2 deltas set level states (UPDATE inserts a
missing level, size 0 removes, DELETE of a missing level is a no-op); L3 deltas address orders
by ``order_id`` (unknown ids are errors; an UPDATE to a new price or a larger size loses queue
priority); a sequence lower than the last applied one is rejected.

Exceptions: :class:`BookDeltaError` (a rejected delta, an
:class:`~alphaforge.errors.InvalidValue`) and :class:`BookIntegrityError` (a failed
:meth:`~OrderBook.check_integrity`, a :class:`~alphaforge.errors.NativeError`).
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

import attrs

try:
    import numpy as np
except ImportError as exc:  # pragma: no cover - numpy is a dependency of the SDK
    raise ImportError("alphaforge.book needs numpy: pip install numpy") from exc

from alphaforge._native import check, ffi, last_error, lib, numpy_dtype
from alphaforge.errors import ABIMismatch, InvalidValue, NativeError, PrecisionError
from alphaforge.model.data import OrderBookDelta, OrderBookDeltas, QuoteTick, TradeTick
from alphaforge.model.enums import BookAction, BookType, OrderSide
from alphaforge.model.identifiers import InstrumentId
from alphaforge.model.values import Price, Quantity

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = [
    "BOOK_DELTA_DTYPE",
    "BookDeltaError",
    "BookIntegrityError",
    "BookOrder",
    "BookTop",
    "Crossing",
    "FillEstimate",
    "OrderBook",
    "array_from_arrow",
    "deltas_from_array",
    "deltas_to_array",
]

BOOK_DELTA_DTYPE: Final = np.dtype(
    [
        ("ts_event", "<u8"),
        ("ts_init", "<u8"),
        ("sequence", "<u8"),
        ("order_id", "<u8"),
        ("price", "<i8"),
        ("size", "<i8"),
        ("action", "u1"),
        ("side", "u1"),
        ("flags", "u1"),
        ("_pad", "u1", (5,)),
    ]
)
"""numpy record of one delta: the native ``AfBookDelta`` (56 bytes, no implicit padding).

``price``/``size`` are raw integers at the book's precisions, ``action`` a
:class:`~alphaforge.model.BookAction`, ``side`` an :class:`~alphaforge.model.OrderSide`
(``NO_SIDE`` only for CLEAR, meaning both sides), ``flags`` ``F_LAST``/``F_SNAPSHOT``. ``_pad``
is ignored."""

# The same layout spelled with implicit padding (``align=True``); also accepted.
_ALIGNED_EQUIVALENT: Final = np.dtype(
    [(name, BOOK_DELTA_DTYPE.fields[name][0]) for name in BOOK_DELTA_DTYPE.names[:-1]],  # type: ignore[index]
    align=True,
)

_INT64_MIN: Final = -(1 << 63)
_INT64_MAX: Final = (1 << 63) - 1
_U64_MAX: Final = (1 << 64) - 1
_POW10: Final[tuple[int, ...]] = tuple(10**i for i in range(37))
_TOP_HAS_BID: Final = 1
_TOP_HAS_ASK: Final = 2
_DELTA: Final = struct.Struct("<QQQQqqBBB5x")


def _check_layout() -> None:
    """BOOK_DELTA_DTYPE must be exactly what cffi computes for AfBookDelta (the dtype is
    spelled out here for readers; it must equal the one derived from the header)."""
    if numpy_dtype("AfBookDelta") != BOOK_DELTA_DTYPE:
        raise ABIMismatch(
            f"BOOK_DELTA_DTYPE {BOOK_DELTA_DTYPE} != the header's AfBookDelta "
            f"{numpy_dtype('AfBookDelta')}"
        )
    header = dict(ffi.typeof("AfBookDelta").fields)
    names = BOOK_DELTA_DTYPE.names or ()
    if BOOK_DELTA_DTYPE.itemsize != ffi.sizeof("AfBookDelta") or set(names) != set(header):
        raise ABIMismatch(
            f"BOOK_DELTA_DTYPE ({BOOK_DELTA_DTYPE.itemsize} bytes, fields {names}) does not "
            f"match AfBookDelta ({ffi.sizeof('AfBookDelta')} bytes, fields {tuple(header)})"
        )
    for name in names:
        field_dtype, offset = BOOK_DELTA_DTYPE.fields[name][:2]  # type: ignore[index]
        expected = (header[name].offset, ffi.sizeof(header[name].type))
        if (offset, field_dtype.itemsize) != expected:
            raise ABIMismatch(
                f"BOOK_DELTA_DTYPE.{name} offset/size {offset}/{field_dtype.itemsize} != "
                f"AfBookDelta {expected[0]}/{expected[1]}"
            )
    if _ALIGNED_EQUIVALENT.itemsize != BOOK_DELTA_DTYPE.itemsize:
        raise ABIMismatch("the aligned spelling of BOOK_DELTA_DTYPE has another itemsize")
    if ffi.sizeof("AfBookTop") != 64:
        raise ABIMismatch(f"sizeof(AfBookTop) {ffi.sizeof('AfBookTop')} != 64 (top view)")


_check_layout()


class BookDeltaError(InvalidValue):
    """A delta (or a batch) the book rejected; the book is unchanged.

    Attributes
    ----------
    index
        Position of the rejected delta in the batch (``None`` for a single delta).
    status
        The native ``AF_ERR_*`` status.
    field, value, reason
        Parsed from the native message ``deltas[3].size=-5: must be >= 0``.
    """

    index: int | None
    status: int

    def __init__(self, message: str, index: int | None, status: int) -> None:
        field, _, rest = message.partition("=")
        value, _, reason = rest.partition(": ")
        Exception.__init__(self, message)
        self.field, self.value, self.reason = field, value, reason
        self.index = index
        self.status = status


class BookIntegrityError(NativeError):
    """:meth:`OrderBook.check_integrity` found a broken invariant or a crossed book."""


class Crossing(enum.IntEnum):
    """Whether the best bid reaches the best ask."""

    NONE = 0
    LOCKED = 1
    CROSSED = 2


@attrs.frozen(slots=True)
class BookTop:
    """Top of book as one consistent snapshot (see :meth:`OrderBook.top`)."""

    bid_price: Price | None
    bid_size: Quantity | None
    ask_price: Price | None
    ask_size: Quantity | None
    sequence: int
    ts_event: int
    update_count: int
    last_flags: int


@attrs.frozen(slots=True)
class FillEstimate:
    """What a taker order of ``requested`` would fill by walking the book.

    ``avg_price`` and ``slippage`` are at the precision asked for (rounded half to even);
    ``slippage`` is how much worse than ``best_price`` the average is (``>= 0``). Prices are
    ``None`` when nothing fills (empty side).
    """

    order_side: OrderSide
    requested: Quantity
    filled: Quantity
    avg_price: Price | None
    slippage: Price | None
    best_price: Price | None
    worst_price: Price | None
    levels: int

    @property
    def complete(self) -> bool:
        """Whether the whole requested quantity fills."""
        return self.filled == self.requested


@attrs.frozen(slots=True)
class BookOrder:
    """An order on an L3 book and what is ahead of it in its level's queue."""

    order_id: int
    side: OrderSide
    price: Price
    size: Quantity
    size_ahead: Quantity
    orders_ahead: int


def _rescale(raw: int, precision: int, target: int, field: str, shown: object) -> int:
    """``raw`` at ``precision`` as a raw value at ``target``, exactly, or raise."""
    if precision == target:
        return raw
    if precision < target:
        return raw * _POW10[target - precision]
    q, r = divmod(raw, _POW10[precision - target])
    if r:
        raise PrecisionError(
            field, str(shown), f"has more than {target} fraction digits (precision {target})"
        )
    return q


def _side_arg(side: OrderSide | int, field: str = "side") -> int:
    value = int(side)
    if value not in (1, 2):
        raise InvalidValue(field, side, "must be OrderSide.BUY or OrderSide.SELL")
    return value


class OrderBook:
    """A native order book for one instrument.

    Parameters
    ----------
    instrument_id
        The instrument (an :class:`~alphaforge.model.InstrumentId` or ``"SYMBOL.VENUE"``).
    book_type
        :class:`~alphaforge.model.BookType`: ``L1_MBP``, ``L2_MBP`` or ``L3_MBO``.
    price_precision, size_precision
        Fraction digits of prices and sizes, ``0..=18`` (e.g. 1 and 3 for Binance USD-M
        BTCUSDT). Every raw value the book sees is at these precisions.

    Raises
    ------
    InvalidValue
        Unknown book type, precision out of range, malformed instrument id.
    """

    __slots__ = (
        "_applied",
        "_apply_fn",
        "_avg_prec",
        "_fill",
        "_ask_px",
        "_ask_px_raw",
        "_ask_sz",
        "_ask_sz_raw",
        "_bid_px",
        "_bid_px_raw",
        "_bid_sz",
        "_bid_sz_raw",
        "_book_type",
        "_dtype_ok",
        "_h",
        "_instrument_id",
        "_pp",
        "_scratch",
        "_scratch_buf",
        "_sp",
        "_top",
        "_top_u",
    )

    def __init__(
        self,
        instrument_id: InstrumentId | str,
        book_type: BookType | int,
        price_precision: int,
        size_precision: int,
    ) -> None:
        if isinstance(instrument_id, str):
            instrument_id = InstrumentId.from_str(instrument_id)
        elif not isinstance(instrument_id, InstrumentId):
            raise InvalidValue("instrument_id", instrument_id, "must be an InstrumentId or str")
        try:
            kind = BookType(book_type)
        except ValueError:
            raise InvalidValue(
                "book_type", book_type, "must be BookType.L1_MBP, L2_MBP or L3_MBO"
            ) from None
        for name, p in (("price_precision", price_precision), ("size_precision", size_precision)):
            if type(p) is not int or not 0 <= p <= 18:
                raise InvalidValue(name, p, "must be an int in 0..=18")
        self._instrument_id = instrument_id
        self._book_type = kind
        self._pp = price_precision
        self._sp = size_precision
        out = ffi.new("AfBook **")
        check(lib.af_book_new(int(kind), price_precision, size_precision, out))
        self._h = ffi.gc(out[0], lib.af_book_free)
        top = ffi.new("const AfBookTop **")
        check(lib.af_book_top_ptr(self._h, top))
        view = memoryview(ffi.buffer(top[0], ffi.sizeof("AfBookTop")))
        # [0..3] bid px/sz, ask px/sz (int64); [4..6] sequence, ts_event, update_count (uint64);
        # [7] flags (low 32 bits) | last_flags << 32 | book_type << 40.
        self._top = view.cast("q")
        self._top_u = view.cast("Q")
        self._scratch = ffi.new("AfBookDelta *")
        self._apply_fn = lib.af_book_apply
        self._scratch_buf = ffi.buffer(self._scratch)
        self._applied = ffi.new("size_t *")
        self._dtype_ok: np.dtype[Any] = BOOK_DELTA_DTYPE
        self._fill = ffi.new("AfBookFill *")
        self._avg_prec = min(price_precision + 2, 18)
        self._bid_px_raw: int | None = None
        self._ask_px_raw: int | None = None
        self._bid_px: Price | None = None
        self._ask_px: Price | None = None
        # Values built from the raw top, reused while the raw value does not change (sizes of
        # present levels are > 0, so the raw 0 of an empty side never hits the cache).
        self._bid_sz_raw: int | None = 0
        self._ask_sz_raw: int | None = 0
        self._bid_sz: Quantity | None = None
        self._ask_sz: Quantity | None = None

    # -- properties ------------------------------------------------------------------------

    @property
    def instrument_id(self) -> InstrumentId:
        return self._instrument_id

    @property
    def book_type(self) -> BookType:
        return self._book_type

    @property
    def price_precision(self) -> int:
        return self._pp

    @property
    def size_precision(self) -> int:
        return self._sp

    @property
    def sequence(self) -> int:
        """Sequence of the last applied delta (0 for a fresh book)."""
        return int(self._top_u[4])

    @property
    def ts_event(self) -> int:
        """``ts_event`` of the last applied delta."""
        return int(self._top_u[5])

    @property
    def update_count(self) -> int:
        """Number of successful changing calls (single delta, batch, quote, trade, reset)."""
        return int(self._top_u[6])

    @property
    def last_flags(self) -> int:
        """Flags of the last applied delta (``F_LAST`` set: the book is at a consistent point)."""
        return (self._top[7] >> 32) & 0xFF

    def __repr__(self) -> str:
        return (
            f"OrderBook({self._instrument_id}, {self._book_type.name}, "
            f"bid={self.best_bid_price()}, ask={self.best_ask_price()}, seq={self.sequence})"
        )

    # -- changing the book -----------------------------------------------------------------

    def _raise_delta(self, status: int, index: int | None) -> None:
        raise BookDeltaError(last_error(), index, status)

    def apply_batch(self, deltas: npt.NDArray[Any]) -> int:
        """Apply a batch all or nothing; returns the number of deltas applied.

        Parameters
        ----------
        deltas
            1-D, C-contiguous numpy array of dtype :data:`BOOK_DELTA_DTYPE` (the same layout
            spelled with implicit padding is accepted too), 8-byte aligned. Passed without
            copying; the array is only read.

        Raises
        ------
        BookDeltaError
            A delta was rejected; nothing was applied and ``index`` names it.
        InvalidValue
            Not such an array.
        """
        if type(deltas) is not np.ndarray:
            raise InvalidValue(
                "deltas", type(deltas).__name__, "must be a numpy array of BOOK_DELTA_DTYPE"
            )
        dtype = deltas.dtype
        # Comparing structured dtypes costs ~1 us: remember the last dtype object that passed.
        if dtype is not self._dtype_ok:
            if dtype != BOOK_DELTA_DTYPE and dtype != _ALIGNED_EQUIVALENT:
                raise InvalidValue(
                    "deltas.dtype",
                    str(dtype),
                    "must be alphaforge.book.BOOK_DELTA_DTYPE (build the array with "
                    "np.zeros(n, BOOK_DELTA_DTYPE), deltas_to_array or array_from_arrow)",
                )
            self._dtype_ok = dtype
        if deltas.ndim != 1:
            raise InvalidValue("deltas.ndim", deltas.ndim, "must be 1")
        if not deltas.flags.c_contiguous:
            raise InvalidValue(
                "deltas", "a strided view", "must be C-contiguous (use np.ascontiguousarray)"
            )
        n = int(deltas.shape[0])
        if n == 0:
            return 0
        # Alignment (8 bytes) is checked natively.
        status = lib.af_book_apply_batch(
            self._h, ffi.from_buffer("AfBookDelta[]", deltas), n, self._applied
        )
        if status:
            message = last_error()
            if not message.startswith("deltas["):
                raise InvalidValue("deltas", "the buffer", message)
            raise BookDeltaError(message, int(self._applied[0]), status)
        return n

    def apply_raw(
        self,
        action: BookAction | int,
        side: OrderSide | int,
        price: int,
        size: int,
        order_id: int = 0,
        sequence: int = 0,
        ts_event: int = 0,
        flags: int = 0,
    ) -> None:
        """Apply one delta given as raw integers (the fastest single-delta call).

        Raises
        ------
        BookDeltaError
            The delta was rejected (the book is unchanged).
        """
        try:
            _DELTA.pack_into(
                self._scratch_buf,
                0,
                ts_event,
                0,
                sequence,
                order_id,
                price,
                size,
                action,
                side,
                flags,
            )
        except struct.error as exc:
            raise InvalidValue(
                "delta",
                (action, side, price, size, order_id, sequence, ts_event, flags),
                f"a field is out of its integer range ({exc})",
            ) from None
        status = self._apply_fn(self._h, self._scratch)
        if status:
            self._raise_delta(status, None)

    def apply(self, delta: OrderBookDelta) -> None:
        """Apply one :class:`~alphaforge.model.OrderBookDelta` (cold path).

        Raises
        ------
        BookDeltaError
            The delta was rejected (the book is unchanged).
        PrecisionError
            The price or size has digits beyond the book's precision.
        """
        # The private slots of Price/Quantity (same package) skip two property calls each:
        # this is the per-delta path whose latency the benchmarks track.
        p, s = delta.price, delta.size
        price = p._raw
        if p._precision != self._pp:
            price = _rescale(price, p._precision, self._pp, "delta.price", p)
        size = s._raw
        if s._precision != self._sp:
            size = _rescale(size, s._precision, self._sp, "delta.size", s)
        try:
            _DELTA.pack_into(
                self._scratch_buf,
                0,
                delta.ts_event,
                delta.ts_init,
                delta.sequence,
                delta.order_id,
                price,
                size,
                delta.action,
                delta.side,
                delta.flags,
            )
        except struct.error as exc:
            raise InvalidValue(
                "delta", delta, f"a field is out of its integer range ({exc})"
            ) from None
        status = self._apply_fn(self._h, self._scratch)
        if status:
            self._raise_delta(status, None)

    def apply_deltas(self, deltas: OrderBookDeltas | Iterable[OrderBookDelta]) -> int:
        """Apply deltas all or nothing (converted with :func:`deltas_to_array`)."""
        items = deltas.deltas if isinstance(deltas, OrderBookDeltas) else deltas
        return self.apply_batch(
            deltas_to_array(items, price_precision=self._pp, size_precision=self._sp)
        )

    def _one(
        self,
        action: BookAction,
        side: OrderSide | int,
        price: Price | None,
        size: Quantity | None,
        order_id: int,
        sequence: int | None,
        ts_event: int,
        flags: int,
    ) -> None:
        self.apply_raw(
            action,
            side,
            0 if price is None else _rescale(price.raw, price.precision, self._pp, "price", price),
            0 if size is None else _rescale(size.raw, size.precision, self._sp, "size", size),
            order_id,
            self.sequence if sequence is None else sequence,
            ts_event,
            flags,
        )

    def add(
        self,
        side: OrderSide,
        price: Price,
        size: Quantity,
        order_id: int = 0,
        *,
        sequence: int | None = None,
        ts_event: int = 0,
        flags: int = 0,
    ) -> None:
        """ADD: a level (L1/L2, replaces an existing one) or a new order ``order_id`` (L3).

        ``sequence=None`` reuses the book's last sequence (never rejected as going back).
        """
        self._one(BookAction.ADD, side, price, size, order_id, sequence, ts_event, flags)

    def update(
        self,
        side: OrderSide,
        price: Price,
        size: Quantity,
        order_id: int = 0,
        *,
        sequence: int | None = None,
        ts_event: int = 0,
        flags: int = 0,
    ) -> None:
        """UPDATE: the level's (L2, inserted if missing) or order's (L3) new size; 0 removes."""
        self._one(BookAction.UPDATE, side, price, size, order_id, sequence, ts_event, flags)

    def delete(
        self,
        side: OrderSide,
        price: Price,
        order_id: int = 0,
        *,
        sequence: int | None = None,
        ts_event: int = 0,
        flags: int = 0,
    ) -> None:
        """DELETE a level (L1/L2; a missing level is a no-op) or the order ``order_id`` (L3)."""
        self._one(BookAction.DELETE, side, price, None, order_id, sequence, ts_event, flags)

    def clear(
        self,
        side: OrderSide = OrderSide.NO_SIDE,
        *,
        sequence: int | None = None,
        ts_event: int = 0,
        flags: int = 0,
    ) -> None:
        """A CLEAR delta: empty one side, or both with ``NO_SIDE`` (sequence-checked)."""
        self._one(BookAction.CLEAR, side, None, None, 0, sequence, ts_event, flags)

    def reset(self) -> None:
        """Empty the book and forget its last sequence and time (a fresh book, e.g. to resync)."""
        check(lib.af_book_clear(self._h))

    def update_quote(self, quote: QuoteTick, sequence: int | None = None) -> None:
        """L1 books: set both sides from a quote (a zero size empties that side)."""
        pp, sp = self._pp, self._sp
        check(
            lib.af_book_apply_quote(
                self._h,
                _rescale(
                    quote.bid_price.raw, quote.bid_price.precision, pp, "bid_price", quote.bid_price
                ),
                _rescale(
                    quote.bid_size.raw, quote.bid_size.precision, sp, "bid_size", quote.bid_size
                ),
                _rescale(
                    quote.ask_price.raw, quote.ask_price.precision, pp, "ask_price", quote.ask_price
                ),
                _rescale(
                    quote.ask_size.raw, quote.ask_size.precision, sp, "ask_size", quote.ask_size
                ),
                self.sequence if sequence is None else sequence,
                quote.ts_event,
            )
        )

    def update_trade(self, trade: TradeTick, sequence: int | None = None) -> None:
        """L1 books: set both sides to the trade price and size."""
        check(
            lib.af_book_apply_trade(
                self._h,
                _rescale(trade.price.raw, trade.price.precision, self._pp, "price", trade.price),
                _rescale(trade.size.raw, trade.size.precision, self._sp, "size", trade.size),
                self.sequence if sequence is None else sequence,
                trade.ts_event,
            )
        )

    # -- top of book (no native call) --------------------------------------------------------

    # The published record holds INT64_MIN as the price of an empty side. The caches map the
    # last raw value seen to the object built for it; they never hold INT64_MIN, so a cache hit
    # is one memory read and an absent side always takes the slow path (which checks flags).

    def best_bid_price(self) -> Price | None:
        """Best bid price, or ``None`` if there is no bid."""
        raw = self._top[0]
        if raw == self._bid_px_raw:
            return self._bid_px
        if not self._top[7] & _TOP_HAS_BID:
            return None
        price = Price.from_raw(raw, self._pp)
        if raw != _INT64_MIN:
            self._bid_px, self._bid_px_raw = price, raw
        return price

    def best_ask_price(self) -> Price | None:
        """Best ask price, or ``None`` if there is no ask."""
        raw = self._top[2]
        if raw == self._ask_px_raw:
            return self._ask_px
        if not self._top[7] & _TOP_HAS_ASK:
            return None
        price = Price.from_raw(raw, self._pp)
        if raw != _INT64_MIN:
            self._ask_px, self._ask_px_raw = price, raw
        return price

    def best_bid_size(self) -> Quantity | None:
        """Size at the best bid, or ``None``."""
        raw = self._top[1]
        if raw == self._bid_sz_raw:
            return self._bid_sz
        if not self._top[7] & _TOP_HAS_BID:
            return None
        self._bid_sz, self._bid_sz_raw = Quantity.from_raw(raw, self._sp), raw
        return self._bid_sz

    def best_ask_size(self) -> Quantity | None:
        """Size at the best ask, or ``None``."""
        raw = self._top[3]
        if raw == self._ask_sz_raw:
            return self._ask_sz
        if not self._top[7] & _TOP_HAS_ASK:
            return None
        self._ask_sz, self._ask_sz_raw = Quantity.from_raw(raw, self._sp), raw
        return self._ask_sz

    def best_bid_raw(self) -> int | None:
        """Raw best bid price (at ``price_precision``), or ``None``."""
        top = self._top
        return top[0] if top[7] & _TOP_HAS_BID else None

    def best_ask_raw(self) -> int | None:
        """Raw best ask price (at ``price_precision``), or ``None``."""
        top = self._top
        return top[2] if top[7] & _TOP_HAS_ASK else None

    def top_raw(self) -> tuple[int, int, int, int, int]:
        """``(bid_price, bid_size, ask_price, ask_size, flags)`` raw; flags bit 1 = has bid,
        bit 2 = has ask (an absent side reads price ``-2**63``, size 0)."""
        top = self._top
        return top[0], top[1], top[2], top[3], top[7] & 0xFFFFFFFF

    def top(self) -> BookTop:
        """A consistent snapshot of the top of book, taken under the native lock."""
        out = ffi.new("AfBookTop *")
        check(lib.af_book_top(self._h, out))
        has_bid, has_ask = out.flags & _TOP_HAS_BID, out.flags & _TOP_HAS_ASK
        pp, sp = self._pp, self._sp
        return BookTop(
            bid_price=Price.from_raw(int(out.bid_price), pp) if has_bid else None,
            bid_size=Quantity.from_raw(int(out.bid_size), sp) if has_bid else None,
            ask_price=Price.from_raw(int(out.ask_price), pp) if has_ask else None,
            ask_size=Quantity.from_raw(int(out.ask_size), sp) if has_ask else None,
            sequence=int(out.sequence),
            ts_event=int(out.ts_event),
            update_count=int(out.update_count),
            last_flags=int(out.last_flags),
        )

    def spread(self) -> Price | None:
        """``best ask - best bid`` (negative when crossed), or ``None`` if a side is empty."""
        bid, ask = self.best_bid_raw(), self.best_ask_raw()
        if bid is None or ask is None:
            return None
        return Price.from_raw(ask - bid, self._pp)

    def mid(self) -> Decimal | None:
        """Exact midpoint ``(bid + ask) / 2``, or ``None`` if a side is empty."""
        bid, ask = self.best_bid_raw(), self.best_ask_raw()
        if bid is None or ask is None:
            return None
        return Decimal(bid + ask).scaleb(-self._pp) / 2

    # -- depth and walks (one native call each) ----------------------------------------------

    def level_count(self, side: OrderSide) -> int:
        """Number of price levels on ``side`` (BUY = bids, SELL = asks)."""
        out = ffi.new("size_t *")
        check(lib.af_book_level_count(self._h, _side_arg(side), out))
        return int(out[0])

    def order_count(self, side: OrderSide) -> int:
        """Number of orders on ``side`` (L3); the number of levels for L1/L2 books."""
        out = ffi.new("size_t *")
        check(lib.af_book_order_count(self._h, _side_arg(side), out))
        return int(out[0])

    def levels(
        self, side: OrderSide, n: int | None = None
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Up to ``n`` levels of ``side`` best first, as raw ``(prices, sizes)`` int64 arrays
        (all levels when ``n`` is None)."""
        code = _side_arg(side)
        if n is None:
            n = self.level_count(side)
        if type(n) is not int or n < 0:
            raise InvalidValue("n", n, "must be a non-negative int")
        prices = np.empty(n, dtype=np.int64)
        sizes = np.empty(n, dtype=np.int64)
        written = ffi.new("size_t *")
        if n == 0:
            check(lib.af_book_depth(self._h, code, 0, ffi.NULL, ffi.NULL, written))
        else:
            check(
                lib.af_book_depth(
                    self._h,
                    code,
                    n,
                    ffi.from_buffer("int64_t[]", prices, require_writable=True),
                    ffi.from_buffer("int64_t[]", sizes, require_writable=True),
                    written,
                )
            )
        w = int(written[0])
        return prices[:w], sizes[:w]

    def depth(self, side: OrderSide, n: int = 10) -> list[tuple[Price, Quantity]]:
        """Up to ``n`` levels of ``side``, best first, as ``(Price, Quantity)`` pairs."""
        prices, sizes = self.levels(side, n)
        pp, sp = self._pp, self._sp
        return [
            (Price.from_raw(p, pp), Quantity.from_raw(s, sp))
            for p, s in zip(prices.tolist(), sizes.tolist(), strict=True)
        ]

    def bids(self, n: int = 10) -> list[tuple[Price, Quantity]]:
        """Up to ``n`` bid levels, highest first."""
        return self.depth(OrderSide.BUY, n)

    def asks(self, n: int = 10) -> list[tuple[Price, Quantity]]:
        """Up to ``n`` ask levels, lowest first."""
        return self.depth(OrderSide.SELL, n)

    def fill_estimate(
        self, order_side: OrderSide, quantity: Quantity, precision: int | None = None
    ) -> FillEstimate:
        """Walk the book for a taker order: BUY walks the asks up, SELL the bids down.

        Parameters
        ----------
        order_side
            The taker side.
        quantity
            How much to fill (> 0, at most the book's size precision).
        precision
            Precision of ``avg_price`` / ``slippage`` (rounded half to even); default
            ``price_precision + 2`` (at most 18).
        """
        side = _side_arg(order_side, "order_side")
        qty = _rescale(quantity.raw, quantity.precision, self._sp, "quantity", quantity)
        prec = self._avg_prec if precision is None else precision
        out = ffi.new("AfBookFill *")
        check(lib.af_book_fill_price(self._h, side, qty, prec, out))
        pp, sp = self._pp, self._sp
        filled = int(out.filled)
        has = filled > 0
        return FillEstimate(
            order_side=OrderSide(side),
            requested=Quantity.from_raw(qty, sp),
            filled=Quantity.from_raw(filled, sp),
            avg_price=Price.from_raw(int(out.avg_price), prec) if has else None,
            slippage=Price.from_raw(int(out.slippage), prec) if has else None,
            best_price=Price.from_raw(int(out.best_price), pp) if has else None,
            worst_price=Price.from_raw(int(out.worst_price), pp) if has else None,
            levels=int(out.levels),
        )

    def avg_fill_price(
        self, order_side: OrderSide, quantity: Quantity, precision: int | None = None
    ) -> Price | None:
        """Average price a taker order of ``quantity`` would get (``None`` if nothing fills;
        the fill may be partial, see :meth:`fill_estimate`). ``precision`` as there."""
        side = int(order_side)
        if side != 1 and side != 2:
            raise InvalidValue("order_side", order_side, "must be OrderSide.BUY or OrderSide.SELL")
        qty = quantity.raw
        if quantity.precision != self._sp:
            qty = _rescale(qty, quantity.precision, self._sp, "quantity", quantity)
        prec = self._avg_prec if precision is None else precision
        out = self._fill
        check(lib.af_book_fill_price(self._h, side, qty, prec, out))
        return Price.from_raw(int(out.avg_price), prec) if out.filled else None

    def crossing(self) -> Crossing:
        """:class:`Crossing` state of the best bid vs the best ask."""
        out = ffi.new("int32_t *")
        check(lib.af_book_crossing(self._h, out))
        return Crossing(out[0])

    def is_crossed(self) -> bool:
        """Best bid > best ask."""
        return self.crossing() is Crossing.CROSSED

    def is_locked(self) -> bool:
        """Best bid == best ask."""
        return self.crossing() is Crossing.LOCKED

    def check_integrity(self) -> None:
        """Check every structural invariant and that the book is not crossed (locked passes).

        Raises
        ------
        BookIntegrityError
            With the reason.
        """
        status = lib.af_book_check_integrity(self._h)
        if status == lib.AF_ERR_STATE:
            raise BookIntegrityError(last_error(), status)
        check(status)

    def order(self, order_id: int) -> BookOrder | None:
        """L3 books: the order ``order_id`` and its queue position, or ``None`` if absent."""
        out = ffi.new("AfBookOrder *")
        status = lib.af_book_order(self._h, order_id, out)
        if status == lib.AF_ERR_NOT_FOUND:
            return None
        check(status)
        return BookOrder(
            order_id=order_id,
            side=OrderSide(out.side),
            price=Price.from_raw(int(out.price), self._pp),
            size=Quantity.from_raw(int(out.size), self._sp),
            size_ahead=Quantity.from_raw(int(out.size_ahead), self._sp),
            orders_ahead=int(out.orders_ahead),
        )


# -- building arrays ----------------------------------------------------------------------------


def deltas_to_array(
    deltas: Iterable[OrderBookDelta],
    *,
    price_precision: int | None = None,
    size_precision: int | None = None,
) -> npt.NDArray[np.void]:
    """Pack :class:`~alphaforge.model.OrderBookDelta` objects into a :data:`BOOK_DELTA_DTYPE`
    array.

    Prices and sizes are converted exactly to ``price_precision`` / ``size_precision``
    (default: the precision of the first delta's price / size).

    Raises
    ------
    PrecisionError
        A value has digits beyond the target precision (the field names the index).
    """
    items = list(deltas)
    out = np.zeros(len(items), dtype=BOOK_DELTA_DTYPE)
    if not items:
        return out
    pp = items[0].price.precision if price_precision is None else price_precision
    sp = items[0].size.precision if size_precision is None else size_precision
    prices, sizes = [], []
    for i, d in enumerate(items):
        p, s = d.price, d.size
        prices.append(_rescale(p.raw, p.precision, pp, f"deltas[{i}].price", p))
        sizes.append(_rescale(s.raw, s.precision, sp, f"deltas[{i}].size", s))
    columns: dict[str, list[int]] = {
        "price": prices,
        "size": sizes,
        "ts_event": [d.ts_event for d in items],
        "ts_init": [d.ts_init for d in items],
        "sequence": [d.sequence for d in items],
        "order_id": [d.order_id for d in items],
        "action": [int(d.action) for d in items],
        "side": [int(d.side) for d in items],
        "flags": [d.flags for d in items],
    }
    for name, values in columns.items():
        try:
            out[name] = values
        except (OverflowError, ValueError, TypeError) as exc:
            raise InvalidValue(name, "a value", f"does not fit the record field ({exc})") from None
    return out


def deltas_from_array(
    instrument_id: InstrumentId,
    records: npt.NDArray[Any],
    price_precision: int,
    size_precision: int,
) -> OrderBookDeltas:
    """A :data:`BOOK_DELTA_DTYPE` batch (at the given precisions) as model deltas: the
    inverse of :func:`deltas_to_array`, for consumers of ``OrderBookDeltas`` objects.

    Raises
    ------
    InvalidValue
        An empty batch, or an action / side code outside its enum.
    """
    columns = (
        records[f].tolist()
        for f in (
            "action",
            "side",
            "price",
            "size",
            "order_id",
            "flags",
            "sequence",
            "ts_event",
            "ts_init",
        )
    )
    out = []
    for i, (action, side, price, size, order_id, flags, seq, ts_event, ts_init) in enumerate(
        zip(*columns, strict=True)
    ):
        try:
            book_action, book_side = _ACTIONS[action], _SIDES[side]
        except KeyError:
            raise InvalidValue(f"records[{i}]", (action, side), "unknown action or side") from None
        out.append(
            OrderBookDelta(
                instrument_id,
                book_action,
                book_side,
                Price.from_raw(price, price_precision),
                Quantity.from_raw(size, size_precision),
                order_id,
                flags,
                seq,
                ts_event,
                ts_init,
            )
        )
    return OrderBookDeltas(instrument_id, out)


_ACTIONS: Final = {int(a): a for a in BookAction}
_SIDES: Final = {int(s): s for s in OrderSide}

_ARROW_REQUIRED: Final = ("action", "side", "price", "size")
_ARROW_OPTIONAL: Final = ("ts_event", "ts_init", "sequence", "order_id", "flags")


def array_from_arrow(
    table: Any,
    *,
    price_precision: int | None = None,
    size_precision: int | None = None,
) -> npt.NDArray[np.void]:
    """Convert a ``pyarrow.Table`` of book deltas into a :data:`BOOK_DELTA_DTYPE` array.

    Columns: ``action``, ``side``, ``price``, ``size`` (required) and ``ts_event``,
    ``ts_init``, ``sequence``, ``order_id``, ``flags`` (0 when missing) -- the names of the
    ``book_deltas`` schema of :mod:`alphaforge.data`. Integer columns are raw values (used as
    they are); ``price``/``size`` may also be ``decimal128`` columns, converted exactly to
    ``price_precision`` / ``size_precision`` (default: the column's scale). Floating-point
    columns are rejected (they already lost decimal digits). One copy is made (Arrow is
    columnar, the record is a row).

    Raises
    ------
    ImportError
        pyarrow is not installed (it is optional).
    InvalidValue
        A missing required column, nulls, a float or otherwise unusable column.
    """
    try:
        import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
    except ImportError as exc:
        raise ImportError(
            "alphaforge.book.array_from_arrow needs pyarrow (an optional dependency): "
            "pip install pyarrow"
        ) from exc
    if not isinstance(table, pa.Table):
        raise InvalidValue("table", type(table).__name__, "must be a pyarrow.Table")
    names = set(table.column_names)
    missing = [c for c in _ARROW_REQUIRED if c not in names]
    if missing:
        raise InvalidValue("table", sorted(names), f"missing required column(s) {missing}")
    out = np.zeros(table.num_rows, dtype=BOOK_DELTA_DTYPE)
    targets = {"price": price_precision, "size": size_precision}
    for name in (*_ARROW_REQUIRED, *_ARROW_OPTIONAL):
        if name not in names:
            continue
        col = table.column(name)
        if col.null_count:
            raise InvalidValue(name, f"{col.null_count} nulls", "must not contain nulls")
        typ = col.type
        if pa.types.is_integer(typ):
            out[name] = col.to_numpy()
        elif pa.types.is_decimal(typ) and name in targets:
            target = targets[name]
            prec = typ.scale if target is None else target
            if not 0 <= prec <= 18:
                raise InvalidValue(f"{name}_precision", prec, "must be in 0..=18")
            raws = []
            for i, value in enumerate(col.to_pylist()):
                scaled = value.scaleb(prec)
                if scaled != scaled.to_integral_value():
                    raise PrecisionError(
                        f"{name}[{i}]", str(value), f"has more than {prec} fraction digits"
                    )
                raws.append(int(scaled))
            try:
                out[name] = raws
            except OverflowError:
                raise InvalidValue(
                    name, "a value", "does not fit int64 at that precision"
                ) from None
        else:
            raise InvalidValue(
                name,
                str(typ),
                "must be an integer column (raw values)"
                + (" or decimal128" if name in targets else ""),
            )
    return out
