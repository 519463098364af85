"""Live path: Binance message parsing, and loopback end to end (venue -> strategy, order acks).

Parsing workload (``<source>`` in the record name says which one ran):

- ``capture``: the real Binance Spot BTCUSDT stream of 2024-08-08 in the shared data set
  (``market/binance/hftbacktest/spot/btcusdt_20240808.gz``): its REST depth snapshot, 3,451
  ``depth@100ms`` diffs and 9,757 ``trade`` messages, each as the combined-stream JSON text
  received on the wire.
- ``synthetic``: when the shared data set is absent, seeded messages of the same shape (8-decimal
  strings, ``U``/``u`` chained, 1,000 levels per side in the snapshot, 0..40 levels per diff).

Records (msgs/s, median of repeats; impl ``alphaforge`` and, when importable, ``nautilus_trader``
on the same bytes):

- ``binance_parse_depth_<source>``: text -> ``decode_frame`` (the data client's orjson decoder) ->
  :func:`~alphaforge_binance.parse_depth_update` -> ``BookUpdate``. nautilus: its data client's
  ``msgspec.json.Decoder(BinanceOrderBookMsg)`` -> ``parse_to_order_book_deltas``.
- ``binance_parse_depth_apply_<source>``: the same, then applied as the live client does, through
  :class:`~alphaforge_binance.BinanceBookSync` (sequence checks + native book + the change handed
  on as a ``book_deltas`` batch) after the snapshot
  (untimed). Only the diffs after the snapshot. nautilus: ``OrderBook.apply_deltas`` (no
  sequence checks).
- ``binance_parse_trade_<source>``: text -> ``decode_frame`` -> ``parse_trade`` -> ``TradeTick``;
  nautilus: ``BinanceSpotTradeMsg`` decoder -> ``parse_to_trade_tick``.

Loopback (ours only, asyncio, everything on 127.0.0.1):

- ``live_loopback_latency``: ``alphaforge binance-loopback`` runs the loopback venue in a child
  process (its own GIL, as a real venue) stepping its scripted market 800 times a second (~990
  messages/s: ~720 diff-depth + ~270 trades, ``msg_rate``) for 8 s after a 1 s warm-up (2 s with
  ``--quick``); the real ``BinanceDataClient`` receives them over the websocket, the
  ``LiveNode`` hands trades to its ``DataEngine`` and a ``Strategy``'s ``on_trade`` notes them.
  Latency = handler ``perf_counter_ns`` - the venue's ``perf_counter_ns`` when it queued the
  frame (its ``--stamps`` file, keyed by trade id; CLOCK_MONOTONIC is system-wide on Linux).
  p50, p99, max (us), ``sent``/``delivered`` in the window. ``live_loopback_book_latency``: the
  same for diff-depth events, up to the strategy's ``on_book`` (``BinanceBookSync`` applies the
  diff and hands it on as a native batch; the ``DataEngine`` applies it to the node's book).
- ``live_order_roundtrip``: resting limit buys through ``BinanceExecutionClient.submit_order``;
  ``rest_ack`` = submit -> REST answer (ACCEPTED report) returned, ``user_ack`` = submit ->
  the user-stream ``executionReport`` NEW (ACCEPTED) reaching the report sink. 5 accounts x 100
  orders (first 4 per account are warm-up), cancelled by ``DELETE openOrders`` every 25: the
  client honours Binance's 100 orders / 10 s per account, so a fresh venue (child process, as
  above) serves each 100.
"""

from __future__ import annotations

import gc
import gzip
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SPOT_FILE = Path("market/binance/hftbacktest/spot/btcusdt_20240808.gz")
IID = "BTCUSDT.BINANCE"
SEED = 20240808
STEP_RATE = 800  # venue steps per second (~1,050 messages/s on the client's streams)
LOOPBACK_SECONDS, LOOPBACK_SECONDS_QUICK = 8.0, 2.0
ACCOUNTS, ACCOUNTS_QUICK = 5, 1
ORDERS_PER_ACCOUNT = 100  # Binance spot: 100 orders / 10 s per account
WARMUP_ORDERS = 4
CANCEL_EVERY = 25


# -- workloads ------------------------------------------------------------------------------


def _capture(path: Path) -> tuple[str, list[str], list[str]]:
    """(snapshot text, depth texts, trade texts) of a hftbacktest capture, in file order."""
    snapshot: str | None = None
    depth: list[str] = []
    trades: list[str] = []
    with gzip.open(path, "rt") as fh:
        for line in fh:
            text = line.rstrip("\n").partition(" ")[2]
            if text.startswith('{"stream":"btcusdt@depth'):
                depth.append(text)
            elif text.startswith('{"stream":"btcusdt@trade"'):
                trades.append(text)
            elif text.startswith('{"lastUpdateId"'):
                snapshot = text
    if snapshot is None:
        raise ValueError(f"{path}: no REST depth snapshot (lastUpdateId) in the file")
    return snapshot, depth, trades


def _px(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}000000"


def _qty(units: int) -> str:  # units of 1e-8
    return f"{units // 10**8}.{units % 10**8:08d}"


def _synthetic(n_depth: int = 3_500, n_trades: int = 10_000) -> tuple[str, list[str], list[str]]:
    """Seeded messages shaped like the real spot BTCUSDT stream (see the module docs)."""
    rng = random.Random(SEED)
    mid, last, ms = 6_180_000, 50_093_239_218, 1_723_161_255_000
    compact = {"separators": (",", ":")}
    snapshot = json.dumps({
        "lastUpdateId": last,
        "bids": [[_px(mid - i), _qty(rng.randint(1, 5_000) * 1_000)] for i in range(1, 1001)],
        "asks": [[_px(mid + i), _qty(rng.randint(1, 5_000) * 1_000)] for i in range(1, 1001)],
    }, **compact)  # fmt: skip

    def levels(sign: int) -> list[list[str]]:
        out = []
        for _ in range(rng.randint(0, 40)):
            size = 0 if rng.random() < 0.35 else rng.randint(1, 5_000) * 1_000
            out.append([_px(mid + sign * rng.randint(1, 400)), _qty(size)])
        return out

    depth = []
    for _ in range(n_depth):
        first, last = last + 1, last + rng.randint(1, 60)
        ms += 100
        mid += rng.randint(-3, 3)
        data = {"e": "depthUpdate", "E": ms, "s": "BTCUSDT", "U": first, "u": last,
                "b": levels(-1), "a": levels(1)}  # fmt: skip
        depth.append(json.dumps({"stream": "btcusdt@depth@100ms", "data": data}, **compact))
    trades = []
    for t in range(n_trades):
        data = {"e": "trade", "E": ms + t // 3, "s": "BTCUSDT", "t": 3_735_683_259 + t,
                "p": _px(mid + rng.randint(-2, 2)), "q": _qty(rng.randint(1, 2_000) * 1_000),
                "T": ms + t // 3, "m": rng.random() < 0.5, "M": True}  # fmt: skip
        trades.append(json.dumps({"stream": "btcusdt@trade", "data": data}, **compact))
    return snapshot, depth, trades


def _workload() -> tuple[str, str, list[str], list[str]]:
    path = SHARED_DATA / SPOT_FILE
    if path.is_file():
        return ("capture", *_capture(path))
    return ("synthetic", *_synthetic())


def _instrument() -> Any:
    """Spot BTCUSDT as ``exchangeInfo`` lists it (tick 0.01, lot 0.00001)."""
    from alphaforge.model import BTC, USDT, CurrencyPair, InstrumentId, Quantity, Symbol

    return CurrencyPair(
        id=InstrumentId.from_str(IID), raw_symbol=Symbol("BTCUSDT"), base_currency=BTC,
        quote_currency=USDT, price_precision=2, size_precision=5, lot_size=Quantity("0.00001"),
    )  # fmt: skip


def _after_snapshot(snapshot: str, depth: list[str]) -> list[str]:
    """The diffs a synced book applies: spot drops ``u <= lastUpdateId``."""
    last = json.loads(snapshot)["lastUpdateId"]
    return [t for t in depth if json.loads(t)["data"]["u"] > last]


# -- timing ---------------------------------------------------------------------------------


def _msgs_per_s(repeats: int, n: int, run: Callable[[Any], Any], setup: Callable[[], Any]) -> float:
    """Median msgs/s of ``run(setup())`` over ``repeats`` (setup untimed, gc off while timed)."""
    samples = []
    for _ in range(repeats):
        state = setup()
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter_ns()
            run(state)
            samples.append(time.perf_counter_ns() - start)
        finally:
            gc.enable()
    samples.sort()
    return n * 1e9 / samples[len(samples) // 2]


def _rate(ctx: Any, name: str, impl: str, n: int, run: Any, setup: Any = lambda: None) -> None:
    ctx.record(name, impl, "throughput", _msgs_per_s(ctx.repeats(5), n, run, setup), "msgs/s")


def _pcts(ctx: Any, name: str, samples_ns: list[int]) -> None:
    s = sorted(samples_ns)
    if not s:
        raise RuntimeError(f"{name}: no samples")
    for metric, value in (("p50", s[len(s) // 2]), ("p99", s[int(len(s) * 0.99)]), ("max", s[-1])):
        ctx.record(name, "alphaforge", metric, value / 1e3, "us")


# -- parsing: alphaforge --------------------------------------------------------------------


def _af_parse(ctx: Any, source: str, snapshot: str, depth: list[str], trades: list[str]) -> None:
    from alphaforge_binance import (
        BinanceBookSync,
        BinanceMarket,
        parse_depth_snapshot,
        parse_depth_update,
        parse_trade,
    )
    from alphaforge_binance.live import decode_frame

    inst, spot, loads = _instrument(), BinanceMarket.SPOT, decode_frame

    def parse_depth(_: Any) -> None:
        for text in depth:
            parse_depth_update(loads(text), inst, spot)

    def parse_trades(_: Any) -> None:
        for text in trades:
            parse_trade(loads(text), inst)

    applied = _after_snapshot(snapshot, depth)
    snap = parse_depth_snapshot(loads(snapshot), inst)

    def synced() -> Any:
        # As the live data client builds it: every applied change handed on as a native batch.
        sync = BinanceBookSync(inst, spot, on_deltas=lambda batch: None)
        sync.on_snapshot(snap)
        return sync

    def apply(sync: Any) -> None:
        on_update = sync.on_update
        for text in applied:
            on_update(parse_depth_update(loads(text), inst, spot))
        if not sync.is_valid or sync.stats.applied != len(applied):
            raise RuntimeError(f"book out of sync after the stream: {sync.reason}")

    if ctx.wants(f"binance_parse_depth_{source}"):
        _rate(ctx, f"binance_parse_depth_{source}", "alphaforge", len(depth), parse_depth)
    if ctx.wants(f"binance_parse_depth_apply_{source}"):
        _rate(ctx, f"binance_parse_depth_apply_{source}", "alphaforge", len(applied), apply, synced)
    if ctx.wants(f"binance_parse_trade_{source}"):
        _rate(ctx, f"binance_parse_trade_{source}", "alphaforge", len(trades), parse_trades)


# -- parsing: nautilus_trader (public adapter schemas) --------------------------------------


def _nt_parse(ctx: Any, source: str, snapshot: str, depth: list[str], trades: list[str]) -> None:
    import msgspec
    from nautilus_trader.adapters.binance.common.schemas.market import (
        BinanceDepth,
        BinanceOrderBookMsg,
    )
    from nautilus_trader.adapters.binance.spot.schemas.market import BinanceSpotTradeMsg
    from nautilus_trader.model.book import OrderBook
    from nautilus_trader.model.enums import BookType
    from nautilus_trader.model.identifiers import InstrumentId

    iid, ts_init = InstrumentId.from_str(IID), time.time_ns()
    depth_b = [t.encode() for t in depth]  # its websocket client hands bytes to the decoder
    applied_b = [t.encode() for t in _after_snapshot(snapshot, depth)]
    trades_b = [t.encode() for t in trades]
    book_dec = msgspec.json.Decoder(BinanceOrderBookMsg)
    trade_dec = msgspec.json.Decoder(BinanceSpotTradeMsg)
    snap = msgspec.json.Decoder(BinanceDepth).decode(snapshot.encode())
    snap_deltas = snap.parse_to_order_book_snapshot(iid, ts_init)

    def parse_depth(_: Any) -> None:
        decode = book_dec.decode
        for raw in depth_b:
            decode(raw).data.parse_to_order_book_deltas(iid, ts_init)

    def parse_trades(_: Any) -> None:
        decode = trade_dec.decode
        for raw in trades_b:
            decode(raw).data.parse_to_trade_tick(iid, ts_init)

    def synced() -> Any:
        book = OrderBook(iid, BookType.L2_MBP)
        book.apply_deltas(snap_deltas)
        return book

    def apply(book: Any) -> None:
        decode, apply_deltas = book_dec.decode, book.apply_deltas
        for raw in applied_b:
            apply_deltas(decode(raw).data.parse_to_order_book_deltas(iid, ts_init))

    nt = "nautilus_trader"
    if ctx.wants(f"binance_parse_depth_{source}"):
        _rate(ctx, f"binance_parse_depth_{source}", nt, len(depth_b), parse_depth)
    if ctx.wants(f"binance_parse_depth_apply_{source}"):
        _rate(ctx, f"binance_parse_depth_apply_{source}", nt, len(applied_b), apply, synced)
    if ctx.wants(f"binance_parse_trade_{source}"):
        _rate(ctx, f"binance_parse_trade_{source}", nt, len(trades_b), parse_trades)


# -- loopback -------------------------------------------------------------------------------


def _config(venue: Any, key: str | None = None, secret: str | None = None) -> Any:
    from alphaforge_binance import BinanceMarket
    from alphaforge_binance.live import BinanceConfig, BinanceEndpoints

    from alphaforge.config import Secret

    return BinanceConfig(
        market=BinanceMarket.SPOT, endpoints=BinanceEndpoints(venue.rest_url, venue.ws_url),
        api_key=Secret(key) if key else None, api_secret=Secret(secret) if secret else None,
        ws_ping_interval=None,
    )  # fmt: skip


async def _wait_for(cond: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    import anyio

    with anyio.move_on_after(timeout):
        while not cond():
            await anyio.sleep(0.005)
        return
    raise RuntimeError(f"timed out waiting for {what}")


class _VenueProcess:
    """The loopback venue in a child process (its own GIL, as a real venue), moving its market
    ``rate`` times a second for ``seconds``; on exit it writes when it queued each trade and
    depth event (``perf_counter_ns``: CLOCK_MONOTONIC, system-wide on Linux)."""

    def __init__(self, rate: int, seconds: float, stamps: Path) -> None:
        from alphaforge_binance.serve import LoopbackProcess

        self.stamps = stamps
        self.process = LoopbackProcess("--rate", str(rate), "--duration", str(seconds),
                                       "--seed", str(SEED), "--stamps", str(stamps))  # fmt: skip
        self.rest_url, self.ws_url = self.process.rest_url, self.process.ws_url

    def stop(self) -> None:
        """Stop it now (SIGTERM: a clean stop)."""
        self.process.stop()

    def sent(self) -> tuple[dict[int, int], dict[int, int]]:
        """Wait for the venue to finish; ``(trade id -> ns, depth u -> ns)``."""
        self.process.wait(timeout=120)
        data = json.loads(self.stamps.read_text())
        return ({int(k): v for k, v in data["trades"].items()},
                {int(k): v for k, v in data["depth"].items()})  # fmt: skip


async def _loopback_latency(ctx: Any, seconds: float) -> None:
    import anyio
    from alphaforge_binance.live import BinanceDataClient, BinanceInstrumentProvider, BinanceRest

    from alphaforge.live import LiveNode, LiveNodeConfig
    from alphaforge.model import InstrumentId, TradeTick
    from alphaforge.trading import Strategy, StrategyConfig

    iid = InstrumentId.from_str(IID)
    got_trades: dict[int, int] = {}
    got_depth: dict[int, int] = {}

    class LatencyProbe(Strategy):
        """Notes when each trade and each book change reaches the strategy."""

        def __init__(self) -> None:
            super().__init__(StrategyConfig(strategy_id="PROBE-001"))

        def on_start(self) -> None:
            self.subscribe_trades(iid)
            self.subscribe_book(iid)

        def on_trade(self, trade: TradeTick) -> None:
            got_trades[int(trade.trade_id.value)] = time.perf_counter_ns()

        def on_book(self, book: Any) -> None:
            got_depth[book.sequence] = time.perf_counter_ns()

    warmup = 1.0
    with tempfile.TemporaryDirectory() as tmp:
        venue = _VenueProcess(STEP_RATE, seconds + warmup + 2.0, Path(tmp) / "stamps.json")
        cfg = _config(venue)
        rest = BinanceRest(cfg)
        provider = BinanceInstrumentProvider(rest)
        data = BinanceDataClient(cfg, rest, provider)
        node = LiveNode(LiveNodeConfig(trader_id="BENCH-001"))
        node.add_instrument_provider(provider, [iid])
        node.add_data_client(data)
        node.add_strategy(LatencyProbe())
        try:
            async with node:
                await _wait_for(lambda: (s := data.book(iid)) is not None and s.is_valid, "sync")
                start = time.perf_counter_ns() + int(warmup * 1e9)
                sent_trades, sent_depth = await anyio.to_thread.run_sync(venue.sent)
                sync = data.book(iid)
                if sync is None or sync.stats.invalidations:
                    raise RuntimeError("the client's book lost sync during the run")
        finally:
            await rest.aclose()
    # The window: after the warm-up, until shortly before the venue stopped (its last frames
    # may die with its sockets).
    end = max([*sent_trades.values(), *sent_depth.values()]) - 200_000_000
    for name, sent, got, unit in (("live_loopback_latency", sent_trades, got_trades, "trades"),
                                  ("live_loopback_book_latency", sent_depth, got_depth,
                                   "diffs")):  # fmt: skip
        window = {k: ns for k, ns in sent.items() if start <= ns <= end}
        latencies = [got[k] - ns for k, ns in window.items() if k in got]
        _pcts(ctx, name, latencies)
        ctx.record(name, "alphaforge", "sent", len(window), unit)
        ctx.record(name, "alphaforge", "delivered", len(latencies), unit)
    span = (end - start) / 1e9
    msgs = sum(start <= ns <= end for sent in (sent_trades, sent_depth) for ns in sent.values())
    ctx.record("live_loopback_latency", "alphaforge", "msg_rate", msgs / span, "msgs/s")


def _order(coid: str, inst_id: Any, price: str) -> Any:
    from alphaforge.execution.messages import SubmitOrder
    from alphaforge.model import (
        ClientOrderId,
        Order,
        OrderInitialized,
        OrderSide,
        OrderType,
        Price,
        Quantity,
        StrategyId,
        TraderId,
    )

    init = OrderInitialized(
        client_order_id=ClientOrderId(coid), strategy_id=StrategyId("BENCH-001"),
        instrument_id=inst_id, ts_event=0, ts_init=0, side=OrderSide.BUY,
        order_type=OrderType.LIMIT, quantity=Quantity("0.00100"), price=Price(price),
    )  # fmt: skip
    return SubmitOrder(trader_id=TraderId("BENCH-001"), strategy_id=StrategyId("BENCH-001"),
                       command_id=f"C-{coid}", ts_init=0, order=Order.from_init(init))  # fmt: skip


async def _order_roundtrip(ctx: Any, accounts: int) -> None:
    import anyio
    from alphaforge_binance.live import (
        BinanceExecutionClient,
        BinanceInstrumentProvider,
        BinanceRest,
    )

    from alphaforge.adapters import OrderReport, ReportKind
    from alphaforge.execution.messages import CancelAllOrders
    from alphaforge.model import AccountId, StrategyId, TraderId

    rest_ack: list[int] = []
    user_ack: list[int] = []
    for k in range(accounts):
        with tempfile.TemporaryDirectory() as tmp:
            venue = _VenueProcess(1, 600.0, Path(tmp) / "stamps.json")  # a quiet market
            cfg = _config(venue, "loopback-key", "loopback-secret")
            rest = BinanceRest(cfg)
            provider = BinanceInstrumentProvider(rest)
            (inst,) = await provider.load_all()
            accepted: dict[str, int] = {}
            waiting: dict[str, anyio.Event] = {}

            def sink(
                report: Any,
                accepted: dict[str, int] = accepted,
                waiting: dict[str, anyio.Event] = waiting,
            ) -> None:
                if (
                    type(report) is OrderReport
                    and report.kind is ReportKind.ACCEPTED
                    and report.client_order_id is not None
                ):
                    coid = report.client_order_id.value
                    accepted[coid] = time.perf_counter_ns()
                    if coid in waiting:
                        waiting.pop(coid).set()

            exe = BinanceExecutionClient(cfg, rest, provider, AccountId("BINANCE-001"))
            await exe.connect(sink)
            try:
                depth = await rest.get_json("/depth", params={"symbol": "BTCUSDT", "limit": 5})
                bid = Decimal(depth["bids"][0][0])
                price = str(bid - 2)  # 200 ticks below the best bid: rests, never fills
                cancel_all = CancelAllOrders(
                    trader_id=TraderId("BENCH-001"), strategy_id=StrategyId("BENCH-001"),
                    command_id="cancel", ts_init=0, instrument_id=inst.id,
                )  # fmt: skip
                for i in range(ORDERS_PER_ACCOUNT):
                    coid = f"B{k}x{i}"
                    command = _order(coid, inst.id, price)
                    start = time.perf_counter_ns()
                    report = await exe.submit_order(command)
                    answered = time.perf_counter_ns()
                    if report is None or report.kind is not ReportKind.ACCEPTED:
                        raise RuntimeError(f"order {coid}: not accepted: {report}")
                    if coid not in accepted:
                        waiting[coid] = anyio.Event()
                        with anyio.fail_after(5):
                            await waiting[coid].wait()
                    if i >= WARMUP_ORDERS:
                        rest_ack.append(answered - start)
                        user_ack.append(accepted[coid] - start)
                    if (i + 1) % CANCEL_EVERY == 0:
                        await exe.cancel_all_orders(cancel_all)
            finally:
                await exe.disconnect()
                await rest.aclose()
                venue.stop()
    name = "live_order_roundtrip"
    s_rest, s_user = sorted(rest_ack), sorted(user_ack)
    n = len(s_rest)
    for label, s in (("rest_ack", s_rest), ("user_ack", s_user)):
        ctx.record(name, "alphaforge", f"{label}_p50", s[n // 2] / 1e3, "us")
        ctx.record(name, "alphaforge", f"{label}_p99", s[int(n * 0.99)] / 1e3, "us")
    ctx.record(name, "alphaforge", "orders", n, "orders")


# -- runner ---------------------------------------------------------------------------------


def run(ctx: Any) -> None:
    kinds = ("depth", "depth_apply", "trade")
    if any(ctx.wants(f"binance_parse_{k}_{s}") for k in kinds for s in ("capture", "synthetic")):
        source, snapshot, depth, trades = _workload()
        print(f"binance parsing: {source} ({len(depth)} diffs, {len(trades)} trades)",
              file=sys.stderr)  # fmt: skip
        _af_parse(ctx, source, snapshot, depth, trades)
        if ctx.peer("nautilus_trader") is not None:
            _nt_parse(ctx, source, snapshot, depth, trades)
    if ctx.wants("live_loopback_latency") or ctx.wants("live_loopback_book_latency"):
        import anyio

        seconds = LOOPBACK_SECONDS_QUICK if ctx.quick else LOOPBACK_SECONDS
        anyio.run(_loopback_latency, ctx, seconds, backend="asyncio")
    if ctx.wants("live_order_roundtrip"):
        import anyio

        accounts = ACCOUNTS_QUICK if ctx.quick else ACCOUNTS
        anyio.run(_order_roundtrip, ctx, accounts, backend="asyncio")
