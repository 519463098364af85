"""Order management system types."""

from __future__ import annotations

import enum

__all__ = ["OmsType"]


class OmsType(enum.Enum):
    """How fills map to positions."""

    NETTING = "NETTING"
    """One position per instrument and strategy."""
    HEDGING = "HEDGING"
    """A new position per opening order; several may be open at once."""
