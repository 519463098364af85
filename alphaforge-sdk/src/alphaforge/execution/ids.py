"""Deterministic id generation for events and commands.

Engines stamp every event and command they create with an id from an :class:`IdGenerator`
(``"<prefix>-<n>"``, ``n`` counting from 1) instead of a random UUID, so two backtest runs over
the same inputs produce byte-identical event streams.
"""

from __future__ import annotations

from alphaforge.errors import InvalidValue

__all__ = ["IdGenerator"]


class IdGenerator:
    """A counter rendered as ``"<prefix>-<n>"``.

    Parameters
    ----------
    prefix
        Non-empty text without whitespace (e.g. ``"EXEC"``).

    Examples
    --------
    >>> ids = IdGenerator("EXEC")
    >>> ids(), ids()
    ('EXEC-1', 'EXEC-2')
    """

    __slots__ = ("_count", "prefix")

    def __init__(self, prefix: str) -> None:
        if type(prefix) is not str or not prefix or not prefix.isprintable() or " " in prefix:
            raise InvalidValue("prefix", prefix, "must be a non-empty str without whitespace")
        self.prefix = prefix
        self._count = 0

    def __call__(self) -> str:
        self._count += 1
        return f"{self.prefix}-{self._count}"

    @property
    def count(self) -> int:
        """How many ids were generated since creation or the last :meth:`reset`."""
        return self._count

    def reset(self) -> None:
        """Start counting from 1 again."""
        self._count = 0
