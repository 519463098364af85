"""Random delta streams through ``OrderBook.apply_batch`` vs a pure-Python dict reference.

The reference implements the documented semantics (docs/order-books.md) directly: L2 books as
``{price: size}`` per side, L3 books as ``{order_id: [side, price, size, stamp]}`` with FIFO by
stamp. After every batch the depth (and for L3 every queue) must be identical, and a rejected
batch must report the index of the first bad delta and leave the book unchanged.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphaforge.book import BOOK_DELTA_DTYPE, BookDeltaError, OrderBook
from alphaforge.model import BookType, OrderSide

BUY, SELL = OrderSide.BUY, OrderSide.SELL
INT64_MAX = (1 << 63) - 1


def _price(k: int) -> st.SearchStrategy[int]:
    if k < 12:
        return st.integers(9_995, 10_005)  # few levels: deep queues, many hits
    if k < 17:
        return st.integers(9_900, 10_100)
    if k < 19:
        return st.integers(-(10**6), 10**6)
    return st.sampled_from([-(2**63), INT64_MAX])


# (action, side, price, size, order_id, sequence step, repair); weighted so that most deltas
# are valid (a batch is rejected only now and then) but every kind of fault occurs.
delta_strategy = st.tuples(
    st.sampled_from([1] * 20 + [2] * 28 + [3] * 14 + [4] * 2 + [0, 5]),
    st.sampled_from([1] * 60 + [2] * 60 + [0, 3]),
    st.integers(0, 19).flatmap(_price),
    st.sampled_from(list(range(1, 100)) * 2 + [0] * 4 + [INT64_MAX, -1]),
    st.integers(0, 12),
    st.sampled_from([0] * 30 + [1] * 18 + [2] * 6 + [-1]),
    st.sampled_from([True] * 9 + [False]),
)
batches_strategy = st.lists(st.lists(delta_strategy, max_size=12), min_size=1, max_size=20)


def common_fault(a: int, s: int, size: int, seq: int, last: int) -> bool:
    if seq < last or a not in (1, 2, 3, 4):
        return True
    if a == 4:
        return s > 2
    return s not in (1, 2) or size < 0 or (a == 1 and size == 0)


class RefL2:
    def __init__(self) -> None:
        self.sides: dict[int, dict[int, int]] = {1: {}, 2: {}}
        self.seq = 0

    def apply(self, a: int, s: int, p: int, size: int, oid: int, seq: int) -> bool:
        if common_fault(a, s, size, seq, self.seq):
            return False
        if a == 4:
            for side in (1, 2):
                if s in (0, side):
                    self.sides[side].clear()
        elif a in (1, 2) and size > 0:
            self.sides[s][p] = size
        else:
            self.sides[s].pop(p, None)
        self.seq = seq
        return True

    def levels(self, side: int) -> list[tuple[int, int]]:
        return sorted(self.sides[side].items(), reverse=side == 1)


class RefL3:
    def __init__(self) -> None:
        self.orders: dict[int, list[int]] = {}  # id -> [side, price, size, stamp]
        self.stamp = 0
        self.seq = 0

    def total(self, side: int, price: int, skip: int | None = None) -> int:
        return sum(
            o[2] for i, o in self.orders.items() if o[0] == side and o[1] == price and i != skip
        )

    def apply(self, a: int, s: int, p: int, size: int, oid: int, seq: int) -> bool:
        if common_fault(a, s, size, seq, self.seq):
            return False
        if a == 1:
            if oid in self.orders or self.total(s, p) + size > INT64_MAX:
                return False
            self.stamp += 1
            self.orders[oid] = [s, p, size, self.stamp]
        elif a == 2:
            o = self.orders.get(oid)
            if o is None or o[0] != s:
                return False
            if size == 0:
                del self.orders[oid]
            else:
                keeps = p == o[1] and size <= o[2]
                if not keeps and self.total(s, p, skip=oid) + size > INT64_MAX:
                    return False
                self.stamp += 1
                o[1], o[2] = p, size
                if not keeps:
                    o[3] = self.stamp
        elif a == 3:
            if self.orders.pop(oid, None) is None:
                return False
        else:
            self.orders = {i: o for i, o in self.orders.items() if s != 0 and o[0] != s}
        self.seq = seq
        return True

    def levels(self, side: int) -> list[tuple[int, int]]:
        totals: dict[int, int] = {}
        for o in self.orders.values():
            if o[0] == side:
                totals[o[1]] = totals.get(o[1], 0) + o[2]
        return sorted(totals.items(), reverse=side == 1)

    def queues(self) -> dict[int, tuple[int, int, int, int]]:
        """id -> (side, price, size, orders ahead)."""
        out = {}
        for i, o in self.orders.items():
            ahead = sum(
                1 for x in self.orders.values() if x[0] == o[0] and x[1] == o[1] and x[3] < o[3]
            )
            out[i] = (o[0], o[1], o[2], ahead)
        return out


def repair(batch: list[Any], ref: RefL3, fresh: list[int]) -> list[Any]:
    """Rewrite most L3 deltas against the reference state (random ids would almost always be
    missing or duplicate), so that deep FIFO queues and long valid streams happen."""
    sim = copy.deepcopy(ref)
    out = []
    seq = sim.seq
    for a, s, p, size, oid, step, fix in batch:
        if fix and s in (1, 2):
            if a in (2, 3) and not sim.orders:
                a, size = 1, max(size, 1)  # nothing to update yet: add instead
            if a == 1 and oid in sim.orders:
                fresh[0] += 1
                oid = fresh[0]
            elif a in (2, 3) and sim.orders:
                oid = list(sim.orders)[oid % len(sim.orders)]
                s = sim.orders[oid][0]
                if p % 2 == 0:
                    p = sim.orders[oid][1]
        seq = max(seq + step, 0)
        sim.apply(a, s, p, size, oid, seq)
        out.append((a, s, p, size, oid, step, fix))
    return out


def to_array(batch: list[Any], seq: int) -> tuple[Any, int]:
    arr = np.zeros(len(batch), dtype=BOOK_DELTA_DTYPE)
    seqs = []
    for d in batch:
        seq = max(seq + d[5], 0)
        seqs.append(seq)
    arr["action"] = [d[0] for d in batch]
    arr["side"] = [d[1] for d in batch]
    arr["price"] = [d[2] for d in batch]
    arr["size"] = [d[3] for d in batch]
    arr["order_id"] = [d[4] for d in batch]
    arr["sequence"] = seqs
    return arr, seq


def levels(book: OrderBook, side: OrderSide) -> list[tuple[int, int]]:
    prices, sizes = book.levels(side)
    return list(zip(prices.tolist(), sizes.tolist(), strict=True))


def run(book: OrderBook, ref: Any, batches: list[Any]) -> None:
    seq = 0
    fresh = [1000]
    for batch in batches:
        if isinstance(ref, RefL3):
            batch = repair(batch, ref, fresh)
        arr, seq = to_array(batch, seq)
        saved = copy.deepcopy(ref)
        expected = None
        for i, row in enumerate(arr.tolist()):
            _ts, _ti, sq, oid, p, size, a, s, _f, _pad = row
            if not ref.apply(a, s, p, size, oid, sq):
                expected = i
                break
        before = (levels(book, BUY), levels(book, SELL), book.sequence)
        if expected is None:
            assert book.apply_batch(arr) == len(arr)
        else:
            with pytest.raises(BookDeltaError) as info:
                book.apply_batch(arr)
            assert info.value.index == expected, (info.value, expected)
            assert (levels(book, BUY), levels(book, SELL), book.sequence) == before
            ref = saved
        assert levels(book, BUY) == ref.levels(1)
        assert levels(book, SELL) == ref.levels(2)
        assert book.sequence == ref.seq
        if isinstance(ref, RefL3):
            for oid, (side, price, size, ahead) in ref.queues().items():
                o = book.order(oid)
                assert o is not None
                assert (int(o.side), o.price.raw, o.size.raw, o.orders_ahead) == (
                    side,
                    price,
                    size,
                    ahead,
                )


@settings(max_examples=150, deadline=None)
@given(batches_strategy)
def test_l2_batches_match_dict_reference(batches: list[Any]) -> None:
    run(OrderBook("X.SIM", BookType.L2_MBP, 0, 0), RefL2(), batches)


@settings(max_examples=150, deadline=None)
@given(batches_strategy)
def test_l3_batches_match_dict_reference(batches: list[Any]) -> None:
    run(OrderBook("X.SIM", BookType.L3_MBO, 0, 0), RefL3(), batches)


@settings(max_examples=100, deadline=None)
@given(batches_strategy)
def test_single_deltas_equal_batches(batches: list[Any]) -> None:
    one = OrderBook("X.SIM", BookType.L2_MBP, 0, 0)
    many = OrderBook("X.SIM", BookType.L2_MBP, 0, 0)
    seq = 0
    for batch in batches:
        arr, seq = to_array(batch, seq)
        for i in range(len(arr)):
            r = arr[i]
            ok_one = ok_many = True
            try:
                one.apply_raw(
                    int(r["action"]),
                    int(r["side"]),
                    int(r["price"]),
                    int(r["size"]),
                    int(r["order_id"]),
                    int(r["sequence"]),
                )
            except BookDeltaError:
                ok_one = False
            try:
                many.apply_batch(arr[i : i + 1])
            except BookDeltaError:
                ok_many = False
            assert ok_one == ok_many
    assert levels(one, BUY) == levels(many, BUY)
    assert levels(one, SELL) == levels(many, SELL)
