"""Pre-trade risk: :class:`RiskEngine`, :class:`RiskConfig`, :class:`TradingState`."""

from alphaforge.risk.engine import (
    RiskConfig,
    RiskEngine,
    TokenBucket,
    TradingState,
    TradingStateChanged,
)

__all__ = ["RiskConfig", "RiskEngine", "TokenBucket", "TradingState", "TradingStateChanged"]
