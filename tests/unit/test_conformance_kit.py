"""The conformance kit itself: it passes a good exporter, catches broken ones by check id, and
writes the compatibility report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy  # noqa: F401 -- loaded once here: pytester's in-process runs cannot re-import it
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


# -- the live adapter kit --------------------------------------------------------------------

# The Binance plugin's adapter against its loopback venue, with switches that break the adapter
# in one way each (wrappers around the real clients; the book bug swaps in a sync that applies
# stale updates).
LIVE_SUITE = """
import pytest
import alphaforge_binance.live
from alphaforge_binance.book import BinanceBookSync
from alphaforge_binance.conformance import BinanceConformanceVenue

from alphaforge.adapters import Verdict
from alphaforge.model import InstrumentId, TradeTick
from alphaforge.net import OutcomeUnknown, VenueRejected
from alphaforge.testing import LiveAdapterConformance


class Wrapper:
    def __init__(self, inner, bug):
        self._inner, self._bug = inner, bug

    def __getattr__(self, name):
        return getattr(self._inner, name)


class DataClient(Wrapper):
    async def connect(self, sink):
        def deliver(item):
            sink(item)
            if self._bug == "double_trades" and type(item) is TradeTick:
                sink(item)

        await self._inner.connect(deliver)


class ExecutionClient(Wrapper):
    async def submit_order(self, command):
        try:
            return await self._inner.submit_order(command)
        except OutcomeUnknown as exc:
            if self._bug == "timeout_rejects":
                raise VenueRejected(str(exc), venue="BINANCE") from exc
            raise


class Adapter(Wrapper):
    def data_client(self):
        return DataClient(self._inner.data_client(), self._bug)

    def execution_client(self, account_id):
        return ExecutionClient(self._inner.execution_client(account_id), self._bug)


class StaleApplied(BinanceBookSync):
    def follows(self, update, last_seq):
        if update.last_seq <= last_seq:
            return Verdict.APPLY
        return super().follows(update, last_seq)


class TestLive(LiveAdapterConformance):
    adapter_name = "binance"
    bug = ""

    @pytest.fixture
    def anyio_backend(self):
        return "asyncio"

    @pytest.fixture
    def conformance_venue(self):
        with BinanceConformanceVenue(seed=3) as venue:
            yield venue

    @pytest.fixture
    def adapter_config(self, conformance_venue, request_timeout):
        return {"rest_url": conformance_venue.rest_url, "ws_url": conformance_venue.ws_url,
                "api_key": "loopback-key", "api_secret": "loopback-secret",
                "request_timeout": request_timeout}

    @pytest.fixture
    def instrument_id(self):
        return InstrumentId.from_str("BTCUSDT.BINANCE")

    @pytest.fixture
    def live_adapter(self, adapter_factory, adapter_config, monkeypatch):
        if self.bug == "apply_duplicates":
            monkeypatch.setattr(alphaforge_binance.live, "BinanceBookSync", StaleApplied)
        return Adapter(adapter_factory(**adapter_config), self.bug)
"""

LIVE_SELECTED = ("live_trades_quotes", "live_duplicate_reordered", "live_timeout_outcome_unknown")


def run_live(pytester: pytest.Pytester, bug: str) -> dict[str, str]:
    pytester.makepyfile(test_live=LIVE_SUITE + f"\nTestLive.bug = {bug!r}\n")
    report = pytester.path / "report.json"
    # In a subprocess: an in-process run's sys.modules snapshot would leave two copies of
    # httpx & co. behind, and the exception types of the later tests would not match.
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "-k", " or ".join(LIVE_SELECTED),
                                  f"--alphaforge-report={report}")  # fmt: skip
    data = json.loads(report.read_text())
    return {row["check"]: row["outcome"] for row in data["checks"]}


def test_live_checks_have_stable_ids() -> None:
    from alphaforge.testing import LIVE_ADAPTER_CHECKS, LiveAdapterConformance

    tests = [n for n in dir(LiveAdapterConformance) if n.startswith("test_")]
    assert sorted(tests) == sorted(f"test_{check}" for check in LIVE_ADAPTER_CHECKS)
    assert all(check.startswith("live_") for check in LIVE_ADAPTER_CHECKS)


@pytest.mark.parametrize(
    ("bug", "failing"),
    [
        ("", set()),
        ("double_trades", {"live_trades_quotes", "live_duplicate_reordered"}),
        ("apply_duplicates", {"live_duplicate_reordered"}),
        ("timeout_rejects", {"live_timeout_outcome_unknown"}),
    ],
)
def test_the_live_kit_catches_a_broken_adapter(
    pytester: pytest.Pytester, bug: str, failing: set[str]
) -> None:
    pytest.importorskip("alphaforge_binance")
    outcomes = run_live(pytester, bug)
    assert set(outcomes) == set(LIVE_SELECTED)
    assert {check for check, outcome in outcomes.items() if outcome == "failed"} == failing
    assert {check for check, outcome in outcomes.items() if outcome == "passed"} == (
        set(LIVE_SELECTED) - failing
    )
