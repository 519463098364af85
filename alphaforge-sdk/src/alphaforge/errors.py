"""The AlphaForge exception tree: one root, one screen.

Every error the SDK raises derives from :class:`AlphaForgeError`. Errors about
bad input also derive from the matching builtin (``ValueError``,
``OverflowError``, ...) so callers that catch builtins keep working.

::

    AlphaForgeError
    ├── InvalidValue (ValueError)          bad input; names the field and the value
    │   ├── PrecisionError                 a value does not fit the requested precision
    │   ├── ConfigError                    a configuration key is unknown or has the wrong type
    │   └── (book.BookDeltaError, data.errors.DataImportError: their module's bad input)
    ├── ArithmeticOverflow (OverflowError) a fixed-point result does not fit in int64
    ├── InvalidStateTransition             e.g. an order event illegal in the order's state
    ├── KernelStateError                   a lifecycle call in the wrong kernel state
    ├── NotSupported                       a capability the component does not declare
    ├── PluginError
    │   ├── PluginLoadError                a plugin failed to import or register (strict mode)
    │   └── DuplicateComponent             two components registered under one name
    └── NativeError                        the native core reported a failure
        ├── ABIMismatch (ImportError)      the shared library does not match this package
        └── (book.BookIntegrityError)

Network failures have their own branch in :mod:`alphaforge.net.errors` (a definitive
``VenueRejected`` versus an ``OutcomeUnknown`` order).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ABIMismatch",
    "AlphaForgeError",
    "ArithmeticOverflow",
    "ConfigError",
    "DuplicateComponent",
    "InvalidStateTransition",
    "InvalidValue",
    "KernelStateError",
    "NativeError",
    "NotSupported",
    "PluginError",
    "PluginLoadError",
    "PrecisionError",
]


class AlphaForgeError(Exception):
    """Root of every exception raised by AlphaForge."""


class InvalidValue(AlphaForgeError, ValueError):
    """Bad input. The message names the field and the offending value.

    Parameters
    ----------
    field
        Name (or dotted path) of the input that was rejected.
    value
        The rejected value, kept for programmatic inspection.
    reason
        Why the value was rejected.
    """

    def __init__(self, field: str, value: Any, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field}={value!r}: {reason}")

    @classmethod
    def from_message(cls, message: str) -> InvalidValue:
        """An error whose message already names the field and value (e.g. from the native core)."""
        exc = cls.__new__(cls)
        Exception.__init__(exc, message)
        exc.field, exc.value, exc.reason = "", None, message
        return exc


class PrecisionError(InvalidValue):
    """A value does not fit the requested precision without losing digits."""


class ConfigError(InvalidValue):
    """A configuration key is unknown, missing or has the wrong type (field is the key path)."""


class ArithmeticOverflow(AlphaForgeError, OverflowError):
    """A fixed-point operation overflowed its int64 raw value."""


class InvalidStateTransition(AlphaForgeError):
    """An event or command is not legal in the current state of a state machine."""


class KernelStateError(AlphaForgeError):
    """A kernel lifecycle method was called in a state that does not allow it."""


class NotSupported(AlphaForgeError):
    """The component does not declare the capability that was used."""


class PluginError(AlphaForgeError):
    """Base class for plugin discovery and registration errors."""


class PluginLoadError(PluginError):
    """A plugin failed to import or to register its components."""


class DuplicateComponent(PluginError):
    """Two plugins registered a component of the same kind under the same name."""


class NativeError(AlphaForgeError):
    """The native core returned a failure status.

    Attributes
    ----------
    status
        The negative ``AF_ERR_*`` status code returned by the C ABI.
    """

    def __init__(self, message: str, status: int = 0) -> None:
        self.status = status
        super().__init__(message)


class ABIMismatch(NativeError, ImportError):
    """The shared library's ABI version or record layouts differ from this package's."""
