"""Enumerations of the domain model.

Integer values are part of the C ABI contract where noted (``IntEnum``); do not renumber.
"""

from __future__ import annotations

import enum

__all__ = [
    "AggregationSource",
    "AggressorSide",
    "BarAggregation",
    "BookAction",
    "BookType",
    "LiquiditySide",
    "OptionKind",
    "OrderSide",
    "OrderStatus",
    "OrderType",
    "PriceType",
    "TimeInForce",
]


class OrderSide(enum.IntEnum):
    """Side of an order or a book level. ``NO_SIDE`` is only for sideless book deltas (CLEAR)."""

    NO_SIDE = 0
    BUY = 1
    SELL = 2


class AggressorSide(enum.IntEnum):
    """Which side took liquidity in a trade."""

    NO_AGGRESSOR = 0
    BUYER = 1
    SELLER = 2


class BookAction(enum.IntEnum):
    """What an order-book delta does (C ABI values)."""

    ADD = 1
    UPDATE = 2
    DELETE = 3
    CLEAR = 4


class BookType(enum.IntEnum):
    """Order-book granularity (C ABI values)."""

    L1_MBP = 1
    L2_MBP = 2
    L3_MBO = 3


class BarAggregation(enum.IntEnum):
    """How bars are aggregated."""

    TICK = 1
    VOLUME = 2
    VALUE = 3
    SECOND = 4
    MINUTE = 5
    HOUR = 6
    DAY = 7


class PriceType(enum.IntEnum):
    """Which price a bar is built from."""

    BID = 1
    ASK = 2
    MID = 3
    LAST = 4


class AggregationSource(enum.IntEnum):
    """Whether a bar comes from the venue (EXTERNAL) or is built locally (INTERNAL)."""

    EXTERNAL = 1
    INTERNAL = 2


class OptionKind(enum.IntEnum):
    """Option right."""

    CALL = 1
    PUT = 2


class OrderType(enum.IntEnum):
    """Order type."""

    MARKET = 1
    LIMIT = 2
    STOP_MARKET = 3
    STOP_LIMIT = 4
    MARKET_IF_TOUCHED = 5
    LIMIT_IF_TOUCHED = 6


class TimeInForce(enum.IntEnum):
    """Time in force."""

    GTC = 1
    IOC = 2
    FOK = 3
    GTD = 4
    DAY = 5


class OrderStatus(enum.IntEnum):
    """Order lifecycle status (see :data:`alphaforge.model.orders.ORDER_TRANSITIONS`)."""

    INITIALIZED = 1
    DENIED = 2
    SUBMITTED = 3
    ACCEPTED = 4
    REJECTED = 5
    CANCELED = 6
    EXPIRED = 7
    TRIGGERED = 8
    PENDING_UPDATE = 9
    PENDING_CANCEL = 10
    PARTIALLY_FILLED = 11
    FILLED = 12


class LiquiditySide(enum.IntEnum):
    """Whether a fill added (MAKER) or removed (TAKER) liquidity."""

    NO_LIQUIDITY_SIDE = 0
    MAKER = 1
    TAKER = 2
