"""Seeded order-book workloads shared by the benchmarks (and anyone who needs a delta stream).

``synthetic_l2()`` -- the reference workload of the order-book benchmarks: 1,000,000 L2 deltas
on a book of ~20 levels per side around 50,000.00 with a 0.01 tick (price precision 2, size
precision 3), from a fixed seed. A mid-price random walk: 80 % of the deltas UPDATE a level near
the top (the depth offset is geometric, so the best levels move most), the rest ADD levels
(holes near the top, a new best inside the spread) and DELETE them (a random level, the best
level). The stream is *strict*: every ADD targets a missing level and every UPDATE/DELETE an
existing one, so books with strict semantics accept it too. Sequences increase by one per
venue update; every update is one delta with ``F_LAST``, except a new best that pushes the
deepest level out of the window (two deltas, ``F_LAST`` on the second).

``binance_l2(path)`` -- the real Binance USD-M BTCUSDT diff-depth stream of the shared data set
turned into L2 deltas: the REST snapshot (CLEAR + ADDs, ``F_SNAPSHOT``) followed by every diff
after it (UPDATE, or DELETE for quantity 0; ``sequence`` = the diff's ``u``; ``F_LAST`` on the
last level of each diff). Price precision 1, size precision 3. Sync-rule checking lives in
tests/integration/test_binance_book_sync.py; here the diffs are taken in file order.

Both return numpy arrays of :data:`alphaforge.book.BOOK_DELTA_DTYPE` and cache them under the
temp directory. ``python benches/workloads.py dump OUT.bin [--binance PATH]`` writes the raw
records (for the Rust structure benchmark in alphaforge-core/tests/book_structure_bench.rs).
"""

from __future__ import annotations

import argparse
import gzip
import json
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

F_LAST = 1 << 7
F_SNAPSHOT = 1 << 5
ADD, UPDATE, DELETE, CLEAR = 1, 2, 3, 4
BUY, SELL = 1, 2

SYNTHETIC_N = 1_000_000
SYNTHETIC_SEED = 20240808
SYNTHETIC_PRICE_PRECISION = 2
SYNTHETIC_SIZE_PRECISION = 3
BINANCE_PRICE_PRECISION = 1
BINANCE_SIZE_PRECISION = 3
BINANCE_FILE = Path("market/binance/hftbacktest/usdm/btcusdt_20240808.gz")
TS_BASE = 1_723_075_200_000_000_000  # 2024-08-08T00:00:00Z


def _dtype() -> np.dtype[Any]:
    from alphaforge.book import BOOK_DELTA_DTYPE

    return BOOK_DELTA_DTYPE


def _cache_dir() -> Path:
    path = Path(tempfile.gettempdir()) / "alphaforge-bench-workloads"
    path.mkdir(exist_ok=True)
    return path


def _cached(name: str, build: Any) -> np.ndarray[Any, Any]:
    path = _cache_dir() / f"{name}.npy"
    dtype = _dtype()
    if path.exists():
        try:
            arr = np.load(path, allow_pickle=False)
            if arr.dtype == dtype:
                return arr
        except (OSError, ValueError):
            pass
    arr = build()
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, arr, allow_pickle=False)
    tmp.replace(path)
    return arr


def synthetic_l2(
    n: int = SYNTHETIC_N,
    *,
    seed: int = SYNTHETIC_SEED,
    levels: int = 20,
    mid: int = 5_000_000,
) -> np.ndarray[Any, Any]:
    """The seeded synthetic L2 stream (see the module docs); ``mid`` is raw at precision 2."""
    name = f"synthetic_l2_{n}_{seed}_{levels}_{mid}"
    return _cached(name, lambda: _synthetic(n, seed, levels, mid))


def _synthetic(n: int, seed: int, levels: int, mid: int) -> np.ndarray[Any, Any]:
    rng = np.random.default_rng(seed)
    window = levels + 5  # levels live within `window` ticks of the best
    u = rng.random(n).tolist()
    pick = rng.random(n).tolist()
    depth = np.minimum(rng.geometric(0.3, n) - 1, window - 1).tolist()
    sizes = rng.integers(1, 20_000, n).tolist()
    books = {
        BUY: {mid - 1 - k: 1000 + k for k in range(levels)},
        SELL: {mid + 1 + k: 1000 + k for k in range(levels)},
    }
    best = {BUY: mid - 1, SELL: mid + 1}
    act: list[int] = []
    side_l: list[int] = []
    px: list[int] = []
    sz: list[int] = []
    fl: list[int] = []
    seq: list[int] = []
    s = 1
    for side in (BUY, SELL):
        for p, q in books[side].items():
            act.append(ADD), side_l.append(side), px.append(p), sz.append(q)
            fl.append(F_SNAPSHOT), seq.append(s)
    fl[-1] = F_SNAPSHOT | F_LAST
    i = 0
    while len(act) < n:
        r, side, k, q = u[i], BUY if pick[i] < 0.5 else SELL, depth[i], sizes[i]
        i = (i + 1) % n
        s += 1
        book, b = books[side], best[side]
        inward = 1 if side == BUY else -1  # toward the other side
        if r < 0.80:  # update near the top (or fill a hole)
            p = b - inward * k
            if p in book:
                act.append(UPDATE)
            elif len(book) < levels + 3:
                act.append(ADD)
            else:
                p = b
                act.append(UPDATE)
            book[p] = q
            side_l.append(side), px.append(p), sz.append(q), fl.append(F_LAST), seq.append(s)
        elif r < 0.88:  # delete a level below the top
            p = b - inward * (1 + k % (window - 1))
            if p in book and len(book) > levels - 5:
                del book[p]
                act.append(DELETE), sz.append(0)
            else:
                p = b
                book[p] = q
                act.append(UPDATE), sz.append(q)
            side_l.append(side), px.append(p), fl.append(F_LAST), seq.append(s)
        elif r < 0.94:  # a new best one tick inside the spread
            p = b + inward
            if p != best[BUY if side == SELL else SELL]:
                book[p] = q
                best[side] = p
                act.append(ADD), side_l.append(side), px.append(p), sz.append(q), seq.append(s)
                deep = p - inward * window
                if deep in book:
                    del book[deep]
                    fl.append(0)
                    act.append(DELETE), side_l.append(side), px.append(deep), sz.append(0)
                    seq.append(s)
                fl.append(F_LAST)
            else:
                book[b] = q
                act.append(UPDATE), side_l.append(side), px.append(b), sz.append(q)
                fl.append(F_LAST), seq.append(s)
        else:  # the best level goes
            if len(book) > levels - 5:
                del book[b]
                nb = b - inward
                while nb not in book:
                    nb -= inward
                best[side] = nb
                act.append(DELETE), sz.append(0)
            else:
                book[b] = q
                act.append(UPDATE), sz.append(q)
            side_l.append(side), px.append(b), fl.append(F_LAST), seq.append(s)
    out = np.zeros(n, dtype=_dtype())
    out["action"] = act[:n]
    out["side"] = side_l[:n]
    out["price"] = px[:n]
    out["size"] = sz[:n]
    out["flags"] = fl[:n]
    out["sequence"] = seq[:n]
    ts = TS_BASE + np.asarray(seq[:n], dtype=np.uint64) * np.uint64(1_000)
    out["ts_event"] = ts
    out["ts_init"] = ts
    return out


def read_binance(path: Path) -> tuple[dict[str, Any], list[tuple[int, dict[str, Any]]]]:
    """The REST depth snapshot and every ``depthUpdate`` of the file, in file order, as
    ``(snapshot, [(local_ts_ns, diff), ...])``."""
    snapshot: dict[str, Any] | None = None
    diffs: list[tuple[int, dict[str, Any]]] = []
    with gzip.open(path, "rt") as fh:
        for line in fh:
            ts, _, payload = line.partition(" ")
            if '"depthUpdate"' in payload:
                diffs.append((int(ts), json.loads(payload)["data"]))
            elif '"lastUpdateId"' in payload:
                snapshot = json.loads(payload)
    if snapshot is None:
        raise ValueError(f"{path}: no REST depth snapshot (lastUpdateId) in the file")
    return snapshot, diffs


def _raw(text: str, precision: int) -> int:
    return int(Decimal(text).scaleb(precision))


def binance_l2(path: Path) -> np.ndarray[Any, Any]:
    """The Binance diff-depth stream after its snapshot as L2 deltas (see the module docs)."""
    return _cached(f"binance_l2_{path.stem}", lambda: _binance(path))


def _binance(path: Path) -> np.ndarray[Any, Any]:
    snapshot, diffs = read_binance(path)
    pp, sp = BINANCE_PRICE_PRECISION, BINANCE_SIZE_PRECISION
    last_id = snapshot["lastUpdateId"]
    ts0 = snapshot["E"] * 1_000_000
    rows: list[tuple[int, int, int, int, int, int, int]] = [
        (ts0, last_id, CLEAR, 0, 0, 0, F_SNAPSHOT)
    ]
    for side, key in ((BUY, "bids"), (SELL, "asks")):
        for p, q in snapshot[key]:
            rows.append((ts0, last_id, ADD, side, _raw(p, pp), _raw(q, sp), F_SNAPSHOT))
    rows[-1] = (*rows[-1][:6], F_SNAPSHOT | F_LAST)
    for _, d in diffs:
        if d["u"] < last_id:
            continue
        ts = d["E"] * 1_000_000
        first = len(rows)
        for side, key in ((BUY, "b"), (SELL, "a")):
            for p, q in d[key]:
                size = _raw(q, sp)
                rows.append((ts, d["u"], UPDATE if size else DELETE, side, _raw(p, pp), size, 0))
        if len(rows) > first:
            rows[-1] = (*rows[-1][:6], F_LAST)
    out = np.zeros(len(rows), dtype=_dtype())
    names = ("ts_event", "sequence", "action", "side", "price", "size", "flags")
    for name, col in zip(names, zip(*rows, strict=True), strict=True):
        out[name] = col
    out["ts_init"] = out["ts_event"]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description="dump a workload as raw AfBookDelta records")
    parser.add_argument("command", choices=["dump"])
    parser.add_argument("out", type=Path)
    parser.add_argument("--binance", type=Path, help="the Binance .gz file instead of synthetic")
    args = parser.parse_args()
    arr = binance_l2(args.binance) if args.binance else synthetic_l2()
    args.out.write_bytes(arr.tobytes())
    print(f"wrote {len(arr):,} deltas ({arr.nbytes:,} bytes) to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
