"""AlphaForge: an embeddable algorithmic-trading SDK over a Rust core.

The top-level names are imported lazily so that ``import alphaforge`` stays cheap; the native
core is loaded (and its ABI checked) the first time something needs it.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # avoids importing `typing` (~10 ms) just for annotations
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "Kernel": "alphaforge.kernel",
    "KernelConfig": "alphaforge.kernel",
    "hookimpl": "alphaforge.kernel",
    "MessageBus": "alphaforge.msgbus",
    "TestClock": "alphaforge.clock",
    "LiveClock": "alphaforge.clock",
    "Cache": "alphaforge.cache",
    "load_config": "alphaforge.config",
    "Price": "alphaforge.model",
    "Quantity": "alphaforge.model",
    "Money": "alphaforge.model",
    "InstrumentId": "alphaforge.model",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'alphaforge' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
