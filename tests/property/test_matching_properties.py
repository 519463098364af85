"""The batch API of the native matching engine against a pure-Python reference (exchange mode).

The reference is a deliberately naive price-time book (a list scanned for the best maker) on
a smaller space than the Rust property test: limit (GTC/IOC/FOK) and market orders, cancel,
modify, three traders with cancel-resting self-trade prevention. Also: however a command
stream is cut into batches and however small the event buffer, the events are the same.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from alphaforge.matching import (
    COMMAND_DTYPE,
    EVENT_DTYPE,
    CommandFlag,
    CommandKind,
    MatchEventKind,
    MatchingEngine,
    Reason,
)
from alphaforge.model.enums import LiquiditySide, OrderSide, OrderType, TimeInForce

K = MatchEventKind
BUY, SELL = OrderSide.BUY, OrderSide.SELL

# (kind, client_order_id, venue_order_id, trade_id, price, qty, leaves, liquidity, reason)
Ev = tuple[int, int, int, int, int, int, int, int, int]


@dataclass
class _Order:
    id: int
    venue: int
    trader: int
    side: OrderSide
    market: bool
    tif: TimeInForce
    price: int
    qty: int
    filled: int = 0
    seq: int = 0

    @property
    def leaves(self) -> int:
        return self.qty - self.filled

    def crosses(self, other: int) -> bool:
        if self.market:
            return True
        return self.price >= other if self.side is BUY else self.price <= other


class Reference:
    """Naive exchange: a list of resting orders; best maker by scan."""

    def __init__(self) -> None:
        self.resting: list[_Order] = []
        self.events: list[Ev] = []
        self.venue = 0
        self.trade = 0
        self.seq = 0

    def _ev(self, kind: K, o: _Order, price: int, qty: int, leaves: int, **kw: int) -> None:
        self.events.append(
            (
                kind,
                o.id,
                o.venue,
                kw.get("trade", 0),
                price,
                qty,
                leaves,
                kw.get("liq", 0),
                kw.get("reason", 0),
            )
        )

    def _kill(self, o: _Order, reason: Reason) -> None:
        self._ev(K.CANCELED, o, o.price, o.leaves, 0, reason=reason)

    def _best(self, side: OrderSide) -> _Order | None:
        makers = [o for o in self.resting if o.side is side]
        if not makers:
            return None
        sign = -1 if side is BUY else 1
        return min(makers, key=lambda o: (sign * o.price, o.seq))

    def _find(self, oid: int) -> _Order | None:
        return next((o for o in self.resting if o.id == oid), None)

    def _next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def submit(self, oid: int, trader: int, side: OrderSide, market: bool, tif: TimeInForce,
               price: int, qty: int) -> None:  # fmt: skip
        price = 0 if market else price
        if self._find(oid) is not None:
            self.events.append(
                (K.REJECTED, oid, 0, 0, price, qty, 0, 0, Reason.DUPLICATE_CLIENT_ORDER_ID)
            )
            return
        self.venue += 1
        o = _Order(oid, self.venue, trader, side, market, tif, price, qty, seq=self._next_seq())
        self._ev(K.ACCEPTED, o, price, qty, qty)
        if tif is TimeInForce.FOK:
            opp = SELL if side is BUY else BUY
            avail = sum(
                m.leaves
                for m in self.resting
                if m.side is opp and o.crosses(m.price) and m.trader != trader
            )
            if avail < qty:
                self._kill(o, Reason.FOK_NOT_FILLABLE)
                return
        self._take(o)

    def _take(self, o: _Order) -> None:
        opp = SELL if o.side is BUY else BUY
        while o.leaves:
            m = self._best(opp)
            if m is None or not o.crosses(m.price):
                break
            if m.trader == o.trader:
                self.resting.remove(m)
                self._kill(m, Reason.SELF_TRADE)
                continue
            q = min(o.leaves, m.leaves)
            self.trade += 1
            o.filled += q
            m.filled += q
            for x, liq in ((o, LiquiditySide.TAKER), (m, LiquiditySide.MAKER)):
                kind = K.FILLED if x.leaves == 0 else K.PARTIALLY_FILLED
                self._ev(kind, x, m.price, q, x.leaves, trade=self.trade, liq=liq)
            if m.leaves == 0:
                self.resting.remove(m)
        if o.leaves == 0:
            return
        if o.market:
            self._kill(o, Reason.NO_LIQUIDITY)
        elif o.tif in (TimeInForce.IOC, TimeInForce.FOK):
            self._kill(o, Reason.IOC_REMAINDER)
        else:
            self.resting.append(o)

    def cancel(self, oid: int) -> None:
        o = self._find(oid)
        if o is None:
            self.events.append((K.CANCEL_REJECTED, oid, 0, 0, 0, 0, 0, 0, Reason.UNKNOWN_ORDER))
            return
        self.resting.remove(o)
        self._kill(o, Reason.REQUESTED)

    def modify(self, oid: int, price: int | None, qty: int | None) -> None:
        o = self._find(oid)
        if o is None:
            self.events.append((K.MODIFY_REJECTED, oid, 0, 0, 0, 0, 0, 0, Reason.UNKNOWN_ORDER))
            return
        if qty is not None and qty <= o.filled:
            self._ev(
                K.MODIFY_REJECTED, o, o.price, o.qty, o.leaves, reason=Reason.QUANTITY_BELOW_FILLED
            )
            return
        new_price = o.price if price is None else price
        new_qty = o.qty if qty is None else qty
        loses = new_price != o.price or new_qty > o.qty
        o.price, o.qty = new_price, new_qty
        self._ev(K.UPDATED, o, o.price, o.qty, o.leaves)
        if loses:
            o.seq = self._next_seq()
            self.resting.remove(o)
            self._take(o)


def trader_of(oid: int) -> int:
    return oid % 3 + 1


limit_op = st.tuples(
    st.just("limit"),
    st.integers(0, 15),
    st.sampled_from([BUY, SELL]),
    st.integers(97, 103),
    st.integers(1, 6),
    st.sampled_from([TimeInForce.GTC, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK]),
)
market_op = st.tuples(st.just("market"), st.integers(0, 15), st.sampled_from([BUY, SELL]),
                      st.integers(1, 6))  # fmt: skip
cancel_op = st.tuples(st.just("cancel"), st.integers(0, 15))
modify_op = st.tuples(
    st.just("modify"),
    st.integers(0, 15),
    st.none() | st.integers(97, 103),
    st.none() | st.integers(1, 8),
)
ops_strategy = st.lists(
    st.one_of(limit_op, limit_op, limit_op, market_op, cancel_op, modify_op), max_size=80
)


def to_commands(ops: list[tuple[Any, ...]]) -> np.ndarray:
    cmds = np.zeros(len(ops), dtype=COMMAND_DTYPE)
    for i, op in enumerate(ops):
        rec = cmds[i]
        rec["client_order_id"] = op[1]
        rec["trader_id"] = trader_of(op[1])
        if op[0] in ("limit", "market"):
            rec["kind"] = CommandKind.SUBMIT
            rec["side"] = op[2]
            if op[0] == "limit":
                rec["order_type"], rec["price"], rec["qty"], rec["time_in_force"] = (
                    OrderType.LIMIT, op[3], op[4], op[5],
                )  # fmt: skip
            else:
                rec["order_type"], rec["qty"] = OrderType.MARKET, op[3]
                rec["time_in_force"] = TimeInForce.IOC
        elif op[0] == "cancel":
            rec["kind"] = CommandKind.CANCEL
        else:
            rec["kind"] = CommandKind.MODIFY
            if op[2] is not None:
                rec["flags"] = CommandFlag.MODIFY_PRICE
                rec["price"] = op[2]
            rec["qty"] = op[3] or 0
    return cmds


def run_reference(ops: list[tuple[Any, ...]]) -> list[Ev]:
    ref = Reference()
    for op in ops:
        if op[0] == "limit":
            ref.submit(op[1], trader_of(op[1]), op[2], False, op[5], op[3], op[4])
        elif op[0] == "market":
            ref.submit(op[1], trader_of(op[1]), op[2], True, TimeInForce.IOC, 0, op[3])
        elif op[0] == "cancel":
            ref.cancel(op[1])
        else:
            ref.modify(op[1], op[2], op[3])
    return ref.events


def as_tuples(events: np.ndarray) -> list[Ev]:
    cols = ("kind", "client_order_id", "venue_order_id", "trade_id", "price", "qty", "leaves",
            "liquidity", "reason")  # fmt: skip
    return [tuple(int(e[c]) for c in cols) for e in events]  # type: ignore[misc]


@settings(max_examples=300, deadline=None)
@given(ops=ops_strategy)
def test_batch_api_matches_reference(ops: list[tuple[Any, ...]]) -> None:
    eng = MatchingEngine("exchange")
    assert eng.submit_batch(to_commands(ops)) == len(ops)
    assert as_tuples(eng.events()) == run_reference(ops)


@settings(max_examples=150, deadline=None)
@given(ops=ops_strategy, cuts=st.lists(st.integers(0, 80), max_size=6), cap=st.integers(1, 9))
def test_batching_and_buffer_size_do_not_change_events(
    ops: list[tuple[Any, ...]], cuts: list[int], cap: int
) -> None:
    cmds = to_commands(ops)
    whole = MatchingEngine("exchange")
    whole.submit_batch(cmds)
    expected = whole.events()

    pieces = MatchingEngine("exchange")
    buf = np.zeros(cap, dtype=EVENT_DTYPE)
    got = []
    bounds = sorted({0, len(cmds), *(c for c in cuts if c <= len(cmds))})
    for lo, hi in itertools.pairwise(bounds):
        pieces.submit_batch(cmds[lo:hi])
        n = pieces.drain_into(buf)  # often leaves events queued for later
        got.append(buf[:n].copy())
    while n := pieces.drain_into(buf):
        got.append(buf[:n].copy())
    assert np.array_equal(np.concatenate([expected[:0], *got]), expected)
    assert len(pieces) == len(whole)
