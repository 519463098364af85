"""The SDK's live adapter conformance kit on Binance: the adapter the plugin's entry point
registers, over real sockets against the loopback venue (anyio: asyncio and trio)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import pytest
from alphaforge_binance.conformance import BinanceConformanceVenue

from alphaforge.model import InstrumentId
from alphaforge.testing import LiveAdapterConformance


class BinanceLive(LiveAdapterConformance):
    """One Binance market against its loopback; a subclass picks the market."""

    adapter_name: ClassVar[str | None] = "binance"
    market: ClassVar[str] = "spot"
    instrument: ClassVar[str] = "BTCUSDT.BINANCE"

    @pytest.fixture(params=["asyncio", "trio"])
    def anyio_backend(self, request: pytest.FixtureRequest) -> str:
        return str(request.param)

    @pytest.fixture
    def conformance_venue(self) -> Iterator[BinanceConformanceVenue]:
        with BinanceConformanceVenue(seed=11, market=self.market) as venue:
            yield venue

    @pytest.fixture
    def adapter_config(
        self, conformance_venue: BinanceConformanceVenue, request_timeout: float
    ) -> Mapping[str, Any]:
        return {"rest_url": conformance_venue.rest_url, "ws_url": conformance_venue.ws_url,
                "api_key": "loopback-key", "api_secret": "loopback-secret",
                "request_timeout": request_timeout}  # fmt: skip

    @pytest.fixture
    def instrument_id(self) -> InstrumentId:
        return InstrumentId.from_str(self.instrument)


class TestBinanceSpotLive(BinanceLive):
    pass


class TestBinanceUsdmLive(BinanceLive):
    adapter_name = "binance_usdm"
    market = "usdm"
    instrument = "BTCUSDT.BINANCE_USDM"
