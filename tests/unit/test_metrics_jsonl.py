"""The built-in JSON-lines exporter: conformance kit, log mode, and ``alphaforge metrics``."""

from __future__ import annotations

import json
import logging
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from alphaforge.cli import main
from alphaforge.errors import InvalidValue
from alphaforge.kernel import Kernel, KernelConfig
from alphaforge.metrics import ExporterConfig, MetricKind, MetricsConfig
from alphaforge.metrics.jsonl import FORMAT, JsonLinesExporter, read_last_record
from alphaforge.testing import (
    ExportedSample,
    ExporterFactory,
    ExportReader,
    MetricsExporterConformance,
)


def samples_of(record: dict[str, Any]) -> list[ExportedSample]:
    out = []
    for row in record["metrics"]:
        kind = MetricKind(row["kind"])
        buckets = tuple(
            (math.inf if bound == "+Inf" else float(bound), count)
            for bound, count in row.get("buckets", ())
        )
        out.append(
            ExportedSample(
                row["name"],
                kind,
                row["unit"],
                row["labels"],
                value=row.get("value"),
                count=row.get("count"),
                sum=row.get("sum"),
                buckets=buckets,
            )
        )
    return out


def read_file(exporter: Any) -> list[ExportedSample]:
    assert isinstance(exporter, JsonLinesExporter) and exporter.path is not None
    return samples_of(read_last_record(exporter.path))


class TestJsonLinesConformance(MetricsExporterConformance):
    exporter_name = "jsonl"

    @pytest.fixture
    def metrics_exporter_factory(self, tmp_path: Path) -> ExporterFactory:
        counter = iter(range(1_000))
        return lambda: JsonLinesExporter(tmp_path / f"run-{next(counter)}" / "metrics.jsonl")

    @pytest.fixture
    def metrics_exporter_reader(self) -> ExportReader:
        return read_file


def run_kernel(path: Path) -> None:
    config = KernelConfig(
        trader_id="JSON-001",
        metrics=MetricsConfig(
            enabled=True,
            exporters=(ExporterConfig("jsonl", {"path": str(path)}),),
            export_interval_ms=100,
        ),
    )
    with Kernel(config) as kernel:
        kernel.msgbus.subscribe("data.*", lambda msg: None)
        for i in range(42):
            kernel.msgbus.publish("data.quotes.X.Y", i)
        kernel.metrics.orders.labels("submitted").inc(5)
        record = kernel.metrics.order_ack_latency.labels("BINANCE").record
        for value in (120_000, 250_000, 4_000_000):
            record(value)
        kernel.clock.advance_time(250_000_000)  # type: ignore[attr-defined]


def test_file_gets_one_line_per_export(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    run_kernel(path)
    lines = path.read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["sequence"] for r in records] == [1, 2, 3, 4]  # start, 2 timer ticks, stop
    assert [r["ts_ns"] for r in records] == [0, 100_000_000, 200_000_000, 250_000_000]
    last = records[-1]
    assert last["format"] == FORMAT and last["trader_id"] == "JSON-001"
    rows = {(m["name"], tuple(sorted(m["labels"].items()))): m for m in last["metrics"]}
    published = rows[
        (
            "alphaforge_bus_published_messages",
            (("family", "data.quotes"), ("trader_id", "JSON-001")),
        )
    ]
    assert published["value"] == 42 and published["unit"] == "messages"
    ack = rows[
        ("alphaforge_order_ack_latency_seconds", (("trader_id", "JSON-001"), ("venue", "BINANCE")))
    ]
    assert (ack["count"], ack["min"], ack["max"]) == (3, 0.00012, 0.004)
    assert ack["sum"] == pytest.approx(0.00437)
    assert ack["buckets"][-1] == ["+Inf", 3]
    assert ack["p50"] == pytest.approx(0.00025, rel=0.01)


def test_cli_prints_the_latest_snapshot_as_a_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.jsonl"
    run_kernel(path)
    assert main(["metrics", str(path)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("trader JSON-001  snapshot #4")
    assert lines[1].split() == ["METRIC", "LABELS", "VALUE", "UNIT"]
    row = next(line for line in lines if line.startswith("alphaforge_bus_published_messages"))
    assert row.split() == [
        "alphaforge_bus_published_messages",
        "family=data.quotes",
        "42",
        "messages",
    ]
    ack = next(line for line in lines if "order_ack" in line)
    assert "venue=BINANCE" in ack and "count=3" in ack and "max=4 ms" in ack
    # columns are aligned: every VALUE ends in the same column
    assert main(["metrics", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sequence"] == 4


def test_cli_as_a_subprocess(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    run_kernel(path)
    result = subprocess.run(
        [sys.executable, "-m", "alphaforge.cli", "metrics", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "alphaforge_orders" in result.stdout and "event=submitted" in result.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "is not a file"),
        ("", "has no metrics record"),
        ("\n\n", "has no metrics record"),
        ("{not json\n", "not JSON"),
        ('{"format": "other"}\n', "not an alphaforge.metrics/1 record"),
    ],
)
def test_cli_reports_bad_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    path = tmp_path / "m.jsonl"
    if content is not None:
        path.write_text(content)
    assert main(["metrics", str(path)]) == 1
    assert message in capsys.readouterr().err


def test_reads_the_last_record_of_a_large_file(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    filler = json.dumps({"format": FORMAT, "sequence": 0, "metrics": [], "pad": "x" * 5000})
    path.write_text(
        "\n".join([filler] * 40)
        + "\n"
        + json.dumps({"format": FORMAT, "sequence": 9, "metrics": []})
        + "\n\n"
    )
    assert read_last_record(path)["sequence"] == 9


def test_without_a_path_lines_go_to_the_log(caplog: pytest.LogCaptureFixture) -> None:
    config = KernelConfig(
        load_entry_points=True,
        metrics=MetricsConfig(enabled=True, exporters=(ExporterConfig("jsonl"),)),
    )
    with caplog.at_level(logging.INFO, "alphaforge.metrics"), Kernel(config):
        pass
    records = [json.loads(r.getMessage()) for r in caplog.records if r.name == "alphaforge.metrics"]
    assert [r["sequence"] for r in records] == [1, 2]


@pytest.mark.parametrize("path", [3, ""])
def test_bad_path(path: object) -> None:
    with pytest.raises(InvalidValue, match="path"):
        JsonLinesExporter(path)  # type: ignore[arg-type]
