"""The conformance kit itself: it passes a good exporter, catches broken ones by check id, and
writes the compatibility report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alphaforge.testing import METRICS_EXPORTER_CHECKS, MetricsExporterConformance

pytest_plugins = ["pytester"]

# A reference exporter kept in memory, with switches that break it in one way each.
SUITE = """
import math
import pytest
from alphaforge.metrics import HistogramSample
from alphaforge.testing import ExportedSample, MetricsExporterConformance


class MemoryExporter:
    def __init__(self, bug=""):
        self.bug, self.latest, self.exports = bug, None, 0

    def start(self, metrics):
        self.latest = metrics.latest

    def export(self, snapshot):
        self.exports += 1
        self.latest = snapshot

    def stop(self):
        pass

    def close(self):
        pass

    def read(self):
        snap, out = self.latest, []
        for family in snap.families:
            spec = family.spec
            for sample in family.samples:
                labels = snap.label_dict(spec, sample)
                name = spec.name
                if self.bug == "rename" and name.endswith("_orders"):
                    name += "_x"
                if self.bug == "drop_label":
                    labels.pop("trader_id")
                if isinstance(sample, HistogramSample):
                    rows = sample.export_buckets(spec)
                    if self.bug == "bad_buckets":
                        rows = [(b, c + 1) for b, c in rows]
                    out.append(ExportedSample(name, spec.kind, spec.unit, labels,
                        count=sample.count, sum=spec.to_exported(sample.sum),
                        buckets=(*rows, (math.inf, sample.count))))
                else:
                    value = spec.to_exported(sample.value)
                    if self.bug == "per_export" and spec.kind.value == "counter":
                        value = value - self.exports  # goes down over time
                    out.append(ExportedSample(name, spec.kind, spec.unit, labels, value=value))
        return out


class TestMemory(MetricsExporterConformance):
    bug = ""

    @pytest.fixture
    def metrics_exporter_factory(self):
        return lambda: MemoryExporter(self.bug)

    @pytest.fixture
    def metrics_exporter_reader(self):
        return lambda exporter: exporter.read()
"""


def run(pytester: pytest.Pytester, bug: str) -> dict[str, str]:
    pytester.makepyfile(test_suite=SUITE + f"\nTestMemory.bug = {bug!r}\n")
    report = pytester.path / "report.json"
    result = pytester.runpytest("-p", "no:cacheprovider", f"--alphaforge-report={report}")
    data = json.loads(report.read_text())
    assert data["format"] == "alphaforge.conformance/1"
    return {row["check"]: row["outcome"] for row in data["checks"]} | {"_exit": str(result.ret)}


def test_checks_have_stable_ids() -> None:
    tests = [n for n in dir(MetricsExporterConformance) if n.startswith("test_")]
    assert sorted(tests) == sorted(f"test_{check}" for check in METRICS_EXPORTER_CHECKS)


def test_a_correct_exporter_passes_every_check(pytester: pytest.Pytester) -> None:
    outcomes = run(pytester, "")
    assert outcomes.pop("_exit") == "0"
    assert outcomes == {
        check: ("skipped" if check == "registered_by_plugin" else "passed")
        for check in METRICS_EXPORTER_CHECKS
    }


@pytest.mark.parametrize(
    ("bug", "failing"),
    [
        ("rename", {"exports_every_metric", "names_units_labels", "values_match_engine",
                    "survives_stop_start", "survives_fresh_kernel"}),
        ("drop_label", {"exports_every_metric", "names_units_labels", "values_match_engine",
                        "survives_stop_start", "survives_fresh_kernel"}),
        ("bad_buckets", {"values_match_engine", "histograms_consistent", "survives_stop_start",
                         "survives_fresh_kernel"}),
        ("per_export", {"values_match_engine", "counters_never_decrease", "survives_stop_start",
                        "survives_fresh_kernel"}),
    ],
)  # fmt: skip
def test_a_broken_exporter_fails_the_right_checks(
    pytester: pytest.Pytester, bug: str, failing: set[str]
) -> None:
    outcomes = run(pytester, bug)
    assert outcomes.pop("_exit") == "1"
    assert {check for check, outcome in outcomes.items() if outcome == "failed"} == failing


def test_report_is_not_written_without_the_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=7, skipped=1)
    assert not list(Path(pytester.path).glob("*.json"))
