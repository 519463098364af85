from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from alphaforge.clock import TestClock, TimeEvent

timers = st.lists(
    st.tuples(st.booleans(), st.integers(1, 50), st.integers(0, 30)),  # (periodic, n, start)
    min_size=1,
    max_size=8,
)
steps = st.lists(st.integers(0, 40), min_size=1, max_size=8)


@given(timers, steps)
def test_events_fire_in_nondecreasing_time_order(
    specs: list[tuple[bool, int, int]], advances: list[int]
) -> None:
    clock = TestClock(0)
    fired: list[TimeEvent] = []
    for i, (periodic, n, start) in enumerate(specs):
        if periodic:
            clock.set_timer(f"t{i}", n, fired.append, start_ns=start)
        else:
            clock.set_time_alert(f"t{i}", start + n, fired.append)
    returned: list[TimeEvent] = []
    now = 0
    for step in advances:
        now += step
        returned += clock.advance_time(now)
        assert clock.timestamp_ns() == now
    assert returned == fired
    stamps = [e.ts_event for e in fired]
    assert stamps == sorted(stamps)
    assert all(e.ts_event <= now for e in fired)
    assert [e.event_id for e in fired] == list(range(1, len(fired) + 1))
    # Exactly the expected firings, whatever the insertion order or step sizes.
    expected = sorted(
        (start + k * n, i)
        for i, (periodic, n, start) in enumerate(specs)
        for k in range(1, (now - start) // n + 1 if periodic else 2)
        if start + k * n <= now
    )
    assert sorted((e.ts_event, int(e.name[1:])) for e in fired) == expected


@given(timers, st.integers(0, 200), st.permutations(range(8)))
def test_outcome_independent_of_step_sizes(
    specs: list[tuple[bool, int, int]], end: int, perm: list[int]
) -> None:
    def run(cuts: list[int]) -> list[tuple[str, int, int]]:
        clock = TestClock(0)
        for i, (periodic, n, start) in enumerate(specs):
            if periodic:
                clock.set_timer(f"t{i}", n, lambda e: None, start_ns=start)
            else:
                clock.set_time_alert(f"t{i}", start + n, lambda e: None)
        out: list[TimeEvent] = []
        for cut in [*sorted(c for c in cuts if c <= end), end]:
            out += clock.advance_time(cut)
        return [(e.name, e.ts_event, e.event_id) for e in out]

    assert run([]) == run([p * 25 for p in perm])
