"""Binance diff-depth book synchronisation on top of the framework's
:class:`~alphaforge.adapters.BookSync` (which owns buffering, invalidation and resync).

Binance's documented rules ("How to manage a local order book correctly"):

=============  =====================================================  =========================
market         first event after the snapshot (``lastUpdateId`` L)    every later event
=============  =====================================================  =========================
Spot           drop ``u <= L``; apply iff ``U <= L + 1 <= u``         ``U == previous u + 1``
USD-M          drop ``u < L``; apply iff ``U <= L <= u`` (or          ``pu == previous u``
               ``pu == L``: a snapshot taken exactly at an event
               boundary, which the documented rule would reject)
=============  =====================================================  =========================

Books keep prices and sizes at :func:`~alphaforge_binance.market_data.book_precisions` (at
least 8 decimals), not the instrument's grid: real books hold orders placed before a tick or lot
change (the 2021 NKNUSDT capture has a bid at ``0.25974`` with a tick of 0.0001 and a size of
``11979.3`` with a lot step of 1).

Anything else is a gap: the framework marks the book invalid, applies nothing more, buffers
the stream and waits for a new snapshot. An event already covered (``u <= previous u``: a
duplicate) is dropped.
"""

from __future__ import annotations

from collections.abc import Callable

from alphaforge.adapters import BookSync, BookUpdate, Verdict
from alphaforge.data import MarketArray
from alphaforge.model import Instrument
from alphaforge_binance.common import BinanceMarket
from alphaforge_binance.market_data import book_precisions

__all__ = ["BinanceBookSync"]


class BinanceBookSync(BookSync):
    """Snapshot + diff-depth sync of one Binance book (spot or USD-M rules).

    Parameters
    ----------
    instrument
        The book's instrument (precisions come from it).
    market
        Which rule set applies.
    max_buffer, on_invalid, on_deltas
        As for :class:`~alphaforge.adapters.BookSync`.
    """

    def __init__(
        self,
        instrument: Instrument,
        market: BinanceMarket,
        *,
        max_buffer: int = 10_000,
        on_invalid: Callable[[str], None] | None = None,
        on_deltas: Callable[[MarketArray], None] | None = None,
    ) -> None:
        super().__init__(
            instrument.id,
            *book_precisions(instrument),
            max_buffer=max_buffer,
            on_invalid=on_invalid,
            on_deltas=on_deltas,
        )
        self.market = market

    def bridges(self, update: BookUpdate, snapshot_seq: int) -> Verdict:
        """Spot: ``U <= L+1 <= u`` (stale if ``u <= L``). USD-M: ``U <= L <= u`` (stale if
        ``u < L``)."""
        if self.market is BinanceMarket.SPOT:
            return super().bridges(update, snapshot_seq)
        if update.last_seq < snapshot_seq:
            return Verdict.STALE
        if update.first_seq <= snapshot_seq or update.prev_seq == snapshot_seq:
            return Verdict.APPLY
        return Verdict.GAP

    def follows(self, update: BookUpdate, last_seq: int) -> Verdict:
        """Spot: ``U == previous u + 1``. USD-M: ``pu == previous u``. Covered: stale."""
        if update.last_seq <= last_seq:
            return Verdict.STALE
        if self.market is BinanceMarket.SPOT:
            return Verdict.APPLY if update.first_seq == last_seq + 1 else Verdict.GAP
        return Verdict.APPLY if update.prev_seq == last_seq else Verdict.GAP
