"""Message-bus names shared by the engines and strategies: the topic and endpoint table.

Topics (``msgbus.publish``)
---------------------------
=========================================  ==========================  ========================
topic (format)                             message                     published by
=========================================  ==========================  ========================
``data.quotes.<instrument_id>``            ``QuoteTick``               DataEngine
``data.trades.<instrument_id>``            ``TradeTick``               DataEngine
``data.bars.<bar_type>``                   ``Bar``                     DataEngine
``data.book.<instrument_id>``              the updated order book      DataEngine
``data.book_deltas.<instrument_id>``       ``OrderBookDeltas``         DataEngine
``events.order.<strategy_id>``             order events                ExecutionEngine
``events.position.<strategy_id>``          position events             ExecutionEngine
``events.account.<account_id>``            ``AccountState``            Portfolio
``events.risk``                            ``TradingStateChanged``     RiskEngine
=========================================  ==========================  ========================

``<instrument_id>`` is ``str(InstrumentId)`` (``BTCUSDT.BINANCE``), ``<bar_type>`` is
``str(BarType)`` (``BTCUSDT.BINANCE-1-MINUTE-LAST-EXTERNAL``), ``<strategy_id>`` is
``str(StrategyId)``. The DataEngine publishes a quote to ``data.quotes.<id>`` *after* adding it
to the cache, so a handler sees ``cache.quote(id) is quote``.

Endpoints (``msgbus.send``)
---------------------------
=========================  ============================================  =======================
endpoint                   message                                       registered by
=========================  ============================================  =======================
``risk.execute``           trading commands                              RiskEngine
``exec.execute``           trading commands (after risk)                 ExecutionEngine
``exec.process``           order events / ``AccountState``               ExecutionEngine
``data.subscriptions``     :class:`~alphaforge.trading.messages.          DataEngine (optional)
                           DataSubscription`
=========================  ============================================  =======================

Strategies send commands to ``risk.execute`` (or straight to ``exec.execute`` when the kernel
has no risk engine). Actors send :class:`~alphaforge.trading.messages.DataSubscription`
messages to ``data.subscriptions`` when that endpoint is registered, so a live DataEngine can
subscribe at the venue; the bus subscription itself is what delivers the data.

Use the helper functions below (or the ``*_TOPIC`` format strings with ``str.format``) rather
than writing topics by hand; a publisher on a hot path builds each topic string once.
"""

from __future__ import annotations

from typing import Final

from alphaforge.model.data import BarType
from alphaforge.model.identifiers import AccountId, InstrumentId, StrategyId

__all__ = [
    "ACCOUNT_TOPIC",
    "BARS_TOPIC",
    "BOOK_DELTAS_TOPIC",
    "BOOK_TOPIC",
    "DATA_SUBSCRIPTIONS_ENDPOINT",
    "EXEC_EXECUTE_ENDPOINT",
    "EXEC_PROCESS_ENDPOINT",
    "ORDER_EVENTS_TOPIC",
    "POSITION_EVENTS_TOPIC",
    "QUOTES_TOPIC",
    "RISK_EVENTS_TOPIC",
    "RISK_EXECUTE_ENDPOINT",
    "TRADES_TOPIC",
    "account_topic",
    "bars_topic",
    "book_deltas_topic",
    "book_topic",
    "order_events_topic",
    "position_events_topic",
    "quotes_topic",
    "trades_topic",
]

QUOTES_TOPIC: Final = "data.quotes.{instrument_id}"
TRADES_TOPIC: Final = "data.trades.{instrument_id}"
BARS_TOPIC: Final = "data.bars.{bar_type}"
BOOK_TOPIC: Final = "data.book.{instrument_id}"
BOOK_DELTAS_TOPIC: Final = "data.book_deltas.{instrument_id}"
ORDER_EVENTS_TOPIC: Final = "events.order.{strategy_id}"
POSITION_EVENTS_TOPIC: Final = "events.position.{strategy_id}"
ACCOUNT_TOPIC: Final = "events.account.{account_id}"
RISK_EVENTS_TOPIC: Final = "events.risk"

RISK_EXECUTE_ENDPOINT: Final = "risk.execute"
EXEC_EXECUTE_ENDPOINT: Final = "exec.execute"
EXEC_PROCESS_ENDPOINT: Final = "exec.process"
DATA_SUBSCRIPTIONS_ENDPOINT: Final = "data.subscriptions"


def quotes_topic(instrument_id: InstrumentId) -> str:
    """``data.quotes.<instrument_id>``."""
    return f"data.quotes.{instrument_id}"


def trades_topic(instrument_id: InstrumentId) -> str:
    """``data.trades.<instrument_id>``."""
    return f"data.trades.{instrument_id}"


def bars_topic(bar_type: BarType) -> str:
    """``data.bars.<bar_type>``."""
    return f"data.bars.{bar_type}"


def book_topic(instrument_id: InstrumentId) -> str:
    """``data.book.<instrument_id>`` (the book after an update)."""
    return f"data.book.{instrument_id}"


def book_deltas_topic(instrument_id: InstrumentId) -> str:
    """``data.book_deltas.<instrument_id>`` (the applied ``OrderBookDeltas``)."""
    return f"data.book_deltas.{instrument_id}"


def order_events_topic(strategy_id: StrategyId) -> str:
    """``events.order.<strategy_id>``."""
    return f"events.order.{strategy_id}"


def position_events_topic(strategy_id: StrategyId) -> str:
    """``events.position.<strategy_id>``."""
    return f"events.position.{strategy_id}"


def account_topic(account_id: AccountId) -> str:
    """``events.account.<account_id>``."""
    return f"events.account.{account_id}"
