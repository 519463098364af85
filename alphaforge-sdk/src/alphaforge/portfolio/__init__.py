"""Portfolio: positions, accounts, PnL, exposure and multi-currency equity.

See :mod:`alphaforge.portfolio.position` for the exact accounting rules and
:mod:`alphaforge.portfolio.portfolio` for marks, conversion and equity.
"""

from alphaforge.portfolio.accounts import (
    Account,
    AccountBalance,
    AccountState,
    AccountType,
    CashAccount,
    MarginAccount,
    MarginBalance,
)
from alphaforge.portfolio.events import (
    PositionChanged,
    PositionClosed,
    PositionEvent,
    PositionOpened,
)
from alphaforge.portfolio.portfolio import Portfolio
from alphaforge.portfolio.position import Position, PositionSide

__all__ = [
    "Account",
    "AccountBalance",
    "AccountState",
    "AccountType",
    "CashAccount",
    "MarginAccount",
    "MarginBalance",
    "Portfolio",
    "Position",
    "PositionChanged",
    "PositionClosed",
    "PositionEvent",
    "PositionOpened",
    "PositionSide",
]
