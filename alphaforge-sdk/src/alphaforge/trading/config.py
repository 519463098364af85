"""Configuration classes for actors and strategies (frozen attrs, keyword-only).

Subclass them for parameters; :func:`alphaforge.config.load_config` builds them from TOML::

    @attrs.frozen(kw_only=True)
    class EMACrossConfig(StrategyConfig):
        instrument_id: str
        fast: int = 100
        slow: int = 400
        trade_size: Decimal = Decimal("0.01")
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from alphaforge.errors import ConfigError, InvalidValue
from alphaforge.execution.oms import OmsType

__all__ = ["ActorConfig", "StrategyConfig"]


def _check_id(field: str, value: object) -> None:
    if value is None:
        return
    if type(value) is not str or not value or not value.isprintable() or " " in value:
        raise InvalidValue(field, value, "must be a non-empty str without whitespace")


@attrs.frozen(kw_only=True)
class ActorConfig:
    """Settings of an :class:`~alphaforge.trading.actor.Actor`.

    Parameters
    ----------
    component_id
        The actor's id; defaults to the class name.
    """

    component_id: str | None = None

    def __attrs_post_init__(self) -> None:
        _check_id("component_id", self.component_id)


@attrs.frozen(kw_only=True)
class StrategyConfig:
    """Settings of a :class:`~alphaforge.trading.strategy.Strategy`.

    Parameters
    ----------
    strategy_id
        The strategy's id; defaults to ``"<ClassName>-<order_id_tag>"``.
    order_id_tag
        Distinguishes the client order ids of strategy instances (``[A-Za-z0-9_]+``).
    oms_type
        ``NETTING`` or ``HEDGING`` for this strategy's orders; ``None`` uses the venue's.
    """

    strategy_id: str | None = None
    order_id_tag: str = "000"
    oms_type: OmsType | None = None

    def __attrs_post_init__(self) -> None:
        _check_id("strategy_id", self.strategy_id)
        tag = self.order_id_tag
        if (
            type(tag) is not str
            or not tag
            or not tag.isascii()
            or not tag.replace("_", "").isalnum()
        ):
            raise InvalidValue("order_id_tag", tag, "must be ASCII letters, digits or '_'")
        if self.oms_type is not None and type(self.oms_type) is not OmsType:
            raise InvalidValue("oms_type", self.oms_type, "must be an OmsType or None")


@attrs.frozen
class StrategySection:
    """A ``[[strategies]]`` entry of a run file: a registered strategy and its parameters."""

    name: str
    config: dict[str, Any] = attrs.field(factory=dict)


def strategy_config_class(strategy_cls: Any) -> type[Any]:
    """The attrs config class a strategy takes (its ``config_class``, else the base)."""
    return getattr(strategy_cls, "config_class", StrategyConfig)


def build_strategies(kernel: Any, sections: Sequence[StrategySection]) -> list[Any]:
    """Strategies named in a run file, built from the kernel's registered components.

    Raises
    ------
    ConfigError
        An unknown strategy name or a bad parameter (the message names the key path).
    """
    from alphaforge.config import load_config

    registered = kernel.components("strategy")
    strategies = []
    for index, section in enumerate(sections):
        component = registered.get(section.name)
        if component is None:
            raise ConfigError(
                f"strategies[{index}].name", section.name,
                f"no such strategy (registered: {', '.join(sorted(registered)) or 'none'})",
            )  # fmt: skip
        try:
            params = load_config(strategy_config_class(component.factory), section.config)
        except ConfigError as exc:  # name the key path from the top of the file
            raise ConfigError(
                f"strategies[{index}].config.{exc.field}", exc.value, exc.reason
            ) from exc
        strategies.append(component.factory(params))
    return strategies
