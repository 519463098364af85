"""The object the registered factory returns: capabilities and the pure parsing half.

The network half (instrument provider, data and execution clients over ``alphaforge.net``)
plugs in here; until then :meth:`BinanceAdapter.data_client` and
:meth:`BinanceAdapter.execution_client` raise :class:`~alphaforge.errors.NotSupported`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alphaforge.adapters import Capabilities
from alphaforge.errors import ConfigError, NotSupported
from alphaforge.model import Instrument
from alphaforge_binance.book import BinanceBookSync
from alphaforge_binance.common import BinanceMarket, capabilities_for
from alphaforge_binance.instruments import parse_exchange_info

__all__ = ["BinanceAdapter"]

_KEYS = frozenset({"testnet"})


class BinanceAdapter:
    """One Binance market (spot or USD-M).

    Parameters
    ----------
    market
        Spot or USD-M.
    testnet
        Point the (future) clients at the testnet.

    Raises
    ------
    ConfigError
        An unknown configuration key or a non-bool ``testnet``.
    """

    def __init__(self, market: BinanceMarket, **config: Any) -> None:
        unknown = set(config) - _KEYS
        if unknown:
            key = sorted(unknown)[0]
            raise ConfigError(key, config[key], f"unknown key (known: {sorted(_KEYS)})")
        testnet = config.get("testnet", False)
        if type(testnet) is not bool:
            raise ConfigError("testnet", testnet, "must be a bool")
        self.market = market
        self.testnet = testnet

    @property
    def capabilities(self) -> Capabilities:
        """The declared capabilities of this market."""
        return capabilities_for(self.market)

    def parse_instruments(self, exchange_info: Mapping[str, Any]) -> list[Instrument]:
        """Instruments of an ``exchangeInfo`` body."""
        return parse_exchange_info(exchange_info, self.market)

    def book_sync(self, instrument: Instrument) -> BinanceBookSync:
        """A new book synchroniser for ``instrument`` with this market's rules."""
        return BinanceBookSync(instrument, self.market)

    def data_client(self) -> Any:
        """Not yet: the live data client needs ``alphaforge.net``."""
        raise NotSupported("binance: the live data client is not implemented yet")

    def execution_client(self, account_id: Any) -> Any:
        """Not yet: the live execution client needs ``alphaforge.net``."""
        raise NotSupported("binance: the live execution client is not implemented yet")
