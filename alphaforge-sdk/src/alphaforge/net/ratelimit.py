"""A process-wide weighted rate limiter keyed by (venue, key-or-IP, bucket).

The :class:`RateLimiterRegistry` is an explicit object owned by the kernel / live node and passed
to every client of a venue, so that all of them draw from the same buckets. There is no
module-level default instance.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence

import anyio
import attrs

from alphaforge.errors import ConfigError, InvalidValue
from alphaforge.net.backoff import Backoff
from alphaforge.net.errors import RateLimited

__all__ = ["RateLimitRule", "RateLimiter", "RateLimiterRegistry", "TokenBucket"]


@attrs.frozen
class RateLimitRule:
    """A venue limit: at most ``limit`` weight per ``interval`` seconds.

    Parameters
    ----------
    bucket
        Name of the bucket (e.g. ``"REQUEST_WEIGHT"``, ``"ORDERS_10S"``); weights are charged by
        this name.
    limit
        Weight allowed per interval.
    interval
        Interval in seconds.
    used_weight_header
        Response header in which the venue reports the weight used in the current interval
        (e.g. Binance ``X-MBX-USED-WEIGHT-1M``); the limiter adopts it as the truth.
    """

    bucket: str
    limit: int
    interval: float
    used_weight_header: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.limit <= 0:
            raise InvalidValue("limit", self.limit, "must be > 0")
        if not self.interval > 0:
            raise InvalidValue("interval", self.interval, "must be > 0")


class TokenBucket:
    """A token bucket refilled continuously at ``limit / interval`` per second.

    Not thread-safe on its own: the registry's lock guards every bucket.
    """

    __slots__ = ("_clock", "_tokens", "_updated", "rule")

    def __init__(self, rule: RateLimitRule, clock: Callable[[], float]) -> None:
        self.rule = rule
        self._clock = clock
        self._tokens = float(rule.limit)
        self._updated = clock()

    def __repr__(self) -> str:
        return f"TokenBucket({self.rule.bucket!r}, tokens={self.tokens:.1f}/{self.rule.limit})"

    @property
    def tokens(self) -> float:
        """Available weight now."""
        self._refill()
        return self._tokens

    def _refill(self) -> None:
        now = self._clock()
        rate = self.rule.limit / self.rule.interval
        self._tokens = min(float(self.rule.limit), self._tokens + (now - self._updated) * rate)
        self._updated = now

    def wait_time(self, weight: int) -> float:
        """Seconds until ``weight`` is available (0 if it is now)."""
        self._refill()
        deficit = weight - self._tokens
        return 0.0 if deficit <= 0 else deficit * self.rule.interval / self.rule.limit

    def take(self, weight: int) -> None:
        """Charge ``weight`` (may go negative when a venue header said so)."""
        self._refill()
        self._tokens -= weight

    def set_used(self, used: float) -> None:
        """Adopt the venue's count of weight used in the current interval."""
        self._refill()
        self._tokens = max(0.0, self.rule.limit - used)


@attrs.define
class _Penalty:
    """Shared 429/418 state of one (venue, key)."""

    blocked_until: float = 0.0
    strikes: int = 0


class RateLimiter:
    """The view of one client on the shared buckets it must respect.

    Created by :meth:`RateLimiterRegistry.limiter`; two limiters naming the same
    (venue, key, bucket) share that bucket, and a 429 seen by one blocks all of them.
    """

    def __init__(
        self,
        registry: RateLimiterRegistry,
        venue: str,
        buckets: Mapping[str, tuple[str, TokenBucket]],
        penalties: Sequence[_Penalty],
    ) -> None:
        self._registry = registry
        self.venue = venue
        self._buckets = dict(buckets)
        self._penalties = tuple(penalties)

    def __repr__(self) -> str:
        return f"RateLimiter(venue={self.venue!r}, buckets={sorted(self._buckets)})"

    @property
    def default_bucket(self) -> str:
        """The first bucket: charged when a request gives a bare integer weight."""
        return next(iter(self._buckets))

    def _weights(self, weights: int | Mapping[str, int]) -> dict[str, int]:
        if isinstance(weights, int):
            weights = {self.default_bucket: weights}
        for name, w in weights.items():
            if name not in self._buckets:
                raise InvalidValue("weights", name, f"unknown bucket for venue {self.venue!r}")
            if w < 0 or w > self._buckets[name][1].rule.limit:
                raise InvalidValue("weights", w, f"must be in [0, limit] for bucket {name!r}")
        return dict(weights)

    def _wait_locked(self, weights: Mapping[str, int]) -> float:
        now = self._registry.clock()
        wait = max((p.blocked_until - now for p in self._penalties), default=0.0)
        for name, w in weights.items():
            wait = max(wait, self._buckets[name][1].wait_time(w))
        return max(0.0, wait)

    def try_acquire(self, weights: int | Mapping[str, int] = 1) -> bool:
        """Charge ``weights`` if available now; return whether it was."""
        ws = self._weights(weights)
        with self._registry.lock:
            if self._wait_locked(ws) > 0:
                return False
            for name, w in ws.items():
                self._buckets[name][1].take(w)
            return True

    async def acquire(
        self, weights: int | Mapping[str, int] = 1, *, max_wait: float | None = None
    ) -> float:
        """Wait until ``weights`` are available, charge them and return the time waited.

        Parameters
        ----------
        weights
            Weight for the default bucket, or a mapping bucket name -> weight.
        max_wait
            Raise :class:`RateLimited` instead of waiting longer than this many seconds.
        """
        ws = self._weights(weights)
        waited = 0.0
        while True:
            with self._registry.lock:
                wait = self._wait_locked(ws)
                if wait <= 0:
                    for name, w in ws.items():
                        self._buckets[name][1].take(w)
                    return waited
            if max_wait is not None and waited + wait > max_wait:
                raise RateLimited(
                    f"local limiter: {wait:.3f}s wait exceeds max_wait={max_wait}",
                    venue=self.venue,
                    status=0,
                    retry_after=wait,
                )
            await anyio.sleep(wait)
            waited += wait

    def observe(self, headers: Mapping[str, str]) -> None:
        """Correct the buckets from the venue's used-weight headers (case-insensitive)."""
        lowered = {k.lower(): v for k, v in headers.items()}
        with self._registry.lock:
            for _key, bucket in self._buckets.values():
                header = bucket.rule.used_weight_header
                if header is None or header.lower() not in lowered:
                    continue
                try:
                    used = float(lowered[header.lower()])
                except ValueError:
                    continue
                bucket.set_used(used)

    def record_success(self) -> None:
        """A request went through: reset the escalation of penalties."""
        with self._registry.lock:
            for p in self._penalties:
                p.strikes = 0

    def penalize(self, retry_after: float | None) -> float:
        """Block every request through these keys after a 429/418; return the block in seconds.

        Honours ``retry_after`` when the venue gave one; otherwise blocks for an escalating
        :attr:`RateLimiterRegistry.penalty_backoff` ceiling (1 s, 2 s, 4 s ...), so that the
        process stops sending before the venue escalates from 429 to an IP ban (418).
        """
        with self._registry.lock:
            now = self._registry.clock()
            strikes = max(p.strikes for p in self._penalties)
            block = (
                retry_after
                if retry_after is not None
                else self._registry.penalty_backoff.ceiling(strikes)
            )
            for p in self._penalties:
                p.strikes += 1
                p.blocked_until = max(p.blocked_until, now + block)
            return block

    def blocked_for(self) -> float:
        """Seconds until a 429/418 block lifts (0 if none)."""
        with self._registry.lock:
            now = self._registry.clock()
            return max(0.0, max((p.blocked_until - now for p in self._penalties), default=0.0))

    def headroom(self) -> dict[str, float]:
        """Fraction of each bucket still available now (0.0 while blocked by a 429)."""
        blocked = self.blocked_for() > 0
        with self._registry.lock:
            return {
                name: 0.0 if blocked else max(0.0, b.tokens) / b.rule.limit
                for name, (_k, b) in self._buckets.items()
            }


class RateLimiterRegistry:
    """Owns every token bucket of the process, keyed by (venue, key-or-IP, bucket).

    Parameters
    ----------
    clock
        Monotonic clock in seconds (injectable for tests).
    penalty_backoff
        Block durations after a 429 that carried no ``Retry-After``.

    Examples
    --------
    >>> reg = RateLimiterRegistry()
    >>> weight = RateLimitRule("REQUEST_WEIGHT", 6000, 60.0, "X-MBX-USED-WEIGHT-1M")
    >>> orders = RateLimitRule("ORDERS_10S", 100, 10.0, "X-MBX-ORDER-COUNT-10S")
    >>> a = reg.limiter("binance", {"ip": [weight], "key:abc": [orders]})
    >>> b = reg.limiter("binance", {"ip": [weight]})
    >>> a.try_acquire({"REQUEST_WEIGHT": 600, "ORDERS_10S": 1})
    True
    >>> round(b.headroom()["REQUEST_WEIGHT"], 2)   # b shares the IP bucket with a
    0.9
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        penalty_backoff: Backoff = Backoff(base=1.0, cap=120.0),  # noqa: B008 - frozen value
    ) -> None:
        self.clock = clock
        self.penalty_backoff = penalty_backoff
        self.lock = threading.Lock()
        self._buckets: dict[tuple[str, str, str], TokenBucket] = {}
        self._penalties: dict[tuple[str, str], _Penalty] = {}

    def __repr__(self) -> str:
        return f"RateLimiterRegistry(buckets={len(self._buckets)})"

    def limiter(self, venue: str, rules: Mapping[str, Sequence[RateLimitRule]]) -> RateLimiter:
        """Return a limiter over the buckets ``{key: [rules]}`` of ``venue``, creating them once.

        Parameters
        ----------
        venue
            Venue name.
        rules
            Rules per key: ``"ip"`` (or the IP) for IP limits, an API-key id for account limits.
            Bucket names must be unique across keys.

        Raises
        ------
        ConfigError
            If a bucket already exists with a different rule, or a bucket name repeats.
        """
        if not rules or not any(rules.values()):
            raise ConfigError("rules", dict(rules), "at least one rule is required")
        buckets: dict[str, tuple[str, TokenBucket]] = {}
        penalties: list[_Penalty] = []
        with self.lock:
            for key, key_rules in rules.items():
                penalties.append(self._penalties.setdefault((venue, key), _Penalty()))
                for rule in key_rules:
                    if rule.bucket in buckets:
                        raise ConfigError("rules", rule.bucket, "bucket name repeats")
                    existing = self._buckets.get((venue, key, rule.bucket))
                    if existing is None:
                        existing = TokenBucket(rule, self.clock)
                        self._buckets[(venue, key, rule.bucket)] = existing
                    elif existing.rule != rule:
                        raise ConfigError(
                            f"rules[{key!r}]", rule.bucket, f"already registered as {existing.rule}"
                        )
                    buckets[rule.bucket] = (key, existing)
        return RateLimiter(self, venue, buckets, penalties)

    def headroom(self) -> dict[tuple[str, str, str], float]:
        """Fraction available per (venue, key, bucket), for the health monitor."""
        with self.lock:
            now = self.clock()
            out: dict[tuple[str, str, str], float] = {}
            for (venue, key, name), b in self._buckets.items():
                pen = self._penalties.get((venue, key))
                blocked = pen is not None and pen.blocked_until > now
                out[(venue, key, name)] = 0.0 if blocked else max(0.0, b.tokens) / b.rule.limit
            return out
