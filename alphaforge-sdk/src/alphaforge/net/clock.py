"""Server-clock offset estimation for signed requests (NTP style)."""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable

import attrs

from alphaforge.errors import InvalidValue

__all__ = ["ClockSample", "ServerClock"]


@attrs.frozen
class ClockSample:
    """One offset measurement.

    Attributes
    ----------
    offset_ms
        ``server_time - (sent + received) / 2``: add it to local time to get server time.
    rtt_ms
        Round-trip time of the measurement; the error of ``offset_ms`` is at most ``rtt_ms / 2``.
    """

    offset_ms: float
    rtt_ms: float


def _wall_ms() -> float:
    return time.time() * 1000.0


class ServerClock:
    """Estimates the offset between the local clock and a venue's clock.

    Each sample is taken NTP style: local time before sending, the server time from the reply,
    local time on receipt; the server is assumed to have stamped its reply half way through the
    round trip. The estimate is the median offset of the lowest-RTT half of the recent samples
    (a slow round trip says little about the offset). :meth:`now_ms` is what signed requests put
    in their ``timestamp``.

    Parameters
    ----------
    max_samples
        How many recent samples are kept.
    wall_ms
        Local wall clock in milliseconds (injectable for tests).

    Examples
    --------
    >>> clock = ServerClock(wall_ms=lambda: 1_000.0)
    >>> clock.add_sample(sent_ms=1_000.0, server_ms=1_510, received_ms=1_020.0)
    >>> clock.offset_ms
    500.0
    >>> clock.now_ms()
    1500
    """

    def __init__(self, *, max_samples: int = 16, wall_ms: Callable[[], float] = _wall_ms) -> None:
        if max_samples < 1:
            raise InvalidValue("max_samples", max_samples, "must be >= 1")
        self._samples: deque[ClockSample] = deque(maxlen=max_samples)
        self._wall_ms = wall_ms
        self._offset_ms = 0.0
        self._lock = threading.Lock()
        self._stale = True
        self.resyncs = 0

    def __repr__(self) -> str:
        return f"ServerClock(offset_ms={self._offset_ms:.1f}, samples={len(self._samples)})"

    @property
    def offset_ms(self) -> float:
        """Estimate of ``server time - local time`` in ms (0 before any sample)."""
        return self._offset_ms

    @property
    def stale(self) -> bool:
        """``True`` before the first sync and after :meth:`invalidate`."""
        return self._stale

    @property
    def samples(self) -> tuple[ClockSample, ...]:
        """The recent samples, oldest first."""
        with self._lock:
            return tuple(self._samples)

    def local_ms(self) -> float:
        """Local wall clock in milliseconds."""
        return self._wall_ms()

    def now_ms(self) -> int:
        """Estimated server time in integer milliseconds, for request timestamps."""
        return round(self._wall_ms() + self._offset_ms)

    def add_sample(self, *, sent_ms: float, server_ms: float, received_ms: float) -> None:
        """Record one measurement and update the estimate."""
        if received_ms < sent_ms:
            raise InvalidValue("received_ms", received_ms, "is before sent_ms")
        sample = ClockSample(
            offset_ms=server_ms - (sent_ms + received_ms) / 2.0, rtt_ms=received_ms - sent_ms
        )
        with self._lock:
            self._samples.append(sample)
            best = sorted(self._samples, key=lambda s: s.rtt_ms)[: max(1, len(self._samples) // 2)]
            self._offset_ms = statistics.median(s.offset_ms for s in best)
            self._stale = False

    def invalidate(self) -> None:
        """Forget the samples (e.g. after a venue timestamp error); keep the last estimate."""
        with self._lock:
            self._samples.clear()
            self._stale = True

    async def sync(
        self, fetch_server_ms: Callable[[], Awaitable[float]], samples: int = 3
    ) -> float:
        """Take ``samples`` measurements with ``fetch_server_ms`` and return the new offset.

        Parameters
        ----------
        fetch_server_ms
            Coroutine function returning the venue's current time in ms (e.g. ``GET /time``).
        samples
            Number of round trips.
        """
        for _ in range(samples):
            sent = self._wall_ms()
            server = await fetch_server_ms()
            self.add_sample(sent_ms=sent, server_ms=server, received_ms=self._wall_ms())
        self.resyncs += 1
        return self._offset_ms
