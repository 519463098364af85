"""AlphaForge adapter for Binance Spot and USD-M futures.

The parsing half: instruments from ``exchangeInfo``, market-data parsers, diff-depth book sync
(:class:`BinanceBookSync`), user-stream and REST order reports, new-order requests.
"""

from __future__ import annotations

from alphaforge_binance.adapter import BinanceAdapter
from alphaforge_binance.book import BinanceBookSync
from alphaforge_binance.common import (
    SPOT_CAPABILITIES,
    SPOT_VENUE,
    USDM_CAPABILITIES,
    USDM_VENUE,
    BinanceMarket,
    capabilities_for,
    venue_for,
)
from alphaforge_binance.instruments import parse_exchange_info, parse_symbol
from alphaforge_binance.market_data import (
    bar_spec_from_interval,
    parse_agg_trade,
    parse_book_ticker,
    parse_depth_snapshot,
    parse_depth_update,
    parse_kline,
    parse_trade,
    unwrap,
)
from alphaforge_binance.orders import (
    encode_new_order,
    parse_execution_report,
    parse_order_response,
    parse_order_trade_update,
    parse_user_event,
)

__version__ = "0.1.0"

__all__ = [
    "SPOT_CAPABILITIES",
    "SPOT_VENUE",
    "USDM_CAPABILITIES",
    "USDM_VENUE",
    "BinanceAdapter",
    "BinanceBookSync",
    "BinanceMarket",
    "bar_spec_from_interval",
    "capabilities_for",
    "encode_new_order",
    "parse_agg_trade",
    "parse_book_ticker",
    "parse_depth_snapshot",
    "parse_depth_update",
    "parse_exchange_info",
    "parse_execution_report",
    "parse_kline",
    "parse_order_response",
    "parse_order_trade_update",
    "parse_symbol",
    "parse_trade",
    "parse_user_event",
    "unwrap",
    "venue_for",
]
