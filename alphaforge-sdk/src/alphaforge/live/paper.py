"""Paper trading: live market data, execution on the backtest's :class:`SimulatedExchange`.

The simulated exchange is the very one a backtest uses (native matching engine); here its clock
is the node's :class:`~alphaforge.clock.LiveClock` and its market data are the live quotes the
:class:`~alphaforge.data.engine.DataEngine` puts into the cache. An order is matched against the
latest cached quote when it arrives; a resting order against every later quote.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alphaforge.backtest.exchange import ExchangeConfig, SimulatedExchange
from alphaforge.cache import Cache
from alphaforge.clock import Clock
from alphaforge.errors import InvalidValue
from alphaforge.model.data import QuoteTick
from alphaforge.model.identifiers import AccountId, Venue
from alphaforge.model.instruments import Instrument

__all__ = ["PaperExchange"]


class PaperExchange:
    """A simulated venue fed by live quotes.

    Parameters
    ----------
    venue, account_id
        The venue it stands in for and the paper account.
    process
        Where its reports go: ``ExecutionEngine.process``.
    clock, cache
        The node's clock and cache (latest quotes).
    config
        Latency and queue model of the simulated exchange.
    """

    def __init__(
        self,
        venue: Venue,
        account_id: AccountId,
        process: Callable[[Any], None],
        clock: Clock,
        cache: Cache,
        config: ExchangeConfig | None = None,
    ) -> None:
        self._clock = clock
        self.exchange = SimulatedExchange(
            venue, account_id, [], process, clock.timestamp_ns, cache.quote, config
        )

    @property
    def venue(self) -> Venue:
        """The venue."""
        return self.exchange.venue

    def add_instrument(self, instrument: Instrument) -> None:
        """List ``instrument`` (idempotent)."""
        try:
            self.exchange.market(instrument.id)
        except InvalidValue:  # not listed yet
            self.exchange.add_instrument(instrument)

    def on_quote(self, quote: QuoteTick) -> None:
        """A live quote (already in the cache): match resting orders, deliver due reports."""
        iid = quote.instrument_id
        exchange = self.exchange
        try:
            market = exchange.market(iid)
        except InvalidValue:  # an instrument this paper venue does not list
            return
        if exchange.has_working_orders(iid):
            exchange.on_quote(
                market, quote.ts_init, quote.bid_raw, quote.ask_raw,
                quote.bid_size_raw, quote.ask_size_raw,
            )  # fmt: skip
        self.advance()

    def advance(self) -> None:
        """Deliver delayed commands and reports that are due, expire orders."""
        self.exchange.advance(self._clock.timestamp_ns())
