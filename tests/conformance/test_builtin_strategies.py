"""The strategy conformance kit against the SDK's own registered example strategies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from alphaforge.testing import StrategyConformance


class TestEmaCross(StrategyConformance):
    strategy_name = "ema_cross"

    @pytest.fixture
    def strategy_config(self) -> Mapping[str, Any]:
        return {"instrument_id": "BTCUSDT.SIM", "fast": 20, "slow": 80, "trade_size": "0.01"}


class TestEmaCrossBars(StrategyConformance):
    strategy_name = "ema_cross_bars"
    live_expects_orders = False  # live 1-minute bars close on the wall clock, not in a replay

    @pytest.fixture
    def strategy_config(self) -> Mapping[str, Any]:
        return {"instrument_id": "BTCUSDT.SIM", "fast": 3, "slow": 8, "trade_size": "0.01"}


class TestMarketMaker(StrategyConformance):
    strategy_name = "market_maker"

    @pytest.fixture
    def strategy_config(self) -> Mapping[str, Any]:
        return {"instrument_id": "BTCUSDT.SIM"}
