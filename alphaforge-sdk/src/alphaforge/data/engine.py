"""The DataEngine: market data into the cache and onto the bus, books and internal bars.

It keeps the subscriptions actors send to the ``data.subscriptions`` endpoint, maintains a native
order book per instrument that has book subscribers, and builds INTERNAL bars in the native
aggregator — per event on the live path (:meth:`process_quote` & co.) and over whole columns in
a backtest (:meth:`aggregate`, which the backtest merges into the replay as a stream of its own).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from alphaforge.bars import BarAggregator, samples_from_quotes, samples_from_trades
from alphaforge.book import OrderBook
from alphaforge.data.arrays import MarketArray
from alphaforge.data.schemas import DataType, numpy_dtype
from alphaforge.errors import InvalidValue
from alphaforge.model.data import Bar, BarType, OrderBookDeltas, QuoteTick, TradeTick
from alphaforge.model.enums import AggregationSource, BookType, PriceType
from alphaforge.model.identifiers import InstrumentId
from alphaforge.trading.messages import DataKind, DataSubscription
from alphaforge.trading.topics import (
    DATA_SUBSCRIPTIONS_ENDPOINT,
    bars_topic,
    book_deltas_topic,
    book_topic,
    quotes_topic,
    trades_topic,
)


class DataEngine:
    """Routes market data for one kernel (registered as the ``data`` engine).

    Parameters
    ----------
    kernel
        The kernel whose cache, bus and clock it uses.
    """

    def __init__(self, kernel: Any) -> None:
        self._bus, self._cache = kernel.msgbus, kernel.cache
        self.subscriptions: dict[DataKind, dict[Any, set[str]]] = {k: {} for k in DataKind}
        self.books: dict[InstrumentId, OrderBook] = {}
        self._live_aggregators: dict[InstrumentId, list[tuple[BarType, BarAggregator]]] = {}
        self._bus.register(DATA_SUBSCRIPTIONS_ENDPOINT, self._on_subscription)

    # -- subscriptions ----------------------------------------------------------------------

    def _on_subscription(self, request: DataSubscription) -> None:
        subscribers = self.subscriptions[request.kind].setdefault(request.key, set())
        if request.subscribe:
            subscribers.add(request.subscriber)
        else:
            subscribers.discard(request.subscriber)
            if not subscribers:
                del self.subscriptions[request.kind][request.key]

    def subscribed(self, kind: DataKind) -> list[Any]:
        """Keys (instrument ids or bar types) with at least one subscriber, sorted by name."""
        return sorted(self.subscriptions[kind], key=str)

    def internal_bar_types(self) -> list[BarType]:
        """Subscribed bar types the engine must build itself."""
        return [
            bt for bt in self.subscribed(DataKind.BARS) if bt.source is AggregationSource.INTERNAL
        ]

    def book(
        self, instrument_id: InstrumentId, price_precision: int, size_precision: int
    ) -> OrderBook:
        """The engine's L2 book of an instrument (created on first use)."""
        book = self.books.get(instrument_id)
        if book is None:
            book = OrderBook(instrument_id, BookType.L2_MBP, price_precision, size_precision)
            self.books[instrument_id] = book
        return book

    # -- batch aggregation (backtest) --------------------------------------------------------

    @staticmethod
    def aggregate(bar_type: BarType, source: MarketArray) -> MarketArray:
        """INTERNAL bars of ``bar_type`` built natively over a whole quote or trade column.

        Bars are stamped at their close (``ts_event = ts_init = ts_close``), so in a replay
        each bar comes after every tick it contains — no look-ahead.
        """
        records = source.records
        price_type = bar_type.spec.price_type
        if source.data_type is DataType.QUOTES:
            samples, pp, sp = samples_from_quotes(
                records["ts_init"], records["bid_price"], records["ask_price"],
                records["bid_size"], records["ask_size"], price_type,
                source.price_precision, source.size_precision,
            )  # fmt: skip
        elif source.data_type is DataType.TRADES and price_type is PriceType.LAST:
            samples = samples_from_trades(records["ts_init"], records["price"], records["size"])
            pp, sp = source.price_precision, source.size_precision
        else:
            raise InvalidValue(
                "bar_type", str(bar_type),
                f"cannot build {price_type.name} bars from {source.data_type.value}",
            )  # fmt: skip
        aggregator = BarAggregator(bar_type, price_precision=pp, size_precision=sp)
        bars = aggregator.update(samples)
        out = np.zeros(len(bars), dtype=numpy_dtype(DataType.BARS))
        out["ts_event"] = out["ts_init"] = bars["ts_close"]
        for field in ("open", "high", "low", "close", "volume"):
            out[field] = bars[field]
        return MarketArray(DataType.BARS, source.instrument_id, out, pp, sp, bar_type=str(bar_type))

    # -- per event (live) ---------------------------------------------------------------------

    def add_bar_aggregation(
        self, bar_type: BarType, price_precision: int, size_precision: int
    ) -> None:
        """Build INTERNAL ``bar_type`` bars from the live ticks of its instrument."""
        pp, sp = price_precision, size_precision
        if bar_type.spec.price_type is PriceType.MID:
            pp, sp = pp + 1, sp + 1  # mid samples carry one more digit (exact)
        aggregator = BarAggregator(bar_type, price_precision=pp, size_precision=sp)
        self._live_aggregators.setdefault(bar_type.instrument_id, []).append((bar_type, aggregator))

    def process_quote(self, quote: QuoteTick) -> None:
        self._cache.add_quote(quote)
        self._bus.publish(quotes_topic(quote.instrument_id), quote)
        for bar_type, aggregator in self._live_aggregators.get(quote.instrument_id, ()):
            if bar_type.spec.price_type is PriceType.LAST:
                continue
            one = np.array([quote.ts_init], np.uint64)
            samples, _, _ = samples_from_quotes(
                one, np.array([quote.bid_raw]), np.array([quote.ask_raw]),
                np.array([quote.bid_size_raw]), np.array([quote.ask_size_raw]),
                bar_type.spec.price_type, quote.price_precision, quote.size_precision,
            )  # fmt: skip
            self._publish_bars(bar_type, aggregator, aggregator.update(samples))

    def process_trade(self, trade: TradeTick) -> None:
        self._cache.add_trade(trade)
        self._bus.publish(trades_topic(trade.instrument_id), trade)
        for bar_type, aggregator in self._live_aggregators.get(trade.instrument_id, ()):
            if bar_type.spec.price_type is PriceType.LAST:
                samples = samples_from_trades(
                    np.array([trade.ts_init], np.uint64),
                    np.array([trade.price_raw]),
                    np.array([trade.size_raw]),
                )
                self._publish_bars(bar_type, aggregator, aggregator.update(samples))

    def process_bar(self, bar: Bar) -> None:
        self._cache.add_bar(bar)
        self._bus.publish(bars_topic(bar.bar_type), bar)

    def process_deltas(
        self, deltas: OrderBookDeltas, price_precision: int, size_precision: int
    ) -> None:
        from alphaforge.book import deltas_to_array

        book = self.book(deltas.instrument_id, price_precision, size_precision)
        book.apply_batch(
            deltas_to_array(
                deltas.deltas, price_precision=price_precision, size_precision=size_precision
            )
        )
        self._bus.publish(book_deltas_topic(deltas.instrument_id), deltas)
        self._bus.publish(book_topic(deltas.instrument_id), book)

    def process_delta_batch(self, batch: MarketArray) -> None:
        """A ``book_deltas`` batch (an adapter's ``BookSync`` output): applied to the book as
        it is; ``OrderBookDeltas`` objects are built only for subscribers of the deltas."""
        iid = InstrumentId.from_str(batch.instrument_id)
        book = self.book(iid, batch.price_precision, batch.size_precision)
        book.apply_batch(batch.records)
        topic = book_deltas_topic(iid)
        if self._bus.has_subscribers(topic):
            from alphaforge.book import deltas_from_array

            self._bus.publish(topic, deltas_from_array(iid, batch.records, batch.price_precision,
                                                       batch.size_precision))  # fmt: skip
        self._bus.publish(book_topic(iid), book)

    def _publish_bars(self, bar_type: BarType, aggregator: BarAggregator, records: Any) -> None:
        for bar in aggregator.to_bars(records):
            self.process_bar(bar)
