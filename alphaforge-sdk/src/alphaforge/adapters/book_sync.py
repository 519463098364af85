"""The framework-enforced book rule: a book whose sequence (or checksum) breaks is marked
invalid, nothing more is applied, the stream is buffered, and the book is rebuilt from a fresh
snapshot.

Adapters parse venue messages into :class:`BookSnapshot` and :class:`BookUpdate` (raw integer
prices and sizes at the book's precisions, absolute level sizes, ``0`` = remove the level) and
feed them to a :class:`BookSync`. A venue only supplies its *rules* -- two small methods:

- :meth:`BookSync.bridges` -- is this the first update after snapshot ``S``? (``APPLY``),
  already covered by it (``STALE``), or does it start after a hole (``GAP``)?
- :meth:`BookSync.follows` -- the same for an update after update ``last``;

plus, for checksum venues, :meth:`BookSync.verify`. Everything else -- the state machine,
buffering while unsynced, ordering the buffer on replay, dropping duplicates, refusing to apply
anything once invalid, atomic batches on the native :class:`~alphaforge.book.OrderBook` -- is
done here, identically for every venue.

States::

    AWAITING_SNAPSHOT --on_snapshot--> SYNCED --gap / bad checksum / rejected batch--> INVALID
           ^   (updates are buffered)                                    (updates are buffered)
           +---------------------------- on_snapshot <------------------------------+

Checksum-only venues (no SEQUENCE in :attr:`BookSync.integrity`, e.g. Kraken) cannot tell a
stale update from a new one, so while unsynced their updates are dropped, not buffered: the
venue's next (in-stream) snapshot is the only way back.

``needs_snapshot`` is true outside ``SYNCED``; the live data client then fetches a snapshot
(REST, or waits for the venue's in-stream snapshot) and calls :meth:`BookSync.on_snapshot`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, ClassVar, Final

import attrs
import numpy as np

from alphaforge.adapters.capabilities import BookIntegrity
from alphaforge.book import BOOK_DELTA_DTYPE, OrderBook
from alphaforge.data.arrays import MarketArray
from alphaforge.data.schemas import DataType
from alphaforge.errors import InvalidValue
from alphaforge.model.data import F_LAST, F_SNAPSHOT
from alphaforge.model.enums import BookAction, BookType, OrderSide
from alphaforge.model.identifiers import InstrumentId

__all__ = [
    "BookSnapshot",
    "BookSync",
    "BookSyncStats",
    "BookUpdate",
    "Level",
    "SyncResult",
    "SyncState",
    "Verdict",
]

Level = tuple[int, int]
"""``(price_raw, size_raw)`` at the book's precisions; size ``0`` removes the level."""

_ADD: Final = int(BookAction.ADD)
_UPDATE: Final = int(BookAction.UPDATE)
_DELETE: Final = int(BookAction.DELETE)
_CLEAR: Final = int(BookAction.CLEAR)
_BID: Final = int(OrderSide.BUY)
_ASK: Final = int(OrderSide.SELL)
_U64_MAX: Final = (1 << 64) - 1


def _levels(value: object) -> tuple[Level, ...]:
    if isinstance(value, tuple):
        return value
    if isinstance(value, list):
        return tuple(value)
    raise InvalidValue("levels", value, "must be a tuple of (price_raw, size_raw)")


def _seq(value: object, name: str) -> None:
    if type(value) is not int or not 0 <= value <= _U64_MAX:
        raise InvalidValue(name, value, "must be an int in uint64 range")


@attrs.frozen(kw_only=True, slots=True)
class BookSnapshot:
    """A full L2 book at ``sequence`` (a REST depth response or an in-stream snapshot).

    Parameters
    ----------
    instrument_id
        The book's instrument.
    sequence
        The venue's update id the snapshot reflects (Binance ``lastUpdateId``; ``0`` for
        checksum-only venues).
    bids, asks
        ``(price_raw, size_raw)`` levels at the book's precisions (any order, sizes ``> 0``).
    ts_event
        Venue time of the snapshot (ns), ``0`` if unknown.
    """

    instrument_id: InstrumentId
    sequence: int
    bids: tuple[Level, ...] = attrs.field(converter=_levels)
    asks: tuple[Level, ...] = attrs.field(converter=_levels)
    ts_event: int = 0

    def __attrs_post_init__(self) -> None:
        _seq(self.sequence, "sequence")
        _seq(self.ts_event, "ts_event")


@attrs.frozen(kw_only=True, slots=True)
class BookUpdate:
    """One venue book message: absolute level sizes covering update ids ``first_seq..last_seq``.

    Parameters
    ----------
    instrument_id
        The book's instrument.
    first_seq, last_seq
        First and last update id the message covers (equal for one-id-per-message venues;
        both ``0`` for checksum-only venues).
    prev_seq
        The ``last_seq`` of the venue's previous message when the venue says it (Binance USD-M
        ``pu``, OKX ``prevSeqId``), else ``None``.
    bids, asks
        ``(price_raw, size_raw)`` changes at the book's precisions; size ``0`` removes.
    ts_event
        Venue time (ns).
    checksum
        The venue's checksum of the book after this update (CRC32 venues), else ``None``.
    """

    instrument_id: InstrumentId
    first_seq: int
    last_seq: int
    bids: tuple[Level, ...] = attrs.field(converter=_levels)
    asks: tuple[Level, ...] = attrs.field(converter=_levels)
    prev_seq: int | None = None
    ts_event: int = 0
    checksum: int | None = None

    def __attrs_post_init__(self) -> None:
        _seq(self.first_seq, "first_seq")
        _seq(self.last_seq, "last_seq")
        if self.first_seq > self.last_seq:
            raise InvalidValue("first_seq", self.first_seq, f"must be <= last_seq {self.last_seq}")
        if self.prev_seq is not None:
            _seq(self.prev_seq, "prev_seq")
        _seq(self.ts_event, "ts_event")


class Verdict(enum.Enum):
    """A venue rule's answer about one update."""

    APPLY = "apply"
    """The update continues the book exactly: apply it."""
    STALE = "stale"
    """Everything in it is already reflected (older than the snapshot, or a duplicate)."""
    GAP = "gap"
    """Updates are missing between the book and this one: the book cannot continue."""


class SyncState(enum.Enum):
    """Where a :class:`BookSync` is."""

    AWAITING_SNAPSHOT = "awaiting_snapshot"
    SYNCED = "synced"
    INVALID = "invalid"


class SyncResult(enum.Enum):
    """What :meth:`BookSync.on_update` did with one update."""

    APPLIED = "applied"
    BUFFERED = "buffered"
    DROPPED = "dropped"
    INVALIDATED = "invalidated"


@attrs.define(slots=True)
class BookSyncStats:
    """Counters of a :class:`BookSync` (monotonic over its lifetime)."""

    applied: int = 0
    dropped: int = 0
    buffered: int = 0
    buffer_overflows: int = 0
    snapshots: int = 0
    invalidations: int = 0


class BookSync:
    """Snapshot + stream synchronisation of one native L2 book, with the venue's rules.

    The base class implements the most common sequence rule (Binance spot, Coinbase): the
    first update must cover ``snapshot + 1`` and each later one must start at ``last + 1``,
    or chain with ``prev_seq == last`` when the venue sends it. Venues override
    :meth:`bridges` / :meth:`follows` (and :meth:`verify` for checksums) -- never the state
    machine.

    Parameters
    ----------
    instrument_id
        The book's instrument.
    price_precision, size_precision
        The book's precisions (the raw values of snapshots and updates are at these).
    max_buffer
        Updates kept while unsynced; beyond it the oldest are dropped (counted in
        ``stats.buffer_overflows``; the resync then needs a newer snapshot, which the venue
        rules detect as a gap).
    on_invalid
        Called with the reason whenever the book becomes invalid (health monitor, resync
        trigger). Must not raise.
    on_deltas
        Called with every change once applied, as one ``book_deltas``
        :class:`~alphaforge.data.MarketArray` batch at the book's precisions (a snapshot as
        CLEAR + ADDs flagged ``F_SNAPSHOT``, an update as UPDATE / DELETEs): what a live
        node's data engine keeps its book from. Must not raise.

    Raises
    ------
    InvalidValue
        Bad precision, instrument id or ``max_buffer``.
    """

    integrity: ClassVar[frozenset[BookIntegrity]] = frozenset({BookIntegrity.SEQUENCE})
    """How this venue's books are checked; without SEQUENCE every update is APPLY."""

    def __init__(
        self,
        instrument_id: InstrumentId,
        price_precision: int,
        size_precision: int,
        *,
        max_buffer: int = 10_000,
        on_invalid: Callable[[str], None] | None = None,
        on_deltas: Callable[[MarketArray], None] | None = None,
    ) -> None:
        if type(max_buffer) is not int or max_buffer < 1:
            raise InvalidValue("max_buffer", max_buffer, "must be a positive int")
        self._book = OrderBook(instrument_id, BookType.L2_MBP, price_precision, size_precision)
        self._iid = self._book.instrument_id
        self._state = SyncState.AWAITING_SNAPSHOT
        self._reason = "no snapshot yet"
        self._bridged = False
        self._snapshot_seq = 0
        self._last = 0
        self._buffer: list[BookUpdate] = []
        self._max_buffer = max_buffer
        self._on_invalid = on_invalid
        self._on_deltas = on_deltas
        self.stats = BookSyncStats()

    # -- read-only view ----------------------------------------------------------------------

    @property
    def book(self) -> OrderBook:
        """The native book (read it; never apply to it directly)."""
        return self._book

    @property
    def instrument_id(self) -> InstrumentId:
        """The book's instrument."""
        return self._iid

    @property
    def state(self) -> SyncState:
        """The synchronisation state."""
        return self._state

    @property
    def is_valid(self) -> bool:
        """Whether the book reflects the venue (state SYNCED)."""
        return self._state is SyncState.SYNCED

    @property
    def needs_snapshot(self) -> bool:
        """Whether a snapshot must be fetched (state is not SYNCED)."""
        return self._state is not SyncState.SYNCED

    @property
    def reason(self) -> str:
        """Why the book is not synced (empty when synced)."""
        return self._reason

    @property
    def last_sequence(self) -> int:
        """The ``last_seq`` of the last applied update (the snapshot's before any)."""
        return self._last

    @property
    def buffered(self) -> int:
        """Number of updates waiting for a snapshot."""
        return len(self._buffer)

    # -- venue rules (override) ----------------------------------------------------------------

    def bridges(self, update: BookUpdate, snapshot_seq: int) -> Verdict:
        """Rule for the first update after a snapshot at ``snapshot_seq``.

        Default: STALE if ``last_seq <= snapshot_seq``; APPLY if
        ``first_seq <= snapshot_seq + 1 <= last_seq``; else GAP.
        """
        if update.last_seq <= snapshot_seq:
            return Verdict.STALE
        if update.first_seq <= snapshot_seq + 1:
            return Verdict.APPLY
        return Verdict.GAP

    def follows(self, update: BookUpdate, last_seq: int) -> Verdict:
        """Rule for an update after an applied update ending at ``last_seq``.

        Default: STALE if ``last_seq`` already covers it (a duplicate); with ``prev_seq``:
        APPLY iff ``prev_seq == last_seq``; without: APPLY iff ``first_seq == last_seq + 1``;
        else GAP.
        """
        if update.last_seq <= last_seq:
            return Verdict.STALE
        if update.prev_seq is not None:
            return Verdict.APPLY if update.prev_seq == last_seq else Verdict.GAP
        return Verdict.APPLY if update.first_seq == last_seq + 1 else Verdict.GAP

    def verify(self, update: BookUpdate) -> bool:
        """Checksum venues: whether :attr:`book` (after ``update``) matches the venue's checksum.

        Default: ``True`` (no checksum).
        """
        return True

    # -- driving -------------------------------------------------------------------------------

    def on_snapshot(self, snapshot: BookSnapshot) -> int:
        """Rebuild the book from ``snapshot`` and replay the buffered updates in sequence order.

        Returns
        -------
        int
            The number of buffered updates applied.

        Raises
        ------
        InvalidValue
            Snapshot for another instrument or with invalid levels; nothing changed.
        """
        if type(snapshot) is not BookSnapshot:
            raise InvalidValue("snapshot", snapshot, "must be a BookSnapshot")
        if snapshot.instrument_id != self._iid:
            raise InvalidValue(
                "snapshot.instrument_id", str(snapshot.instrument_id), f"book is {self._iid}"
            )
        rows = [(_ADD, _BID, p, s) for p, s in snapshot.bids]
        rows += [(_ADD, _ASK, p, s) for p, s in snapshot.asks]
        batch = _array(rows, snapshot.sequence, snapshot.ts_event, F_SNAPSHOT)
        if any(s <= 0 for _, _, _, s in rows):
            raise InvalidValue("snapshot", "a level", "snapshot sizes must be > 0")
        # Validate against a scratch book first: the live one stays untouched on error.
        book = self._book
        scratch = OrderBook(self._iid, BookType.L2_MBP, book.price_precision, book.size_precision)
        if batch is not None:
            scratch.apply_batch(batch)  # raises InvalidValue (BookDeltaError) on a bad level
        book.reset()
        if batch is not None:
            book.apply_batch(batch)
        if self._on_deltas is not None:  # as one batch: CLEAR, then the levels
            clear = [(_CLEAR, 0, 0, 0)]
            self._on_deltas(self._deltas(_array(clear + rows, snapshot.sequence,
                                                snapshot.ts_event, F_SNAPSHOT)))  # fmt: skip
        self.stats.snapshots += 1
        self._state, self._reason = SyncState.SYNCED, ""
        self._bridged = False
        self._snapshot_seq = self._last = snapshot.sequence
        pending = sorted(self._buffer, key=lambda u: (u.last_seq, u.first_seq))
        self._buffer = []
        applied = 0
        for i, update in enumerate(pending):
            result = self._step(update)
            if result is SyncResult.APPLIED:
                applied += 1
            elif result is SyncResult.INVALIDATED:
                self._buffer = pending[i:]  # the breaking update and the rest wait again
                break
        return applied

    def on_update(self, update: BookUpdate) -> SyncResult:
        """Apply, buffer or drop one update according to the state and the venue rules.

        Raises
        ------
        InvalidValue
            Not a :class:`BookUpdate` of this instrument; nothing changed.
        """
        if type(update) is not BookUpdate:
            raise InvalidValue("update", update, "must be a BookUpdate")
        if update.instrument_id != self._iid:
            raise InvalidValue(
                "update.instrument_id", str(update.instrument_id), f"book is {self._iid}"
            )
        sequenced = BookIntegrity.SEQUENCE in self.integrity
        if self._state is not SyncState.SYNCED:
            if not sequenced:  # without ids nothing tells a stale update: the snapshot rules
                self.stats.dropped += 1
                return SyncResult.DROPPED
            self._buffer_update(update)
            return SyncResult.BUFFERED
        result = self._step(update)
        if result is SyncResult.INVALIDATED and sequenced:
            self._buffer_update(update)
        return result

    def invalidate(self, reason: str) -> None:
        """Mark the book invalid (e.g. the stream disconnected); it waits for a snapshot."""
        if self._state is SyncState.SYNCED:
            self.stats.invalidations += 1
            self._state = SyncState.INVALID
            self._reason = reason
            if self._on_invalid is not None:
                self._on_invalid(reason)
        elif not self._reason:
            self._reason = reason

    # -- internals -----------------------------------------------------------------------------

    def _buffer_update(self, update: BookUpdate) -> None:
        buffer = self._buffer
        if len(buffer) >= self._max_buffer:
            del buffer[0]
            self.stats.buffer_overflows += 1
        buffer.append(update)
        self.stats.buffered += 1

    def _step(self, update: BookUpdate) -> SyncResult:
        """Judge and apply one update while SYNCED."""
        if BookIntegrity.SEQUENCE not in self.integrity:
            verdict = Verdict.APPLY
        elif self._bridged:
            verdict = self.follows(update, self._last)
        else:
            verdict = self.bridges(update, self._snapshot_seq)
        if verdict is Verdict.STALE:
            self.stats.dropped += 1
            return SyncResult.DROPPED
        if verdict is Verdict.GAP:
            where = (
                f"after update {self._last}"
                if self._bridged
                else (f"after snapshot {self._snapshot_seq}")
            )
            self._invalidate_gap(
                f"sequence gap: update {update.first_seq}..{update.last_seq}"
                f"{'' if update.prev_seq is None else f' (prev {update.prev_seq})'} {where}",
                snapshot_too_old=not self._bridged,
            )
            return SyncResult.INVALIDATED
        rows = [(_UPDATE if s else _DELETE, _BID, p, s) for p, s in update.bids]
        rows += [(_UPDATE if s else _DELETE, _ASK, p, s) for p, s in update.asks]
        batch = _array(rows, update.last_seq, update.ts_event, 0)
        if batch is not None:
            try:
                self._book.apply_batch(batch)
            except InvalidValue as exc:  # atomic: the book is unchanged
                self.invalidate(f"update {update.last_seq} rejected by the book: {exc}")
                return SyncResult.INVALIDATED
        self._bridged = True
        self._last = update.last_seq
        if not self.verify(update):
            self.invalidate(f"checksum mismatch after update {update.last_seq}")
            return SyncResult.INVALIDATED
        if batch is not None and self._on_deltas is not None:
            self._on_deltas(self._deltas(batch))
        self.stats.applied += 1
        return SyncResult.APPLIED

    def _deltas(self, batch: Any) -> MarketArray:
        book = self._book
        return MarketArray(DataType.BOOK_DELTAS, self._iid.value, batch, book.price_precision,
                           book.size_precision)  # fmt: skip

    def _invalidate_gap(self, reason: str, *, snapshot_too_old: bool) -> None:
        if snapshot_too_old:
            reason += " (the snapshot is older than the buffered stream: fetch a newer one)"
        self.invalidate(reason)


def _array(rows: list[tuple[int, int, int, int]], sequence: int, ts: int, flags: int) -> Any:
    """Rows of (action, side, price, size) -> a BOOK_DELTA_DTYPE batch (None when empty)."""
    n = len(rows)
    if not n:
        return None
    arr = np.zeros(n, dtype=BOOK_DELTA_DTYPE)
    action, side, price, size = zip(*rows, strict=True)
    arr["action"] = action
    arr["side"] = side
    try:
        arr["price"] = price
        arr["size"] = size
    except OverflowError:
        raise InvalidValue("levels", "a price or size", "does not fit int64") from None
    arr["sequence"] = sequence
    arr["ts_event"] = ts
    arr["ts_init"] = ts
    arr["flags"] = flags
    arr["flags"][-1] = flags | F_LAST
    return arr
