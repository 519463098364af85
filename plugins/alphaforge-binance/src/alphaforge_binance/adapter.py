"""The object the registered factory returns: capabilities, the parsing half and the live
clients (:mod:`alphaforge_binance.live`, Spot and USD-M).

Configuration keys: ``testnet`` (bool), ``rest_url`` / ``ws_url`` (override both, e.g. a
loopback venue), ``api_key`` / ``api_secret`` (str or :class:`~alphaforge.config.Secret`),
``key_type`` (``"hmac"`` / ``"ed25519"``; default: a PEM ``api_secret`` is Ed25519),
``listen_key_keepalive_s``, ``recv_window_ms``, ``request_timeout``, ``trade_stream``
(``"trade"`` / ``"aggTrade"``), ``rate_limiter`` (the node's registry).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alphaforge.adapters import Capabilities
from alphaforge.config import Secret
from alphaforge.errors import ConfigError
from alphaforge.model import AccountId, Instrument
from alphaforge_binance.book import BinanceBookSync
from alphaforge_binance.common import BinanceMarket, capabilities_for
from alphaforge_binance.instruments import parse_exchange_info
from alphaforge_binance.live import (
    ENDPOINTS,
    BinanceConfig,
    BinanceDataClient,
    BinanceEndpoints,
    BinanceExecutionClient,
    BinanceInstrumentProvider,
    BinanceRest,
)

__all__ = ["BinanceAdapter"]

_KEYS = frozenset({"testnet", "rest_url", "ws_url", "api_key", "api_secret", "recv_window_ms",
                   "request_timeout", "rate_limiter", "key_type",
                   "listen_key_keepalive_s", "trade_stream"})  # fmt: skip


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
        env = ENDPOINTS[(market, "testnet" if testnet else "mainnet")]
        rest_url = config.get("rest_url", env.rest_url)
        ws_url = config.get("ws_url", env.ws_url)
        for name, value in (("rest_url", rest_url), ("ws_url", ws_url)):
            if type(value) is not str:
                raise ConfigError(name, value, "must be a str")
        extra: dict[str, Any] = {}
        for name in ("api_key", "api_secret"):
            value = config.get(name)
            if value is not None:
                extra[name] = value if isinstance(value, Secret) else Secret(str(value))
        if config.get("key_type") not in (None, "hmac", "ed25519"):
            raise ConfigError("key_type", config["key_type"], "must be 'hmac' or 'ed25519'")
        if config.get("trade_stream", "trade") not in ("trade", "aggTrade"):
            raise ConfigError("trade_stream", config["trade_stream"], "must be trade or aggTrade")
        for name in ("recv_window_ms", "request_timeout", "rate_limiter", "key_type",
                     "listen_key_keepalive_s", "trade_stream"):  # fmt: skip
            if name in config:
                extra[name] = config[name]
        try:
            self.config = BinanceConfig(
                market=market, endpoints=BinanceEndpoints(rest_url, ws_url), **extra
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError("config", sorted(extra), str(exc)) from None
        self._rest: BinanceRest | None = None
        self._provider: BinanceInstrumentProvider | None = None

    def _shared_rest(self) -> BinanceRest:
        if self._rest is None:
            self._rest = BinanceRest(self.config)
        return self._rest

    @property
    def instrument_provider(self) -> BinanceInstrumentProvider:
        """The shared instrument provider (``exchangeInfo``)."""
        if self._provider is None:
            self._provider = BinanceInstrumentProvider(self._shared_rest())
        return self._provider

    async def aclose(self) -> None:
        """Close the shared REST connection pool."""
        if self._rest is not None:
            await self._rest.aclose()

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

    def data_client(self) -> BinanceDataClient:
        """A new data client of this market."""
        return BinanceDataClient(self.config, self._shared_rest(), self.instrument_provider)

    def execution_client(self, account_id: AccountId) -> BinanceExecutionClient:
        """A new execution client (needs ``api_key`` and ``api_secret``)."""
        if self.config.api_key is None or self.config.api_secret is None:
            raise ConfigError("api_key", None, "the execution client needs api_key and api_secret")
        return BinanceExecutionClient(
            self.config, self._shared_rest(), self.instrument_provider, account_id
        )
