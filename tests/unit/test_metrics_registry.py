"""The metrics registry: naming rules, validation, and docs/metrics.md generated from it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from alphaforge.errors import InvalidValue
from alphaforge.metrics import (
    COMMON_LABELS,
    ENGINE_METRICS,
    EngineMetrics,
    MetricKind,
    MetricRegistry,
    MetricSpec,
    check_bucket_bounds,
)
from alphaforge.metrics.registry import render_table

TABLE = re.compile(r"<!-- BEGIN METRICS TABLE[^\n]*-->\n(.*?)<!-- END METRICS TABLE -->", re.DOTALL)


def test_docs_table_is_current(repo: Path) -> None:
    text = (repo / "docs" / "metrics.md").read_text(encoding="utf-8")
    match = TABLE.search(text)
    assert match, "docs/metrics.md lost its METRICS TABLE markers"
    assert match.group(1) == render_table(), (
        "docs/metrics.md is stale: paste the output of `python -m alphaforge.metrics` "
        "between the METRICS TABLE markers"
    )


def test_registry_covers_the_issue_and_engine_attributes() -> None:
    names = set(ENGINE_METRICS.names())
    for expected in (
        "alphaforge_bus_published_messages",
        "alphaforge_bus_delivered_messages",
        "alphaforge_data_events",
        "alphaforge_orders",
        "alphaforge_venue_reconnects",
        "alphaforge_book_resyncs",
        "alphaforge_open_orders",
        "alphaforge_open_positions",
        "alphaforge_equity",
        "alphaforge_clock_offset_seconds",
        "alphaforge_rate_limit_headroom_ratio",
        "alphaforge_data_handler_latency_seconds",
        "alphaforge_order_ack_latency_seconds",
        "alphaforge_fill_portfolio_latency_seconds",
    ):
        assert expected in names
    events = ENGINE_METRICS.get("alphaforge_orders").allowed_values("event")
    assert events == ("submitted", "denied", "accepted", "rejected", "filled", "cancelled")
    metrics = EngineMetrics()
    for spec in ENGINE_METRICS:
        assert getattr(metrics, spec.attribute) is metrics.family(spec.name)
        assert spec.export_labels[: len(COMMON_LABELS)] == COMMON_LABELS
        if spec.kind is MetricKind.HISTOGRAM:
            assert spec.unit == "seconds" and spec.ucum == "s"


def test_units_scale_cleanly() -> None:
    spec = ENGINE_METRICS.get("alphaforge_order_ack_latency_seconds")
    assert spec.export_buckets[:3] == (2.5e-07, 5e-07, 1e-06)
    assert spec.to_exported(1_500) == 1.5e-06
    assert spec.to_recorded(1e-06) == 1_000
    assert spec.to_recorded(2.5e-06) == 2_500
    assert ENGINE_METRICS.get("alphaforge_orders").to_exported(7) == 7


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "orders"}, "name"),
        ({"name": "alphaforge_Orders"}, "name"),
        ({"unit": "seconds"}, "name"),  # the name must end with its unit
        ({"labels": ("le",)}, "labels"),
        ({"labels": ("trader_id",)}, "labels"),
        ({"labels": ("a", "a")}, "labels"),
        ({"labels": ("Venue",)}, "labels"),
        ({"scale": 0.0}, "scale"),
        ({"label_values": (("venue", ("X",)),)}, "label_values"),
        ({"buckets": (1, 2)}, "buckets"),  # only histograms
    ],
)
def test_bad_specs_are_rejected(kwargs: dict[str, object], field: str) -> None:
    base: dict[str, object] = {
        "name": "alphaforge_things",
        "kind": MetricKind.COUNTER,
        "description": "d",
        "attribute": "things",
    }
    with pytest.raises(InvalidValue) as info:
        MetricSpec(**(base | kwargs))  # type: ignore[arg-type]
    assert info.value.field == field


@pytest.mark.parametrize("buckets", [(), (2, 1), (0, 1), (1.5, 2)])
def test_histogram_spec_needs_increasing_int_buckets(buckets: tuple[object, ...]) -> None:
    with pytest.raises(InvalidValue, match="buckets"):
        MetricSpec(
            "alphaforge_x_seconds", MetricKind.HISTOGRAM, "d", "x", unit="seconds", buckets=buckets
        )


def test_registry_rejects_duplicates_and_unknown_names() -> None:
    spec = MetricSpec("alphaforge_things", MetricKind.COUNTER, "d", "things")
    other = MetricSpec("alphaforge_stuff", MetricKind.COUNTER, "d", "things")
    with pytest.raises(InvalidValue, match="registered twice"):
        MetricRegistry([spec, spec])
    with pytest.raises(InvalidValue, match="attribute is used twice"):
        MetricRegistry([spec, other])
    with pytest.raises(InvalidValue, match="not a registered metric"):
        ENGINE_METRICS.get("alphaforge_nope")
    assert "alphaforge_orders" in ENGINE_METRICS and len(ENGINE_METRICS) == len(
        ENGINE_METRICS.names()
    )


@pytest.mark.parametrize("bounds", ["0.1", [], [0.1, float("inf")], [0.2, 0.1], [True], [-1.0], 5])
def test_check_bucket_bounds_rejects(bounds: object) -> None:
    with pytest.raises(InvalidValue) as info:
        check_bucket_bounds("buckets", bounds)  # type: ignore[arg-type]
    assert info.value.field == "buckets"


def test_check_bucket_bounds_accepts() -> None:
    assert check_bucket_bounds("buckets", [1, 2.5]) == (1.0, 2.5)
