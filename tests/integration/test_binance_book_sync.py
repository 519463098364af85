"""Rebuild the Binance USD-M BTCUSDT book from a REST snapshot plus diff-depth events and check
it against the venue's own top of book (bookTicker) on real data.

Data: ``market/binance/hftbacktest/usdm/btcusdt_20240808.gz`` of the shared data set, one
``<local_ts_ns> <json>`` per line: ``btcusdt@depth@0ms`` diffs (``U`` first / ``u`` last update
id, ``pu`` = previous event's ``u``), ``btcusdt@bookTicker``, trades, and one REST depth
snapshot (``lastUpdateId``, 1000 levels a side).

Sync rules (Binance USD-M "how to manage a local order book correctly"):

1. buffer the diffs (two arrive *before* the snapshot in this file and are needed);
2. drop every diff with ``u < lastUpdateId``;
3. the first applied diff must have ``U <= lastUpdateId <= u``;
4. afterwards every diff's ``pu`` must equal the previous diff's ``u``; otherwise the book is
   invalid: nothing more is applied and it must be resynced from a new snapshot;
5. quantities are absolute; 0 removes the level (an L2 UPDATE with the size / a DELETE).

Alignment with bookTicker: the diff stream is batched (an event every ~50 ms covering ~2,900
update ids) while bookTicker fires on *every* change of the best price or quantity (its ``u`` is
the book update id). So the book after a diff with last id ``u`` must equal the **latest
bookTicker whose id is <= u** -- a change of the top after that ticker and before ``u`` would
have produced a later ticker. That gives one exact comparison per applied diff. Tickers whose id
falls *inside* a diff's ``[U, u)`` range show intermediate states no diff exposes; they are only
compared in the other direction (tickers in the gaps between diffs equal the book exactly).
"""

from __future__ import annotations

import bisect
import functools
import gzip
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alphaforge.book import BOOK_DELTA_DTYPE, OrderBook
from alphaforge.model import F_LAST, F_SNAPSHOT, BookType, OrderSide

DATA = Path("market/binance/hftbacktest/usdm/btcusdt_20240808.gz")
PRICE_PRECISION, SIZE_PRECISION = 1, 3  # BTCUSDT USD-M: tick 0.10, step 0.001
ADD, UPDATE, DELETE, CLEAR = 1, 2, 3, 4


class BookOutOfSync(Exception):
    """The diff chain broke: the book must be resynced from a new snapshot."""


def raw(text: str, precision: int) -> int:
    value = Decimal(text).scaleb(precision)
    assert value == value.to_integral_value(), f"{text} has more than {precision} decimals"
    return int(value)


def to_array(rows: list[tuple[int, int, int, int, int, int]]) -> Any:
    """(action, side, price, size, sequence, flags) rows -> BOOK_DELTA_DTYPE array."""
    arr = np.zeros(len(rows), dtype=BOOK_DELTA_DTYPE)
    if rows:
        names = ("action", "side", "price", "size", "sequence", "flags")
        for name, col in zip(names, zip(*rows, strict=True), strict=True):
            arr[name] = col
    return arr


class BinanceBookSync:
    """Snapshot + diff-depth synchronisation of one native L2 book (rules in the module docs)."""

    def __init__(self) -> None:
        self.book = OrderBook("BTCUSDT.BINANCE", BookType.L2_MBP, PRICE_PRECISION, SIZE_PRECISION)
        self.last_update_id: int | None = None
        self.prev_u: int | None = None
        self.valid = False
        self.applied = 0
        self.dropped = 0

    def load_snapshot(self, snapshot: dict[str, Any]) -> None:
        lid = snapshot["lastUpdateId"]
        rows = [(CLEAR, 0, 0, 0, lid, F_SNAPSHOT)]
        for side, key in ((1, "bids"), (2, "asks")):
            rows += [
                (ADD, side, raw(p, PRICE_PRECISION), raw(q, SIZE_PRECISION), lid, F_SNAPSHOT)
                for p, q in snapshot[key]
            ]
        rows[-1] = (*rows[-1][:5], F_SNAPSHOT | F_LAST)
        self.book.reset()
        self.book.apply_batch(to_array(rows))
        self.last_update_id, self.prev_u, self.valid = lid, None, True

    def on_diff(self, d: dict[str, Any]) -> bool:
        """Apply one diff; False if it is dropped as older than the snapshot."""
        if not self.valid or self.last_update_id is None:
            raise BookOutOfSync("no valid snapshot: resync first")
        if d["u"] < self.last_update_id:
            self.dropped += 1
            return False
        if self.prev_u is None:
            if not d["U"] <= self.last_update_id <= d["u"]:
                self.valid = False
                raise BookOutOfSync(
                    f"first diff U={d['U']} u={d['u']} does not cover "
                    f"lastUpdateId={self.last_update_id}"
                )
        elif d["pu"] != self.prev_u:
            self.valid = False
            raise BookOutOfSync(f"diff pu={d['pu']} != previous u={self.prev_u}")
        rows = []
        for side, key in ((1, "b"), (2, "a")):
            for p, q in d[key]:
                size = raw(q, SIZE_PRECISION)
                rows.append(
                    (UPDATE if size else DELETE, side, raw(p, PRICE_PRECISION), size, d["u"], 0)
                )
        if rows:
            rows[-1] = (*rows[-1][:5], F_LAST)
            self.book.apply_batch(to_array(rows))
        self.prev_u = d["u"]
        self.applied += 1
        return True


@functools.lru_cache(maxsize=1)
def read(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    snapshot: dict[str, Any] | None = None
    diffs: list[dict[str, Any]] = []
    tickers: list[dict[str, Any]] = []
    with gzip.open(path, "rt") as fh:
        for line in fh:
            _, _, payload = line.partition(" ")
            if '"depthUpdate"' in payload:
                diffs.append(json.loads(payload)["data"])
            elif '"bookTicker"' in payload:
                tickers.append(json.loads(payload)["data"])
            elif '"lastUpdateId"' in payload:
                snapshot = json.loads(payload)
    assert snapshot is not None, "no REST snapshot in the file"
    return snapshot, diffs, tickers


def ticker_top(t: dict[str, Any]) -> tuple[int, int, int, int]:
    return (
        raw(t["b"], PRICE_PRECISION),
        raw(t["B"], SIZE_PRECISION),
        raw(t["a"], PRICE_PRECISION),
        raw(t["A"], SIZE_PRECISION),
    )


def _load(shared_data: Path) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    path = shared_data / DATA
    if not path.is_file():
        pytest.skip(f"{path} is not present")
    return read(path)


def test_snapshot_plus_diffs_match_every_book_ticker(shared_data: Path) -> None:
    snapshot, diffs, tickers = _load(shared_data)
    sync = BinanceBookSync()
    sync.load_snapshot(snapshot)
    assert sync.book.level_count(OrderSide.BUY) == len(snapshot["bids"]) == 1000

    tickers.sort(key=lambda t: t["u"])
    ticker_ids = [t["u"] for t in tickers]
    compared = matched = 0
    mismatches: list[tuple[int, tuple[int, ...], tuple[int, ...]]] = []
    boundaries: list[tuple[int, int, tuple[int, ...]]] = []  # (U, u, top after the diff)
    for d in diffs:
        if not sync.on_diff(d):
            continue
        top = sync.book.top_raw()
        assert top[4] == 3, "both sides present"
        boundaries.append((d["U"], d["u"], top[:4]))
        k = bisect.bisect_right(ticker_ids, d["u"]) - 1
        if k < 0:
            continue
        compared += 1
        expected = ticker_top(tickers[k])
        if top[:4] == expected:
            matched += 1
        elif len(mismatches) < 10:
            mismatches.append((d["u"], top[:4], expected))
        if sync.applied % 500 == 0:
            sync.book.check_integrity()

    sync.book.check_integrity()
    assert sync.valid
    assert sync.dropped == 4  # diffs older than the snapshot
    assert sync.applied == 6547
    rate = matched / compared
    print(
        f"\nBinance BTCUSDT sync: {sync.applied} diffs applied, {compared} compared with the "
        f"latest bookTicker, {matched} exact matches ({rate:.4%})"
    )
    assert compared == sync.applied
    assert rate >= 0.999, mismatches

    # The other direction: tickers between two diffs (u_k <= id < U_k+1) see a state the book
    # has exactly; tickers inside a diff's range see intermediate states and are not compared.
    starts = [b[0] for b in boundaries]
    exact = exact_ok = inside = 0
    for t in tickers:
        k = bisect.bisect_right(starts, t["u"]) - 1
        if k < 0 or t["u"] < boundaries[k][1]:
            inside += 1
            continue
        exact += 1
        exact_ok += boundaries[k][2] == ticker_top(t)
    print(f"tickers between diffs: {exact_ok}/{exact} match; {inside} inside a diff's range")
    assert exact > 500
    assert exact_ok == exact


def test_sync_rules(shared_data: Path) -> None:
    snapshot, diffs, _ = _load(shared_data)
    lid = snapshot["lastUpdateId"]
    usable = [d for d in diffs if d["u"] >= lid]

    # A first diff that does not straddle lastUpdateId is refused.
    sync = BinanceBookSync()
    sync.load_snapshot(snapshot)
    with pytest.raises(BookOutOfSync, match="does not cover"):
        sync.on_diff(usable[1])
    with pytest.raises(BookOutOfSync, match="resync"):
        sync.on_diff(usable[0])

    # A gap in the pu chain invalidates the book: nothing more is applied until a resync.
    sync = BinanceBookSync()
    sync.load_snapshot(snapshot)
    for d in usable[:10]:
        sync.on_diff(d)
    before = (sync.book.top_raw(), sync.book.sequence, sync.book.update_count)
    with pytest.raises(BookOutOfSync, match="pu="):
        sync.on_diff(usable[11])  # skips usable[10]
    assert not sync.valid
    with pytest.raises(BookOutOfSync):
        sync.on_diff(usable[12])
    assert (sync.book.top_raw(), sync.book.sequence, sync.book.update_count) == before

    # Resync: a fresh snapshot resets the book (also its sequence) and the chain.
    sync.load_snapshot(snapshot)
    assert sync.valid and sync.book.sequence == lid
    assert sync.on_diff(usable[0])
