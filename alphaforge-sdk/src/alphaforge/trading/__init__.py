"""Strategies and actors: :class:`Strategy`, :class:`Actor`, :class:`OrderFactory`, :class:`Trader`.

Exports are resolved lazily (``alphaforge.trading.topics`` is imported by the engines without
pulling in the strategy framework).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alphaforge.trading.actor import INDICATOR_PRIORITY, Actor, ComponentState
    from alphaforge.trading.config import ActorConfig, StrategyConfig
    from alphaforge.trading.factory import OrderFactory
    from alphaforge.trading.messages import DataKind, DataSubscription
    from alphaforge.trading.strategy import Strategy
    from alphaforge.trading.trader import Trader

_EXPORTS: dict[str, str] = {
    "INDICATOR_PRIORITY": "alphaforge.trading.actor",
    "Actor": "alphaforge.trading.actor",
    "ActorConfig": "alphaforge.trading.config",
    "ComponentState": "alphaforge.trading.actor",
    "DataKind": "alphaforge.trading.messages",
    "DataSubscription": "alphaforge.trading.messages",
    "OrderFactory": "alphaforge.trading.factory",
    "Strategy": "alphaforge.trading.strategy",
    "StrategyConfig": "alphaforge.trading.config",
    "Trader": "alphaforge.trading.trader",
}

__all__ = [
    "INDICATOR_PRIORITY",
    "Actor",
    "ActorConfig",
    "ComponentState",
    "DataKind",
    "DataSubscription",
    "OrderFactory",
    "Strategy",
    "StrategyConfig",
    "Trader",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'alphaforge.trading' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
