"""Capped exponential backoff with full jitter."""

from __future__ import annotations

import random

import attrs

from alphaforge.errors import InvalidValue

__all__ = ["Backoff"]


def _positive(_inst: object, attr: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise InvalidValue(attr.name, value, "must be > 0")


@attrs.frozen
class Backoff:
    """Capped exponential backoff with *full* jitter.

    The delay before retry ``attempt`` (0-based) is drawn uniformly from
    ``[0, min(cap, base * factor**attempt)]``. Full jitter spreads a crowd of clients that lost
    their connection at the same moment instead of having them reconnect in lock step.

    Parameters
    ----------
    base
        Ceiling of the first delay, in seconds.
    cap
        Largest possible delay, in seconds.
    factor
        Growth of the ceiling per attempt.

    Examples
    --------
    >>> import random
    >>> b = Backoff(base=1.0, cap=8.0)
    >>> [b.ceiling(n) for n in range(5)]
    [1.0, 2.0, 4.0, 8.0, 8.0]
    >>> 0.0 <= b.delay(3, random.Random(1)) <= 8.0
    True
    """

    base: float = attrs.field(default=0.5, validator=_positive)
    cap: float = attrs.field(default=30.0, validator=_positive)
    factor: float = attrs.field(default=2.0, validator=_positive)

    def ceiling(self, attempt: int) -> float:
        """Return the upper bound of the delay before retry ``attempt`` (0-based)."""
        if attempt < 0:
            raise InvalidValue("attempt", attempt, "must be >= 0")
        try:
            return min(self.cap, self.base * self.factor**attempt)
        except OverflowError:
            return self.cap

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Return a jittered delay in ``[0, ceiling(attempt)]`` drawn from ``rng``."""
        return rng.uniform(0.0, self.ceiling(attempt))
