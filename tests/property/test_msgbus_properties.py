from __future__ import annotations

import fnmatch
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from alphaforge.msgbus import MessageBus, topic_matches

# No '[' or ']': the bus treats them literally, fnmatch as character classes.
TOPIC_CHARS = st.sampled_from(list("ab.XY_1"))
topics = st.text(TOPIC_CHARS, min_size=1, max_size=12)
patterns = st.text(st.sampled_from(list("ab.XY_1*?")), min_size=1, max_size=10)


@given(patterns, topics)
def test_matching_agrees_with_fnmatchcase(pattern: str, topic: str) -> None:
    assert topic_matches(pattern, topic) == fnmatch.fnmatchcase(topic, pattern)


class Tagged:
    def __init__(self, tag: int, log: list[tuple[int, str]]) -> None:
        self.tag = tag
        self.log = log

    def __call__(self, msg: str) -> None:
        self.log.append((self.tag, msg))


@given(
    st.lists(st.tuples(patterns, st.integers(-3, 3)), max_size=8),
    st.lists(topics, max_size=10),
)
def test_delivery_set_and_order(subs: list[tuple[str, int]], published: list[str]) -> None:
    bus = MessageBus()
    log: list[tuple[int, str]] = []
    for i, (pattern, priority) in enumerate(subs):
        bus.subscribe(pattern, Tagged(i, log), priority=priority)
    for topic in published:
        log.clear()
        bus.publish(topic, topic)
        expected = sorted(
            (i for i, (p, _) in enumerate(subs) if fnmatch.fnmatchcase(topic, p)),
            key=lambda i: (-subs[i][1], i),
        )
        assert [i for i, _ in log] == expected
    assert bus.published_count == len(published)


@given(st.lists(st.tuples(st.booleans(), patterns), max_size=20), topics)
def test_cache_invalidation_matches_fresh_bus(ops: list[tuple[bool, str]], topic: str) -> None:
    bus = MessageBus()
    handlers: dict[str, Any] = {}
    for add, pattern in ops:
        bus.publish(topic, None)  # populate the cache between changes
        if add and pattern not in handlers:
            handlers[pattern] = lambda msg: None
            bus.subscribe(pattern, handlers[pattern])
        elif not add and pattern in handlers:
            bus.unsubscribe(pattern, handlers.pop(pattern))
    fresh = MessageBus()
    for pattern, handler in handlers.items():
        fresh.subscribe(pattern, handler)
    assert bus.subscribers(topic) == fresh.subscribers(topic)
