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

import attrs

from alphaforge.errors import InvalidValue
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
