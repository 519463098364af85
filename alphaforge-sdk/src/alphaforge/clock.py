"""Clocks: integer-nanosecond time and named timers.

Two implementations share one interface (:class:`Clock`):

- :class:`TestClock` -- deterministic time for backtests and tests. Time moves only through
  :meth:`TestClock.advance_time` / :meth:`TestClock.set_time`; timer events fire in timestamp
  order, ties in scheduling order.
- :class:`LiveClock` -- wall-clock time (:func:`time.time_ns`); timers fire from
  :meth:`LiveClock.run`, an anyio coroutine the caller runs in its own task group.

Timer semantics (both clocks)
-----------------------------
- ``set_timer(name, interval_ns, callback, start_ns=None, stop_ns=None)`` fires at
  ``start_ns + k * interval_ns`` for ``k = 1, 2, ...`` while that is ``<= stop_ns`` (forever if
  ``stop_ns`` is None). ``start_ns`` defaults to now.
- ``set_time_alert(name, alert_ns, callback)`` fires once at ``alert_ns``. An alert in the past
  is an error unless ``allow_past=True``, in which case it is due now (fires at the next
  ``advance_time`` on a test clock, on the next loop turn on a live clock).
- A name identifies one active timer or alert; reusing an active name is an error. A timer that
  has fired for the last time (alerts: once) is removed *before* its callback runs, so the
  callback may reuse the name.
- Callbacks may cancel timers (including their own) and set new ones while events are firing.
  A cancelled timer never fires again; a new timer due at or before the target time of the
  current ``advance_time`` fires within that same call, after the events already due at the same
  timestamp.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import attrs

from alphaforge.errors import InvalidStateTransition, InvalidValue

if TYPE_CHECKING:  # anyio is imported when a LiveClock runs: backtests never pay for it
    import anyio
    from anyio.abc import TaskStatus

__all__ = [
    "Clock",
    "LiveClock",
    "TestClock",
    "TimeEvent",
    "TimeEventCallback",
]


@attrs.frozen
class TimeEvent:
    """An event produced by a timer or time alert.

    Attributes
    ----------
    name
        The timer's name.
    event_id
        A per-clock counter starting at 1 (deterministic, unlike a UUID).
    ts_event
        The scheduled time of the event, ns since the Unix epoch.
    ts_init
        When the event object was created, ns since the Unix epoch (equal to ``ts_event`` on a
        :class:`TestClock`; at or after it on a :class:`LiveClock`).
    """

    name: str
    event_id: int
    ts_event: int
    ts_init: int


TimeEventCallback = Callable[[TimeEvent], object]
"""A timer callback: receives the :class:`TimeEvent`."""


@runtime_checkable
class Clock(Protocol):
    """What every clock offers to engines and strategies."""

    def timestamp_ns(self) -> int:
        """Return the current time in ns since the Unix epoch."""
        ...

    def utc_now(self) -> datetime:
        """Return the current time as a timezone-aware UTC datetime (microsecond precision)."""
        ...

    def set_timer(
        self,
        name: str,
        interval_ns: int,
        callback: TimeEventCallback,
        start_ns: int | None = None,
        stop_ns: int | None = None,
    ) -> None:
        """Start a repeating timer."""
        ...

    def set_time_alert(
        self,
        name: str,
        alert_ns: int,
        callback: TimeEventCallback,
        *,
        allow_past: bool = False,
    ) -> None:
        """Schedule a one-shot alert."""
        ...

    def cancel_timer(self, name: str) -> None:
        """Cancel the timer or alert ``name``."""
        ...

    def cancel_timers(self) -> None:
        """Cancel every timer and alert."""
        ...

    @property
    def timer_names(self) -> list[str]:
        """Names of the active timers and alerts, sorted."""
        ...

    def next_time_ns(self, name: str) -> int:
        """Return when the timer or alert ``name`` fires next."""
        ...


@attrs.define(eq=False)
class _Timer:
    name: str
    callback: TimeEventCallback
    interval_ns: int | None  # None for a one-shot alert
    next_ns: int
    stop_ns: int | None


def _check_int(field: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue(field, value, f"must be an int (ns), not {type(value).__name__}")
    if value < 0:
        raise InvalidValue(field, value, "must be >= 0 (ns since the Unix epoch)")
    return value


def _ns_to_datetime(ns: int) -> datetime:
    seconds, rem = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, tz=timezone.utc).replace(microsecond=rem // 1000)


class _TimerSchedule:
    """Named timers on a heap of ``(ts_ns, sequence, timer)`` with lazy deletion."""

    __slots__ = ("_heap", "_next_event_id", "_next_sequence", "_timers")

    def __init__(self) -> None:
        self._timers: dict[str, _Timer] = {}
        self._heap: list[tuple[int, int, _Timer]] = []
        self._next_sequence = 0
        self._next_event_id = 1

    def timestamp_ns(self) -> int:
        raise NotImplementedError

    def utc_now(self) -> datetime:
        """Return the current time as a timezone-aware UTC datetime (microsecond precision)."""
        return _ns_to_datetime(self.timestamp_ns())

    # -------------------------------------------------------------- scheduling

    def _push(self, timer: _Timer) -> None:
        heapq.heappush(self._heap, (timer.next_ns, self._next_sequence, timer))
        self._next_sequence += 1
        self._wake()

    def _wake(self) -> None:
        """Hook: a new entry was scheduled (the live clock wakes its loop)."""

    def _check_new(self, name: object, callback: object) -> str:
        if not isinstance(name, str) or not name:
            raise InvalidValue("name", name, "must be a non-empty str")
        if name in self._timers:
            raise InvalidValue("name", name, "a timer or alert with this name is already active")
        if not callable(callback):
            raise InvalidValue("callback", callback, "must be callable")
        return name

    def set_timer(
        self,
        name: str,
        interval_ns: int,
        callback: TimeEventCallback,
        start_ns: int | None = None,
        stop_ns: int | None = None,
    ) -> None:
        """Start a repeating timer firing at ``start_ns + k * interval_ns`` (k >= 1).

        Parameters
        ----------
        name
            Unique among the active timers and alerts of this clock.
        interval_ns
            Period in ns, > 0.
        callback
            Receives a :class:`TimeEvent` per firing.
        start_ns
            Reference time; defaults to now. The first event must not be in the past.
        stop_ns
            The last possible firing time (inclusive); None runs forever. Must be at or after
            the first firing time.

        Raises
        ------
        InvalidValue
            Naming the offending field; the clock is unchanged.
        """
        self._check_new(name, callback)
        if isinstance(interval_ns, bool) or not isinstance(interval_ns, int):
            raise InvalidValue("interval_ns", interval_ns, "must be an int (ns)")
        if interval_ns <= 0:
            raise InvalidValue("interval_ns", interval_ns, "must be > 0")
        now = self.timestamp_ns()
        start = now if start_ns is None else _check_int("start_ns", start_ns)
        first = start + interval_ns
        if first < now:
            raise InvalidValue(
                "start_ns", start_ns, f"first event at {first} would be before now ({now})"
            )
        if stop_ns is not None:
            _check_int("stop_ns", stop_ns)
            if stop_ns < first:
                raise InvalidValue(
                    "stop_ns", stop_ns, f"is before the first event at {first}; nothing would fire"
                )
        timer = _Timer(name, callback, interval_ns, first, stop_ns)
        self._timers[name] = timer
        self._push(timer)

    def set_time_alert(
        self,
        name: str,
        alert_ns: int,
        callback: TimeEventCallback,
        *,
        allow_past: bool = False,
    ) -> None:
        """Schedule a one-shot alert at ``alert_ns``.

        Parameters
        ----------
        name
            Unique among the active timers and alerts of this clock.
        alert_ns
            When to fire, ns since the Unix epoch.
        callback
            Receives the :class:`TimeEvent`.
        allow_past
            If True, an ``alert_ns`` before now is due immediately (its event carries
            ``ts_event = now``) instead of being an error.

        Raises
        ------
        InvalidValue
            Naming the offending field; the clock is unchanged.
        """
        self._check_new(name, callback)
        _check_int("alert_ns", alert_ns)
        now = self.timestamp_ns()
        if alert_ns < now:
            if not allow_past:
                raise InvalidValue(
                    "alert_ns", alert_ns, f"is in the past (now={now}); pass allow_past=True"
                )
            alert_ns = now
        timer = _Timer(name, callback, None, alert_ns, None)
        self._timers[name] = timer
        self._push(timer)

    def cancel_timer(self, name: str) -> None:
        """Cancel the timer or alert ``name``; it will not fire again.

        Raises
        ------
        InvalidValue
            If no timer or alert with this name is active.
        """
        if self._timers.pop(name, None) is None:
            raise InvalidValue("name", name, "no active timer or alert has this name")

    def cancel_timers(self) -> None:
        """Cancel every timer and alert."""
        self._timers.clear()
        self._heap.clear()

    @property
    def timer_names(self) -> list[str]:
        """Names of the active timers and alerts, sorted."""
        return sorted(self._timers)

    @property
    def timer_count(self) -> int:
        """Number of active timers and alerts."""
        return len(self._timers)

    def next_time_ns(self, name: str) -> int:
        """Return when the timer or alert ``name`` fires next (ns).

        Raises
        ------
        InvalidValue
            If no timer or alert with this name is active.
        """
        timer = self._timers.get(name)
        if timer is None:
            raise InvalidValue("name", name, "no active timer or alert has this name")
        return timer.next_ns

    def _next_due(self) -> int | None:
        """Earliest live heap entry's time (drops stale entries)."""
        heap = self._heap
        while heap:
            ts, _, timer = heap[0]
            if self._timers.get(timer.name) is timer and timer.next_ns == ts:
                return ts
            heapq.heappop(heap)
        return None

    def _pop_event(self, until_ns: int, ts_init: int | None) -> tuple[TimeEvent, _Timer] | None:
        """Pop the next event due at or before ``until_ns`` and reschedule/retire its timer."""
        ts = self._next_due()
        if ts is None or ts > until_ns:
            return None
        _, _, timer = heapq.heappop(self._heap)
        event = TimeEvent(timer.name, self._next_event_id, ts, ts if ts_init is None else ts_init)
        self._next_event_id += 1
        interval = timer.interval_ns
        if interval is not None and (timer.stop_ns is None or ts + interval <= timer.stop_ns):
            timer.next_ns = ts + interval
            self._push(timer)
        else:
            del self._timers[timer.name]
        return event, timer


class TestClock(_TimerSchedule):
    """A deterministic clock whose time moves only when told to.

    Parameters
    ----------
    start_ns
        Initial time, ns since the Unix epoch.

    Notes
    -----
    During :meth:`advance_time` the clock's time is set to each event's ``ts_event`` before its
    callback runs, so callbacks observe ``timestamp_ns() == event.ts_event``. A callback that
    raises propagates out of ``advance_time``; the clock then stands at that event's time, the
    raising timer is already rescheduled, and later events stay pending.
    """

    __test__ = False  # not a pytest test class
    __slots__ = ("_advancing", "_now")

    def __init__(self, start_ns: int = 0) -> None:
        super().__init__()
        self._now = _check_int("start_ns", start_ns)
        self._advancing = False

    def __repr__(self) -> str:
        return f"TestClock(now={self._now}, timers={self.timer_names})"

    def timestamp_ns(self) -> int:
        """Return the current (simulated) time in ns since the Unix epoch."""
        return self._now

    def set_time(self, to_ns: int) -> None:
        """Jump to ``to_ns`` without firing events.

        Events scheduled at or before ``to_ns`` stay pending and fire (with their original
        ``ts_event``, ``ts_init`` = the clock's time) at the next :meth:`advance_time`.

        Raises
        ------
        InvalidValue
            If ``to_ns`` is before the current time.
        """
        _check_int("to_ns", to_ns)
        if to_ns < self._now:
            raise InvalidValue("to_ns", to_ns, f"is before the current time {self._now}")
        self._now = to_ns

    def next_due_ns(self) -> int | None:
        """When the next timer or alert fires (ns), or None when none is set."""
        return self._next_due()

    def step_to(self, to_ns: int) -> None:
        """The replay fast path: like :meth:`advance_time`, for a caller that guarantees
        ``to_ns`` is an int not before the current time (a backtest feeding sorted data).

        Costs one comparison when no timer is due (``advance_time`` checks and allocates).
        """
        heap = self._heap
        if heap and heap[0][0] <= to_ns:
            self.advance_time(to_ns)
        else:
            self._now = to_ns

    def advance_time(self, to_ns: int, *, fire: bool = True) -> list[TimeEvent]:
        """Move time forward to ``to_ns``, firing every event due on the way.

        Parameters
        ----------
        to_ns
            The target time; must not be before the current time.
        fire
            If False, the events are produced (timers rescheduled) and returned, but the
            callbacks are not called.

        Returns
        -------
        list[TimeEvent]
            The events, in firing order: nondecreasing ``ts_event``, ties in scheduling order.

        Raises
        ------
        InvalidValue
            If ``to_ns`` is before the current time (nothing fires, time is unchanged).
        InvalidStateTransition
            If called from inside a timer callback of this clock.
        """
        _check_int("to_ns", to_ns)
        if to_ns < self._now:
            raise InvalidValue("to_ns", to_ns, f"is before the current time {self._now}")
        if self._advancing:
            raise InvalidStateTransition("advance_time called from inside a timer callback")
        events: list[TimeEvent] = []
        self._advancing = True
        try:
            while True:
                now = self._now
                popped = self._pop_event(to_ns, None)
                if popped is None:
                    break
                event, timer = popped
                if event.ts_event < now:  # due before a set_time jump
                    event = attrs.evolve(event, ts_init=now)
                else:
                    self._now = event.ts_event
                events.append(event)
                if fire:
                    timer.callback(event)
        finally:
            self._advancing = False
        self._now = to_ns
        return events


class LiveClock(_TimerSchedule):
    """Wall-clock time; timers fire from the :meth:`run` coroutine.

    Parameters
    ----------
    on_callback_error
        Called with ``(error, event)`` when a timer callback raises. The default logs it
        (logger ``alphaforge.clock``). The timer keeps running either way.

    Notes
    -----
    Run :meth:`run` in a task group of the live node's event loop (anyio, asyncio or trio)::

        async with anyio.create_task_group() as tg:
            await tg.start(clock.run)
            ...
            tg.cancel_scope.cancel()

    Timers may be set and cancelled from the loop's thread at any time (before or while
    ``run`` is running). Events of a repeating timer are never skipped: if the loop was
    blocked past several firing times, the missed events fire back to back, each with its
    scheduled ``ts_event``. The clock is not thread-safe.
    """

    __slots__ = ("_callback_errors", "_wakeup", "on_callback_error")

    def __init__(
        self, *, on_callback_error: Callable[[Exception, TimeEvent], None] | None = None
    ) -> None:
        super().__init__()
        self._wakeup: anyio.Event | None = None
        self._callback_errors = 0
        self.on_callback_error: Callable[[Exception, TimeEvent], None] = (
            on_callback_error if on_callback_error is not None else _log_callback_error
        )

    def __repr__(self) -> str:
        return f"LiveClock(timers={self.timer_names})"

    def timestamp_ns(self) -> int:
        """Return the wall-clock time in ns since the Unix epoch."""
        return time.time_ns()

    @property
    def callback_error_count(self) -> int:
        """Number of timer callbacks that raised."""
        return self._callback_errors

    def _wake(self) -> None:
        if self._wakeup is not None:
            self._wakeup.set()

    def fire_due(self) -> list[TimeEvent]:
        """Fire every event due now (the body of :meth:`run`; useful to drive by hand).

        Returns
        -------
        list[TimeEvent]
            The events fired, in order.
        """
        events: list[TimeEvent] = []
        while True:
            now = time.time_ns()
            popped = self._pop_event(now, now)
            if popped is None:
                return events
            event, timer = popped
            events.append(event)
            try:
                timer.callback(event)
            except Exception as exc:  # noqa: BLE001 - reported; the timer keeps running
                self._callback_errors += 1
                self.on_callback_error(exc, event)

    async def run(self, *, task_status: TaskStatus[None] | None = None) -> None:
        """Fire timers as they come due, until cancelled.

        Parameters
        ----------
        task_status
            Supplied by ``TaskGroup.start``; ``started()`` is signalled once the loop runs.

        Raises
        ------
        InvalidStateTransition
            If ``run`` is already running for this clock.
        """
        import anyio
        import anyio.lowlevel

        if self._wakeup is not None:
            raise InvalidStateTransition("LiveClock.run is already running")
        self._wakeup = anyio.Event()
        if task_status is not None:
            task_status.started()
        try:
            while True:
                self.fire_due()
                wakeup = anyio.Event()
                self._wakeup = wakeup
                due = self._next_due()
                if due is None:
                    await wakeup.wait()
                    continue
                delay = (due - time.time_ns()) / 1e9
                if delay > 0:
                    with anyio.move_on_after(delay):
                        await wakeup.wait()
                else:
                    await anyio.lowlevel.checkpoint()
        finally:
            self._wakeup = None


def _log_callback_error(exc: Exception, event: TimeEvent) -> None:
    logging.getLogger("alphaforge.clock").error(
        "timer %r callback raised on event %d (%s: %s)",
        event.name,
        event.event_id,
        type(exc).__name__,
        exc,
        exc_info=exc,
    )
