"""``BacktestEngine``: replay market data through the same engines that run live.

::

    engine = BacktestEngine()
    engine.add_venue(VenueConfig("SIM", starting_balances=("1000000 USDT",)))
    engine.add_instrument(instrument)
    engine.add_data(quotes)                 # MarketArray: quotes, trades, bars or book deltas
    engine.add_strategy(EmaCross(EmaCrossConfig(instrument_id="BTCUSDT.SIM")))
    result = engine.run()
    result.write_report("report.html")

Determinism: streams are merged by ``ts_init`` with ties broken by the order they were added
(internal bars first, so a bar precedes the tick that opens the next interval), ids and event
ids are counters, and nothing reads the wall clock; the same inputs give byte-identical results.

The per-event path (DESIGN.md §3): columns are turned into Python lists a chunk at a time, a
quote becomes one small object, goes into the cache and onto the bus; the native matching engine
sees market data only while it holds working orders, and timers cost one comparison.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import attrs
import numpy as np

from alphaforge.backtest.exchange import NEVER, ExchangeConfig, SimulatedExchange
from alphaforge.backtest.results import BacktestResult, ResultRecorder
from alphaforge.clock import TestClock
from alphaforge.data.arrays import MarketArray
from alphaforge.data.engine import DataEngine
from alphaforge.data.merge import merge_order
from alphaforge.data.schemas import DataType
from alphaforge.errors import InvalidValue, KernelStateError
from alphaforge.execution.oms import OmsType
from alphaforge.kernel import Kernel, KernelConfig, KernelState
from alphaforge.matching import BAR_DTYPE as MATCH_BAR_DTYPE
from alphaforge.matching import TRADE_DTYPE as MATCH_TRADE_DTYPE
from alphaforge.metrics.config import MetricsConfig
from alphaforge.model.data import F_LAST, Bar, BarType, QuoteTick, TradeTick
from alphaforge.model.enums import AggressorSide
from alphaforge.model.identifiers import AccountId, InstrumentId, Venue
from alphaforge.model.instruments import Instrument
from alphaforge.model.values import WELL_KNOWN_CURRENCIES, Currency, Money, Price, Quantity
from alphaforge.portfolio.accounts import CashAccount, MarginAccount
from alphaforge.risk.engine import RiskConfig
from alphaforge.trading.strategy import Strategy
from alphaforge.trading.topics import bars_topic, book_topic, quotes_topic, trades_topic

CHUNK = 65_536

QUOTE_COLUMNS = ("ts_init", "ts_event", "bid_price", "ask_price", "bid_size", "ask_size")

Handler = Callable[[int, int], None]
"""Replays rows ``[start, stop)`` of a stream's current chunk."""


def parse_money(text: str, field: str = "starting_balances") -> Money:
    """``"1000000 USDT"`` -> ``Money``; the currency must be a known code."""
    parts = text.split()
    if len(parts) != 2:
        raise InvalidValue(field, text, "expected '<amount> <CURRENCY>', e.g. '1000000 USDT'")
    currency = WELL_KNOWN_CURRENCIES.get(parts[1].upper())
    if currency is None:
        known = ", ".join(sorted(WELL_KNOWN_CURRENCIES))
        raise InvalidValue(field, text, f"unknown currency {parts[1]!r} (known: {known})")
    return Money(parts[0], currency)


@attrs.frozen
class VenueConfig:
    """A simulated venue.

    Parameters
    ----------
    name
        The venue id (instruments ``SYMBOL.<name>`` trade here).
    oms_type
        NETTING (one position per instrument and strategy) or HEDGING.
    account_type
        ``"margin"`` (can go short; PnL settles in the quote currency) or ``"cash"`` (spot).
    starting_balances
        ``"<amount> <CURRENCY>"`` strings.
    exchange
        Latency and queue model of the simulated exchange.
    """

    name: str
    oms_type: OmsType = OmsType.NETTING
    account_type: str = attrs.field(
        default="margin", validator=attrs.validators.in_(("margin", "cash"))
    )
    starting_balances: tuple[str, ...] = ("1000000 USDT",)
    exchange: ExchangeConfig = attrs.field(factory=ExchangeConfig)


@attrs.frozen
class BacktestEngineConfig:
    """Engine settings.

    Parameters
    ----------
    trader_id
        The trader the run is recorded for.
    risk
        Pre-trade risk limits; ``None`` uses :class:`~alphaforge.risk.RiskConfig` defaults
        with a submit-rate limit high enough for bursty strategies.
    equity_interval_ns
        How often the equity curve (and the price shown in the report) is sampled.
    progress
        Show a progress bar: ``None`` decides by whether stderr is a terminal.
    metrics
        Engine metrics and exporters (off by default).
    """

    trader_id: str = "BACKTESTER-001"
    risk: RiskConfig | None = None
    equity_interval_ns: int = attrs.field(default=60_000_000_000, validator=attrs.validators.gt(0))
    progress: bool | None = None
    metrics: MetricsConfig = attrs.field(factory=MetricsConfig)


@attrs.define
class _Stream:
    data: MarketArray
    kind: DataType
    instrument_id: InstrumentId


class BacktestEngine:
    """Deterministic event-driven backtests on the live engines.

    Parameters
    ----------
    config
        Engine settings.
    plugins
        Extra plugin objects for the kernel (its entry points are loaded too).
    """

    def __init__(
        self, config: BacktestEngineConfig | None = None, *, plugins: tuple[object, ...] = ()
    ):
        self.config = config or BacktestEngineConfig()
        self.kernel = Kernel(
            KernelConfig(
                trader_id=self.config.trader_id,
                engines=("data", "portfolio", "risk", "execution", "trader"),
                metrics=self.config.metrics,
            ),
            plugins=plugins,
        ).build()
        engines = self.kernel.engines
        self._clock: TestClock = self.kernel.clock  # type: ignore[assignment]  # backtest kernel
        self.data_engine: DataEngine = engines["data"]
        self.portfolio, self.risk, self.exec_engine = (
            engines["portfolio"], engines["risk"], engines["execution"],
        )  # fmt: skip
        self.trader = engines["trader"]
        self.risk.configure(self.config.risk or RiskConfig(max_order_submit_rate=10_000))
        self._venues: dict[Venue, tuple[VenueConfig, SimulatedExchange]] = {}
        self._instruments: dict[InstrumentId, Instrument] = {}
        self._streams: list[_Stream] = []
        self._ran = False

    # -- setup ----------------------------------------------------------------------------------

    def add_venue(self, config: VenueConfig) -> SimulatedExchange:
        """Add a simulated venue with its account and starting balances."""
        venue = Venue(config.name)
        if venue in self._venues:
            raise InvalidValue("venue", config.name, "already added")
        balances = [parse_money(text) for text in config.starting_balances]
        account_id = AccountId(f"{config.name}-001")
        account_cls = MarginAccount if config.account_type == "margin" else CashAccount
        base: Currency | None = balances[0].currency if len(balances) == 1 else None
        self.portfolio.add_account(account_cls(account_id, balances, base_currency=base))
        exchange = SimulatedExchange(
            venue, account_id, [], self.exec_engine.process, self.kernel.clock.timestamp_ns,
            self.kernel.cache.quote, config.exchange,
        )  # fmt: skip
        self.exec_engine.register_client(exchange)
        oms_types = {**self.exec_engine.config.oms_types, config.name: config.oms_type}
        self.exec_engine.configure(attrs.evolve(self.exec_engine.config, oms_types=oms_types))
        self._venues[venue] = (config, exchange)
        return exchange

    def add_instrument(self, instrument: Instrument) -> None:
        """List an instrument on its (already added) venue."""
        venue = instrument.id.venue
        if venue not in self._venues:
            raise InvalidValue("instrument", str(instrument.id), f"add venue {venue} first")
        self._instruments[instrument.id] = instrument
        self.kernel.cache.add_instrument(instrument)
        self._venues[venue][1].add_instrument(instrument)

    def add_data(self, data: MarketArray) -> None:
        """Add one stream (quotes, trades, bars or book deltas of one instrument)."""
        iid = InstrumentId.from_str(data.instrument_id)
        if iid not in self._instruments:
            raise InvalidValue("data.instrument_id", data.instrument_id, "add the instrument first")
        instrument = self._instruments[iid]
        if (
            data.price_precision != instrument.price_precision
            and data.data_type is not DataType.BARS
        ):
            raise InvalidValue(
                "data.price_precision", data.price_precision,
                f"{iid} trades at price precision {instrument.price_precision}",
            )  # fmt: skip
        self._streams.append(_Stream(data, data.data_type, iid))

    def add_strategy(self, strategy: Strategy) -> None:
        self.trader.add_strategy(strategy)

    # -- run ------------------------------------------------------------------------------------

    def run(self, start_ns: int | None = None, end_ns: int | None = None) -> BacktestResult:
        """Replay every stream between ``start_ns`` and ``end_ns`` (inclusive) and return the
        results. Ctrl-C stops the replay cleanly; the result is then marked ``interrupted``."""
        if self._ran:
            raise KernelStateError("a BacktestEngine runs once; build a new one for another run")
        if not self._streams:
            raise InvalidValue("data", 0, "no data added")
        self._ran = True
        streams = [self._window(s, start_ns, end_ns) for s in self._streams]
        first_ts = min((int(s.data.ts_init[0]) for s in streams if len(s.data)), default=0)
        self._clock.set_time(first_ts)
        recorder = ResultRecorder(self.kernel, self.portfolio, self.exec_engine,
                                  self.config.equity_interval_ns)  # fmt: skip
        self.kernel.start()  # strategies subscribe in on_start
        streams = self._internal_bars(streams) + streams
        interrupted = False
        with _progress(self.config.progress, sum(len(s.data) for s in streams)) as advance:
            try:
                self._replay(streams, advance)
            except KeyboardInterrupt:
                interrupted = True
        recorder.sample()
        self.kernel.stop()
        recorder.sample()
        return recorder.result(interrupted=interrupted, streams=len(streams))

    def dispose(self) -> None:
        if self.kernel.state is not KernelState.DISPOSED:
            self.kernel.dispose()

    @staticmethod
    def _window(stream: _Stream, start_ns: int | None, end_ns: int | None) -> _Stream:
        ts = stream.data.ts_init
        lo = 0 if start_ns is None else int(np.searchsorted(ts, start_ns, "left"))
        hi = len(ts) if end_ns is None else int(np.searchsorted(ts, end_ns, "right"))
        if (lo, hi) == (0, len(ts)):
            return stream
        return _Stream(
            stream.data.replace(stream.data.records[lo:hi]), stream.kind, stream.instrument_id
        )

    def _internal_bars(self, streams: list[_Stream]) -> list[_Stream]:
        """INTERNAL bar types the strategies subscribed to, built natively from their source."""
        out = []
        for bar_type in self.data_engine.internal_bar_types():
            wanted = DataType.TRADES if bar_type.spec.price_type.name == "LAST" else DataType.QUOTES
            source = next(
                (
                    s
                    for s in streams
                    if s.instrument_id == bar_type.instrument_id and s.kind is wanted
                ),
                None,
            )
            if source is None:
                raise InvalidValue(
                    "bar_type", str(bar_type), f"no {wanted.value} loaded to build it from"
                )
            bars = self.data_engine.aggregate(bar_type, source.data)
            out.append(_Stream(bars, DataType.BARS, bar_type.instrument_id))
        return out

    def _replay(self, streams: list[_Stream], advance: Callable[[int], None]) -> None:
        """Replay the merged streams chunk by chunk; within a chunk, each run of consecutive
        events from one stream is handed to that stream's handler as one loop."""
        stream_ids, rows = merge_order(*[s.data.ts_init for s in streams])
        makers = [self._handler_maker(s) for s in streams]
        total = len(rows)
        for a in range(0, total, CHUNK):
            b = min(a + CHUNK, total)
            ids, chunk_rows = stream_ids[a:b], rows[a:b]
            runs: list[Handler | None] = [None] * len(streams)
            offsets = [0] * len(streams)
            for s in np.flatnonzero(np.bincount(ids, minlength=len(streams))).tolist():
                mine = chunk_rows[ids == s]
                offsets[s] = lo = int(mine[0])
                runs[s] = makers[s](lo, int(mine[-1]) + 1)
            starts = np.concatenate(([0], np.flatnonzero(np.diff(ids)) + 1, [len(ids)]))
            for i0, i1 in zip(starts[:-1].tolist(), starts[1:].tolist(), strict=True):
                s = int(ids[i0])
                first = int(chunk_rows[i0]) - offsets[s]
                runs[s](first, first + (i1 - i0))  # type: ignore[misc]
            advance(b - a)

    # -- per-stream handlers ---------------------------------------------------------------------

    def _handler_maker(self, stream: _Stream) -> Callable[[int, int], Handler]:
        kind = stream.kind
        if kind is DataType.QUOTES:
            return self._quote_handler(stream)
        if kind is DataType.TRADES:
            return self._trade_handler(stream)
        if kind is DataType.BARS:
            return self._bar_handler(stream)
        return self._delta_handler(stream)

    def _common(self, stream: _Stream) -> tuple[Any, ...]:
        exchange = self._venues[stream.instrument_id.venue][1]
        market = exchange.market(stream.instrument_id)
        return self._clock.step_to, exchange, market, self.kernel.msgbus.publish

    def _quote_handler(self, stream: _Stream) -> Callable[[int, int], Handler]:
        step, exchange, market, publish = self._common(stream)
        iid, data = stream.instrument_id, stream.data
        pp, sp = data.price_precision, data.size_precision
        append = self.kernel.cache.quote_sink(iid)
        topic, new = quotes_topic(iid), QuoteTick.from_raw
        on_quote, advance = exchange.on_quote, exchange.advance
        observed, next_due = self.kernel.msgbus.has_subscribers, self._clock.next_due_ns

        def make(lo: int, hi: int) -> Handler:
            rec = data.records[lo:hi]
            ts = np.ascontiguousarray(rec["ts_init"])  # searchsorted on a strided view copies
            columns: list[list[int]] = []  # Python lists of the chunk, built on first use

            def run(i0: int, i1: int) -> None:
                while i0 < i1:
                    if market.working or observed(topic):
                        ticks(i0, i1)
                        return
                    # Nobody sees these quotes: skip to the next timer or venue event (replayed
                    # tick by tick); the cache gets the latest quote before it.
                    due = min(next_due() or NEVER, exchange.next_due_ns)
                    j = i1 if due >= NEVER else int(ts[i0:i1].searchsorted(due)) + i0
                    if j > i0:
                        k = j - 1
                        append(new(iid, int(rec["bid_price"][k]), int(rec["ask_price"][k]),
                                   int(rec["bid_size"][k]), int(rec["ask_size"][k]), pp, sp,
                                   int(rec["ts_event"][k]), int(ts[k])))  # fmt: skip
                        step(int(ts[k]))
                    if j < i1:
                        ticks(j, j + 1)
                    i0 = j + 1

            def ticks(i0: int, i1: int) -> None:
                if columns or i1 - i0 > 256:
                    if not columns:
                        columns.extend(rec[name].tolist() for name in QUOTE_COLUMNS)
                    cols, base = columns, 0
                else:  # a few ticks (a timer, a venue event): no need to convert the chunk
                    cols, base = [rec[name][i0:i1].tolist() for name in QUOTE_COLUMNS], i0
                a, b = i0 - base, i1 - base
                ts_l, tse_l, bid_l, ask_l, bs_l, as_l = cols
                for ts, tse, bid, ask, bsz, asz in zip(
                    ts_l[a:b], tse_l[a:b], bid_l[a:b], ask_l[a:b], bs_l[a:b], as_l[a:b],
                    strict=True,
                ):  # fmt: skip
                    step(ts)
                    if ts >= exchange.next_due_ns:
                        advance(ts)
                    quote = new(iid, bid, ask, bsz, asz, pp, sp, tse, ts)
                    append(quote)
                    if market.working:  # resting orders see the quote before strategies do
                        on_quote(market, ts, bid, ask, bsz, asz)
                    publish(topic, quote)

            return run

        return make

    def _trade_handler(self, stream: _Stream) -> Callable[[int, int], Handler]:
        step, exchange, market, publish = self._common(stream)
        iid, data = stream.instrument_id, stream.data
        pp, sp = data.price_precision, data.size_precision
        append = self.kernel.cache.trade_sink(iid)
        topic, new = trades_topic(iid), TradeTick.from_raw
        sides = {int(s): s for s in AggressorSide}
        buf = np.zeros(1, dtype=MATCH_TRADE_DTYPE)

        def make(lo: int, hi: int) -> Handler:
            rec = data.records[lo:hi]
            ts_l, tse_l = rec["ts_init"].tolist(), rec["ts_event"].tolist()
            px_l, sz_l = rec["price"].tolist(), rec["size"].tolist()
            side_l = rec["aggressor_side"].tolist()
            id_l = rec["trade_id"].tolist()

            def on(i: int) -> None:
                ts = ts_l[i]
                step(ts)
                if ts >= exchange.next_due_ns:
                    exchange.advance(ts)
                trade_id = id_l[i]
                trade = new(iid, px_l[i], sz_l[i], pp, sp, sides[side_l[i]],
                            trade_id.decode() if isinstance(trade_id, bytes) else str(trade_id),
                            tse_l[i], ts)  # fmt: skip
                append(trade)
                if market.working and sz_l[i] > 0:
                    buf[0] = (ts, px_l[i], sz_l[i], side_l[i], 0)
                    exchange.on_trades(market, buf)
                publish(topic, trade)

            return _each(on)

        return make

    def _bar_handler(self, stream: _Stream) -> Callable[[int, int], Handler]:
        step, exchange, market, publish = self._common(stream)
        data = stream.data
        bar_type = BarType.from_str(data.bar_type or "")
        pp, sp = data.price_precision, data.size_precision
        topic, add = bars_topic(bar_type), self.kernel.cache.add_bar
        price, qty = Price.from_raw, Quantity.from_raw
        buf = np.zeros(1, dtype=MATCH_BAR_DTYPE)
        # A bar at another precision (internal MID bars carry one more digit) is rescaled for
        # the matching engine, which works at the instrument's precisions.
        instrument = self._instruments[stream.instrument_id]
        p_shift = 10 ** (pp - instrument.price_precision) if pp >= instrument.price_precision else 0
        s_shift = 10 ** (sp - instrument.size_precision) if sp >= instrument.size_precision else 0

        def make(lo: int, hi: int) -> Handler:
            rec = data.records[lo:hi]
            rows = rec[["ts_event", "ts_init", "open", "high", "low", "close", "volume"]].tolist()

            def on(i: int) -> None:
                ts_event, ts, o, h, low, c, v = rows[i]
                step(ts)
                if ts >= exchange.next_due_ns:
                    exchange.advance(ts)
                bar = Bar(bar_type, price(o, pp), price(h, pp), price(low, pp), price(c, pp),
                          qty(v, sp), ts_event, ts)  # fmt: skip
                add(bar)
                if market.working and p_shift and s_shift:
                    buf[0] = (ts, ts, o // p_shift, h // p_shift, low // p_shift, c // p_shift,
                              v // s_shift, 0)  # fmt: skip
                    exchange.on_bars(market, buf)
                publish(topic, bar)

            return _each(on)

        return make

    def _delta_handler(self, stream: _Stream) -> Callable[[int, int], Handler]:
        step, exchange, market, publish = self._common(stream)
        iid, data = stream.instrument_id, stream.data
        book = self.data_engine.book(iid, data.price_precision, data.size_precision)
        topic, has_subscribers = book_topic(iid), self.kernel.msgbus.has_subscribers
        records = data.records
        batch_start = [0]  # global row of the first delta of the open batch (spans chunks)

        def make(lo: int, hi: int) -> Handler:
            rec = records[lo:hi]
            flags_l, ts_l = rec["flags"].tolist(), rec["ts_init"].tolist()

            def on(i: int) -> None:
                if not flags_l[i] & F_LAST:
                    return  # applied with the rest of its atomic batch
                ts = ts_l[i]
                step(ts)
                if ts >= exchange.next_due_ns:
                    exchange.advance(ts)
                batch = records[batch_start[0] : lo + i + 1]
                batch_start[0] = lo + i + 1
                book.apply_batch(batch)
                if market.working:
                    exchange.on_deltas(market, batch)
                if has_subscribers(topic):
                    publish(topic, book)

            return _each(on)

        return make


def _each(on: Callable[[int], None]) -> Handler:
    """A run handler from a per-row one."""

    def run(i0: int, i1: int) -> None:
        for i in range(i0, i1):
            on(i)

    return run


@contextmanager
def _progress(enabled: bool | None, total: int) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr (when wanted), advanced once per chunk."""
    import sys

    if enabled is None:
        enabled = sys.stderr.isatty() and total > 2 * CHUNK
    if not enabled:
        yield lambda n: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress("replay", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  transient=True) as bar:  # fmt: skip
        task = bar.add_task("replay", total=total)
        yield lambda n: bar.advance(task, n)


__all__ = ["BacktestEngine", "BacktestEngineConfig", "VenueConfig", "parse_money"]
