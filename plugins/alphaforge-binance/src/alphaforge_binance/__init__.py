"""AlphaForge adapter for Binance Spot and USD-M futures.

The parsing half: instruments from ``exchangeInfo``, market-data parsers, diff-depth book sync
(:class:`BinanceBookSync`), user-stream and REST order reports, new-order requests.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
        kline_interval,
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
        parse_account_position,
        parse_account_update,
        parse_execution_report,
        parse_order_response,
        parse_order_trade_update,
        parse_spot_account,
        parse_usdm_account,
        parse_user_event,
    )

# Resolved on first use: discovering the plugin must not import its dependencies.
_EXPORTS: dict[str, str] = {
    "BinanceAdapter": "alphaforge_binance.adapter",
    "BinanceBookSync": "alphaforge_binance.book",
    "BinanceMarket": "alphaforge_binance.common",
    "SPOT_CAPABILITIES": "alphaforge_binance.common",
    "SPOT_VENUE": "alphaforge_binance.common",
    "USDM_CAPABILITIES": "alphaforge_binance.common",
    "USDM_VENUE": "alphaforge_binance.common",
    "bar_spec_from_interval": "alphaforge_binance.market_data",
    "capabilities_for": "alphaforge_binance.common",
    "encode_new_order": "alphaforge_binance.orders",
    "kline_interval": "alphaforge_binance.market_data",
    "parse_account_position": "alphaforge_binance.orders",
    "parse_account_update": "alphaforge_binance.orders",
    "parse_agg_trade": "alphaforge_binance.market_data",
    "parse_book_ticker": "alphaforge_binance.market_data",
    "parse_depth_snapshot": "alphaforge_binance.market_data",
    "parse_depth_update": "alphaforge_binance.market_data",
    "parse_exchange_info": "alphaforge_binance.instruments",
    "parse_execution_report": "alphaforge_binance.orders",
    "parse_kline": "alphaforge_binance.market_data",
    "parse_order_response": "alphaforge_binance.orders",
    "parse_order_trade_update": "alphaforge_binance.orders",
    "parse_spot_account": "alphaforge_binance.orders",
    "parse_symbol": "alphaforge_binance.instruments",
    "parse_trade": "alphaforge_binance.market_data",
    "parse_usdm_account": "alphaforge_binance.orders",
    "parse_user_event": "alphaforge_binance.orders",
    "unwrap": "alphaforge_binance.market_data",
    "venue_for": "alphaforge_binance.common",
}

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
    "kline_interval",
    "parse_account_position",
    "parse_account_update",
    "parse_agg_trade",
    "parse_book_ticker",
    "parse_depth_snapshot",
    "parse_depth_update",
    "parse_exchange_info",
    "parse_execution_report",
    "parse_kline",
    "parse_order_response",
    "parse_order_trade_update",
    "parse_spot_account",
    "parse_symbol",
    "parse_trade",
    "parse_usdm_account",
    "parse_user_event",
    "unwrap",
    "venue_for",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
