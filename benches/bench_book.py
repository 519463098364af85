"""Order books: batched L2 apply, single-delta latency, top-of-book queries, book walk.

Workloads (benches/workloads.py): the seeded synthetic stream (1,000,000 L2 deltas, ~20
levels per side around 50,000.00, tick 0.01) and, when the shared data set is present, the
Binance USD-M BTCUSDT diff-depth stream (snapshot + 6.5k diffs, ~445k deltas).

Records (impl ``alphaforge`` and, when importable, ``nautilus_trader`` on the same data):

- ``book.l2_batch_<workload>`` throughput (M deltas/s): alphaforge ``apply_batch`` of the whole
  numpy array into a fresh book; nautilus ``OrderBook.apply_deltas`` of one pre-built
  ``OrderBookDeltas`` (building the objects is not timed). Also ``book.l2_loop_<workload>``:
  nautilus ``apply_delta`` per pre-built delta in a Python loop (how a nautilus user streams).
- ``book.l2_apply_one`` p50/p99 (ns): one model ``OrderBookDelta`` applied per call
  (alphaforge ``OrderBook.apply``, nautilus ``apply_delta``); ``book.l2_apply_one_raw``:
  alphaforge ``apply_raw`` with plain ints (no model objects).
- ``book.best_bid_price`` / ``book.best_ask_price`` (ns per call, returning a ``Price``),
  ``book.top_raw`` (alphaforge: the four raw top-of-book ints).
- ``book.avg_px_10btc`` (ns per call): average fill price for 10 BTC on the Binance book.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from harness import per_call_ns, percentiles_ns
from workloads import (
    BINANCE_FILE,
    BINANCE_PRICE_PRECISION,
    BINANCE_SIZE_PRECISION,
    SYNTHETIC_PRICE_PRECISION,
    SYNTHETIC_SIZE_PRECISION,
    binance_l2,
    synthetic_l2,
)

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
IID = "BTCUSDT.BINANCE"
SINGLE_N = 100_000


def _workloads() -> list[tuple[str, Any, int, int]]:
    out = [("synthetic", synthetic_l2(), SYNTHETIC_PRICE_PRECISION, SYNTHETIC_SIZE_PRECISION)]
    path = SHARED_DATA / BINANCE_FILE
    if path.is_file():
        out.append(("binance", binance_l2(path), BINANCE_PRICE_PRECISION, BINANCE_SIZE_PRECISION))
    return out


# -- alphaforge -----------------------------------------------------------------------------


def _af_book(pp: int, sp: int) -> Any:
    from alphaforge.book import OrderBook
    from alphaforge.model import BookType

    return OrderBook(IID, BookType.L2_MBP, pp, sp)


def _af_model_deltas(arr: Any, pp: int, sp: int) -> list[Any]:
    from alphaforge.model import (
        BookAction,
        InstrumentId,
        OrderBookDelta,
        OrderSide,
        Price,
        Quantity,
    )

    iid = InstrumentId.from_str(IID)
    actions = {int(a): a for a in BookAction}
    sides = {int(s): s for s in OrderSide}
    prices: dict[int, Any] = {}
    sizes: dict[int, Any] = {}
    out = []
    for ts, ti, seq, oid, p, s, a, sd, f, _ in arr.tolist():
        price = prices.get(p) or prices.setdefault(p, Price.from_raw(p, pp))
        size = sizes.get(s) or sizes.setdefault(s, Quantity.from_raw(s, sp))
        out.append(OrderBookDelta(iid, actions[a], sides[sd], price, size, oid, f, seq, ts, ti))
    return out


# -- nautilus_trader ------------------------------------------------------------------------


def _nt_book() -> Any:
    from nautilus_trader.model.book import OrderBook
    from nautilus_trader.model.enums import BookType
    from nautilus_trader.model.identifiers import InstrumentId

    return OrderBook(InstrumentId.from_str(IID), BookType.L2_MBP)


def _nt_deltas(arr: Any, pp: int, sp: int) -> list[Any]:
    from nautilus_trader.model import objects
    from nautilus_trader.model.data import BookOrder, OrderBookDelta
    from nautilus_trader.model.enums import BookAction, OrderSide
    from nautilus_trader.model.identifiers import InstrumentId
    from nautilus_trader.model.objects import Price, Quantity

    iid = InstrumentId.from_str(IID)
    pscale, sscale = 10 ** (objects.FIXED_PRECISION - pp), 10 ** (objects.FIXED_PRECISION - sp)
    actions = {1: BookAction.ADD, 2: BookAction.UPDATE, 3: BookAction.DELETE, 4: BookAction.CLEAR}
    sides = {1: OrderSide.BUY, 2: OrderSide.SELL}
    prices: dict[int, Any] = {}
    sizes: dict[int, Any] = {}
    out = []
    for ts, ti, seq, oid, p, s, a, sd, f, _ in arr.tolist():
        if a == 4:
            out.append(OrderBookDelta(iid, BookAction.CLEAR, None, f, seq, ts, ti))
            continue
        price = prices.get(p) or prices.setdefault(p, Price.from_raw(p * pscale, pp))
        size = sizes.get(s) or sizes.setdefault(s, Quantity.from_raw(s * sscale, sp))
        order = BookOrder(sides[sd], price, size, oid)
        out.append(OrderBookDelta(iid, actions[a], order, f, seq, ts, ti))
    return out


# -- runner ---------------------------------------------------------------------------------


def _throughput(ctx: Any, name: str, impl: str, n: int, make: Any, apply: Any) -> Any:
    samples = []
    book = None
    for _ in range(ctx.repeats(5)):
        book = make()
        start = time.perf_counter_ns()
        apply(book)
        samples.append(time.perf_counter_ns() - start)
    samples.sort()
    ns = samples[len(samples) // 2] / n
    ctx.record(name, impl, "throughput", 1e3 / ns, "M deltas/s")
    return book


def run(ctx: Any) -> None:
    if not any(
        ctx.wants(n)
        for n in (
            "book.l2_batch",
            "book.l2_loop",
            "book.l2_apply_one",
            "book.best_",
            "book.top_",
            "book.avg_px",
        )
    ):
        return
    nautilus = ctx.peer("nautilus_trader") is not None
    books: dict[str, tuple[Any, Any, int, int]] = {}
    for wname, arr, pp, sp in _workloads():
        n = len(arr)
        af_book = (
            _throughput(
                ctx,
                f"book.l2_batch_{wname}",
                "alphaforge",
                n,
                lambda pp=pp, sp=sp: _af_book(pp, sp),
                lambda b, arr=arr: b.apply_batch(arr),
            )
            if ctx.wants(f"book.l2_batch_{wname}")
            else None
        )
        nt_book = None
        if nautilus and (ctx.wants(f"book.l2_batch_{wname}") or ctx.wants(f"book.l2_loop_{wname}")):
            from nautilus_trader.model.data import OrderBookDeltas
            from nautilus_trader.model.identifiers import InstrumentId

            nt_list = _nt_deltas(arr, pp, sp)
            if ctx.wants(f"book.l2_batch_{wname}"):
                batch = OrderBookDeltas(InstrumentId.from_str(IID), nt_list)
                nt_book = _throughput(
                    ctx,
                    f"book.l2_batch_{wname}",
                    "nautilus_trader",
                    n,
                    _nt_book,
                    lambda b, batch=batch: b.apply_deltas(batch),
                )
            if ctx.wants(f"book.l2_loop_{wname}"):

                def loop(b: Any, nt_list: list[Any] = nt_list) -> None:
                    apply = b.apply_delta
                    for d in nt_list:
                        apply(d)

                nt_book = _throughput(
                    ctx, f"book.l2_loop_{wname}", "nautilus_trader", n, _nt_book, loop
                )
            del nt_list
        if af_book is not None:
            books[wname] = (af_book, nt_book, pp, sp)

    synthetic = synthetic_l2()
    head = synthetic[:SINGLE_N]
    pp, sp = SYNTHETIC_PRICE_PRECISION, SYNTHETIC_SIZE_PRECISION
    if ctx.wants("book.l2_apply_one"):
        model = _af_model_deltas(head, pp, sp)
        book = _af_book(pp, sp)
        it = iter(model)
        p50, p99 = percentiles_ns(lambda: book.apply(next(it)), len(model))
        ctx.record("book.l2_apply_one", "alphaforge", "p50", p50, "ns")
        ctx.record("book.l2_apply_one", "alphaforge", "p99", p99, "ns")
        rows = head.tolist()
        book = _af_book(pp, sp)
        apply_raw = book.apply_raw
        rit = iter(rows)

        def one_raw() -> None:
            _ts, _ti, seq, oid, p, s, a, sd, f, _ = next(rit)
            apply_raw(a, sd, p, s, oid, seq, _ts, f)

        p50, p99 = percentiles_ns(one_raw, len(rows))
        ctx.record("book.l2_apply_one_raw", "alphaforge", "p50", p50, "ns")
        ctx.record("book.l2_apply_one_raw", "alphaforge", "p99", p99, "ns")
        if nautilus:
            nt_model = _nt_deltas(head, pp, sp)
            nt = _nt_book()
            nit = iter(nt_model)
            apply = nt.apply_delta
            p50, p99 = percentiles_ns(lambda: apply(next(nit)), len(nt_model))
            ctx.record("book.l2_apply_one", "nautilus_trader", "p50", p50, "ns")
            ctx.record("book.l2_apply_one", "nautilus_trader", "p99", p99, "ns")

    # Top-of-book queries on the synthetic book after the whole stream.
    af = _af_book(pp, sp)
    af.apply_batch(synthetic)
    nt = books["synthetic"][1] if "synthetic" in books else None
    if nautilus and nt is None and ctx.wants("book.best_"):
        nt = _nt_book()
        for d in _nt_deltas(synthetic, pp, sp):
            nt.apply_delta(d)
    for name in ("best_bid_price", "best_ask_price"):
        if ctx.wants(f"book.{name}"):
            ns = per_call_ns(getattr(af, name), 200_000, ctx.repeats(7))
            ctx.record(f"book.{name}", "alphaforge", "latency", ns, "ns")
            if nt is not None:
                ns = per_call_ns(getattr(nt, name), 200_000, ctx.repeats(7))
                ctx.record(f"book.{name}", "nautilus_trader", "latency", ns, "ns")
    if ctx.wants("book.top_raw"):
        ns = per_call_ns(af.top_raw, 200_000, ctx.repeats(7))
        ctx.record("book.top_raw", "alphaforge", "latency", ns, "ns")

    if ctx.wants("book.avg_px") and "binance" in books:
        from alphaforge.model import OrderSide, Quantity

        af_b = books["binance"][0]
        qty = Quantity("10.000")
        ns = per_call_ns(lambda: af_b.avg_fill_price(OrderSide.BUY, qty), 20_000, ctx.repeats(5))
        ctx.record("book.avg_px_10btc", "alphaforge", "latency", ns, "ns")
        nt_b = books["binance"][1]
        if nt_b is not None:
            from nautilus_trader.model.enums import OrderSide as NtSide
            from nautilus_trader.model.objects import Quantity as NtQuantity

            nq = NtQuantity.from_str("10.000")
            ns = per_call_ns(
                lambda: nt_b.get_avg_px_for_quantity(nq, NtSide.BUY), 20_000, ctx.repeats(5)
            )
            ctx.record("book.avg_px_10btc", "nautilus_trader", "latency", ns, "ns")
