from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

import anyio
import attrs
import pytest

from alphaforge.clock import Clock, LiveClock, TestClock, TimeEvent
from alphaforge.errors import InvalidStateTransition, InvalidValue

MS = 1_000_000


def names(events: list[TimeEvent]) -> list[tuple[str, int]]:
    return [(e.name, e.ts_event) for e in events]


def test_both_clocks_satisfy_the_protocol() -> None:
    assert isinstance(TestClock(), Clock)
    assert isinstance(LiveClock(), Clock)


def test_timestamp_and_utc_now() -> None:
    clock = TestClock(1_700_000_000_123_456_789)
    assert clock.timestamp_ns() == 1_700_000_000_123_456_789
    assert clock.utc_now() == datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=timezone.utc)


def test_timer_fires_at_each_interval_and_events_are_frozen() -> None:
    clock = TestClock(0)
    got: list[TimeEvent] = []
    clock.set_timer("t", 10, got.append)
    events = clock.advance_time(35)
    assert names(events) == [("t", 10), ("t", 20), ("t", 30)]
    assert got == events
    assert [e.event_id for e in events] == [1, 2, 3]
    assert all(e.ts_init == e.ts_event for e in events)
    assert clock.timestamp_ns() == 35
    assert clock.next_time_ns("t") == 40
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        events[0].name = "x"  # type: ignore[misc]


def test_callbacks_see_event_time() -> None:
    clock = TestClock(0)
    seen: list[tuple[int, int]] = []
    clock.set_timer("t", 5, lambda e: seen.append((e.ts_event, clock.timestamp_ns())))
    clock.advance_time(12)
    assert seen == [(5, 5), (10, 10)]


def test_start_and_stop() -> None:
    clock = TestClock(100)
    clock.set_timer("t", 10, lambda e: None, start_ns=105, stop_ns=135)
    events = clock.advance_time(1000)
    assert [e.ts_event for e in events] == [115, 125, 135]
    assert clock.timer_names == []


def test_ties_break_by_insertion_order() -> None:
    clock = TestClock(0)
    clock.set_timer("b", 10, lambda e: None)
    clock.set_timer("a", 5, lambda e: None)
    clock.set_time_alert("c", 10, lambda e: None)
    events = clock.advance_time(20)
    assert names(events) == [
        ("a", 5),
        ("b", 10),
        ("c", 10),
        ("a", 10),  # rescheduled at t=5, i.e. after b and c were set
        ("a", 15),
        ("b", 20),  # rescheduled at t=10 before a was
        ("a", 20),
    ]


def test_time_alert_fires_once() -> None:
    clock = TestClock(0)
    got: list[TimeEvent] = []
    clock.set_time_alert("alert", 50, got.append)
    assert clock.timer_names == ["alert"]
    assert clock.advance_time(49) == []
    assert names(clock.advance_time(100)) == [("alert", 50)]
    assert clock.advance_time(200) == []
    assert clock.timer_names == []
    assert len(got) == 1


def test_alert_in_the_past() -> None:
    clock = TestClock(100)
    with pytest.raises(InvalidValue, match="in the past") as info:
        clock.set_time_alert("a", 99, lambda e: None)
    assert info.value.field == "alert_ns"
    assert clock.timer_names == []
    clock.set_time_alert("a", 99, lambda e: None, allow_past=True)
    assert clock.next_time_ns("a") == 100
    assert names(clock.advance_time(100)) == [("a", 100)]


def test_alert_at_now_fires_on_next_advance() -> None:
    clock = TestClock(100)
    clock.set_time_alert("a", 100, lambda e: None)
    assert names(clock.advance_time(100)) == [("a", 100)]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"interval_ns": 0}, "interval_ns"),
        ({"interval_ns": -5}, "interval_ns"),
        ({"interval_ns": 1.5}, "interval_ns"),
        ({"interval_ns": 10, "start_ns": 50}, "start_ns"),  # first event at 60 < now 100
        ({"interval_ns": 10, "start_ns": -1}, "start_ns"),
        ({"interval_ns": 10, "stop_ns": 105}, "stop_ns"),  # before the first event (110)
        ({"interval_ns": 10, "name": ""}, "name"),
        ({"interval_ns": 10, "callback": 3}, "callback"),
    ],
)
def test_set_timer_rejects_bad_input(kwargs: dict[str, Any], field: str) -> None:
    clock = TestClock(100)
    args: dict[str, Any] = {"name": "t", "callback": lambda e: None}
    args.update(kwargs)
    with pytest.raises(InvalidValue) as info:
        clock.set_timer(**args)
    assert info.value.field == field
    assert clock.timer_names == []


def test_duplicate_names_are_rejected_state_unchanged() -> None:
    clock = TestClock(0)
    clock.set_timer("t", 10, lambda e: None)
    with pytest.raises(InvalidValue, match="already active") as info:
        clock.set_time_alert("t", 5, lambda e: None)
    assert info.value.field == "name"
    assert names(clock.advance_time(10)) == [("t", 10)]


def test_cancel_timer() -> None:
    clock = TestClock(0)
    clock.set_timer("t", 10, lambda e: None)
    clock.cancel_timer("t")
    assert clock.advance_time(100) == []
    with pytest.raises(InvalidValue) as info:
        clock.cancel_timer("t")
    assert info.value.field == "name"
    with pytest.raises(InvalidValue):
        clock.next_time_ns("t")


def test_cancel_timers_and_reuse_name() -> None:
    clock = TestClock(0)
    clock.set_timer("t", 10, lambda e: None)
    clock.set_time_alert("a", 5, lambda e: None)
    clock.cancel_timers()
    assert clock.timer_names == []
    clock.set_timer("t", 3, lambda e: None)
    assert names(clock.advance_time(6)) == [("t", 3), ("t", 6)]


def test_advance_backwards_is_an_error_and_changes_nothing() -> None:
    clock = TestClock(100)
    clock.set_timer("t", 10, lambda e: None)
    with pytest.raises(InvalidValue) as info:
        clock.advance_time(99)
    assert info.value.field == "to_ns"
    assert clock.timestamp_ns() == 100
    assert clock.next_time_ns("t") == 110


def test_callback_cancels_itself() -> None:
    clock = TestClock(0)
    count = 0

    def cb(e: TimeEvent) -> None:
        nonlocal count
        count += 1
        if count == 2:
            clock.cancel_timer("t")

    clock.set_timer("t", 10, cb)
    events = clock.advance_time(100)
    assert names(events) == [("t", 10), ("t", 20)]
    assert clock.timer_names == []


def test_callback_sets_new_timer_that_fires_in_same_advance() -> None:
    clock = TestClock(0)

    def cb(e: TimeEvent) -> None:
        clock.set_time_alert("follow", e.ts_event + 5, lambda ev: None)
        clock.set_time_alert("same-time", e.ts_event, lambda ev: None)

    clock.set_time_alert("first", 10, cb)
    clock.set_time_alert("other", 10, lambda e: None)
    events = clock.advance_time(100)
    assert names(events) == [("first", 10), ("other", 10), ("same-time", 10), ("follow", 15)]


def test_alert_callback_may_reuse_its_name() -> None:
    clock = TestClock(0)

    def cb(e: TimeEvent) -> None:
        if e.ts_event < 30:
            clock.set_time_alert("a", e.ts_event + 10, cb)

    clock.set_time_alert("a", 10, cb)
    assert names(clock.advance_time(100)) == [("a", 10), ("a", 20), ("a", 30)]


def test_reentrant_advance_is_rejected() -> None:
    clock = TestClock(0)
    clock.set_time_alert("a", 10, lambda e: clock.advance_time(20))
    with pytest.raises(InvalidStateTransition):
        clock.advance_time(15)


def test_callback_error_propagates_and_leaves_consistent_state() -> None:
    clock = TestClock(0)

    def cb(e: TimeEvent) -> None:
        if e.ts_event == 20:
            raise RuntimeError("boom")

    clock.set_timer("t", 10, cb)
    with pytest.raises(RuntimeError):
        clock.advance_time(50)
    assert clock.timestamp_ns() == 20
    assert clock.next_time_ns("t") == 30
    assert names(clock.advance_time(50)) == [("t", 30), ("t", 40), ("t", 50)]


def test_advance_without_firing() -> None:
    clock = TestClock(0)
    got: list[TimeEvent] = []
    clock.set_timer("t", 10, got.append)
    events = clock.advance_time(30, fire=False)
    assert len(events) == 3
    assert got == []


def test_set_time_keeps_overdue_events_pending() -> None:
    clock = TestClock(0)
    clock.set_time_alert("a", 10, lambda e: None)
    clock.set_time(50)
    assert clock.timestamp_ns() == 50
    (event,) = clock.advance_time(50)
    assert (event.ts_event, event.ts_init) == (10, 50)
    with pytest.raises(InvalidValue) as info:
        clock.set_time(40)
    assert info.value.field == "to_ns"
    assert clock.timestamp_ns() == 50


def test_event_ids_are_deterministic_across_runs() -> None:
    def run() -> list[TimeEvent]:
        clock = TestClock(0)
        clock.set_timer("x", 7, lambda e: None)
        clock.set_timer("y", 3, lambda e: None)
        return clock.advance_time(50)

    assert run() == run()


def test_start_ns_must_be_an_int() -> None:
    with pytest.raises(InvalidValue) as info:
        TestClock("0")  # type: ignore[arg-type]
    assert info.value.field == "start_ns"


# ---------------------------------------------------------------------- LiveClock


def test_live_clock_time_is_wall_clock() -> None:
    clock = LiveClock()
    before = time.time_ns()
    now = clock.timestamp_ns()
    after = time.time_ns()
    assert before <= now <= after
    assert abs((clock.utc_now() - datetime.now(timezone.utc)).total_seconds()) < 5


@pytest.mark.anyio
async def test_live_timer_and_alert_fire_in_order() -> None:
    clock = LiveClock()
    events: list[TimeEvent] = []
    done = anyio.Event()

    def on_tick(e: TimeEvent) -> None:
        events.append(e)
        if sum(1 for x in events if x.name == "tick") == 3:
            clock.cancel_timer("tick")
            done.set()

    async with anyio.create_task_group() as tg:
        await tg.start(clock.run)
        clock.set_timer("tick", 5 * MS, on_tick)
        clock.set_time_alert("alert", clock.timestamp_ns() + 2 * MS, events.append)
        with anyio.fail_after(10):
            await done.wait()
        tg.cancel_scope.cancel()

    ticks = [e for e in events if e.name == "tick"]
    assert len(ticks) == 3
    assert [e.name for e in events].count("alert") == 1
    assert [e.ts_event for e in events] == sorted(e.ts_event for e in events)
    assert all(e.ts_init >= e.ts_event for e in events)
    assert [e.event_id for e in events] == list(range(1, len(events) + 1))
    assert ticks[1].ts_event - ticks[0].ts_event == 5 * MS
    assert clock.timer_names == []


@pytest.mark.anyio
async def test_live_timer_set_before_run_and_errors_are_counted() -> None:
    errors: list[tuple[Exception, TimeEvent]] = []
    clock = LiveClock(on_callback_error=lambda exc, e: errors.append((exc, e)))
    fired = anyio.Event()

    def bad(e: TimeEvent) -> None:
        fired.set()
        raise RuntimeError("boom")

    clock.set_time_alert("past", 0, bad, allow_past=True)
    async with anyio.create_task_group() as tg:
        await tg.start(clock.run)
        with anyio.fail_after(10):
            await fired.wait()
        tg.cancel_scope.cancel()
    assert clock.callback_error_count == 1
    assert errors[0][1].name == "past"


@pytest.mark.anyio
async def test_live_run_twice_is_rejected() -> None:
    clock = LiveClock()
    async with anyio.create_task_group() as tg:
        await tg.start(clock.run)
        with pytest.raises(InvalidStateTransition):
            await clock.run()
        tg.cancel_scope.cancel()


def test_live_fire_due_by_hand() -> None:
    clock = LiveClock()
    clock.set_time_alert("a", clock.timestamp_ns(), lambda e: None, allow_past=True)
    clock.set_time_alert("later", clock.timestamp_ns() + 60 * 1_000_000_000, lambda e: None)
    events = clock.fire_due()
    assert [e.name for e in events] == ["a"]
    assert clock.timer_names == ["later"]
