"""Binance markets, venues and declared capabilities."""

from __future__ import annotations

import enum
from typing import Final

from alphaforge.adapters import (
    AuthScheme,
    BookIntegrity,
    Capabilities,
    InstrumentKind,
    MarketDataKind,
)
from alphaforge.model import OrderType, TimeInForce, Venue

__all__ = [
    "SPOT_CAPABILITIES",
    "SPOT_VENUE",
    "USDM_CAPABILITIES",
    "USDM_VENUE",
    "BinanceMarket",
    "capabilities_for",
    "venue_for",
]


class BinanceMarket(enum.Enum):
    """Which Binance API a parser or book follows."""

    SPOT = "spot"
    """Spot API v3 (``api.binance.com``)."""
    USDM = "usdm"
    """USD-M futures ``/fapi/v1`` (``fapi.binance.com``)."""


SPOT_VENUE: Final = Venue("BINANCE")
"""Spot instruments: ``BTCUSDT.BINANCE``."""
USDM_VENUE: Final = Venue("BINANCE_USDM")
"""USD-M futures: ``BTCUSDT.BINANCE_USDM`` (a distinct venue: own account, own order routing)."""

_MARKET_DATA: Final = frozenset(MarketDataKind)

SPOT_CAPABILITIES: Final = Capabilities(
    venue=SPOT_VENUE,
    order_types={OrderType.MARKET, OrderType.LIMIT, OrderType.STOP_MARKET, OrderType.STOP_LIMIT},
    time_in_force={TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK},
    post_only=True,  # LIMIT_MAKER
    reduce_only=False,
    iceberg=False,  # the venue has icebergQty; the adapter sends no display quantity yet
    amend=False,  # only keep-priority quantity decreases; not a general modify
    cancel_replace=True,
    batch_submit=False,
    batch_cancel=True,  # DELETE /api/v3/openOrders
    ws_order_entry=False,  # the venue has WebSocket order entry; the adapter uses REST
    book_integrity={BookIntegrity.SEQUENCE},
    user_stream=True,
    testnet=True,
    instrument_kinds={InstrumentKind.SPOT},
    market_data=_MARKET_DATA,
    auth={AuthScheme.HMAC_SHA256, AuthScheme.ED25519},  # RSA keys: not yet
)
"""Binance Spot as declared to the engines and the conformance kit."""

USDM_CAPABILITIES: Final = Capabilities(
    venue=USDM_VENUE,
    order_types={
        OrderType.MARKET,
        OrderType.LIMIT,
        OrderType.STOP_MARKET,
        OrderType.STOP_LIMIT,
        OrderType.MARKET_IF_TOUCHED,
        OrderType.LIMIT_IF_TOUCHED,
    },
    time_in_force={TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK, TimeInForce.GTD},
    post_only=True,  # timeInForce GTX
    reduce_only=True,
    iceberg=False,
    amend=True,  # PUT /fapi/v1/order (LIMIT price and quantity)
    cancel_replace=False,
    batch_submit=False,  # the venue has POST /fapi/v1/batchOrders; the adapter sends one by one
    batch_cancel=True,  # DELETE /fapi/v1/allOpenOrders
    ws_order_entry=False,  # the venue has WebSocket order entry; the adapter uses REST
    book_integrity={BookIntegrity.SEQUENCE},
    user_stream=True,
    testnet=True,
    instrument_kinds={InstrumentKind.PERPETUAL, InstrumentKind.FUTURE},
    market_data=_MARKET_DATA,
    auth={AuthScheme.HMAC_SHA256, AuthScheme.ED25519},  # RSA keys: not yet
)
"""Binance USD-M futures as declared to the engines and the conformance kit."""


def capabilities_for(market: BinanceMarket) -> Capabilities:
    """The declared capabilities of ``market``."""
    return SPOT_CAPABILITIES if market is BinanceMarket.SPOT else USDM_CAPABILITIES


def venue_for(market: BinanceMarket) -> Venue:
    """The AlphaForge venue of ``market``."""
    return SPOT_VENUE if market is BinanceMarket.SPOT else USDM_VENUE
