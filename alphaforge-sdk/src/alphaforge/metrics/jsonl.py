"""The built-in JSON-lines exporter (``jsonl``) and the reader behind ``alphaforge metrics``.

Each export appends one line: a JSON object with format ``alphaforge.metrics/1``::

    {"format": "alphaforge.metrics/1", "trader_id": "TRADER-001", "sequence": 3,
     "ts_ns": ..., "wall_ns": ...,
     "metrics": [
       {"name": "alphaforge_orders", "kind": "counter", "unit": "orders",
        "labels": {"trader_id": "TRADER-001", "event": "filled"}, "value": 3},
       {"name": "alphaforge_order_ack_latency_seconds", "kind": "histogram", "unit": "seconds",
        "labels": {...}, "count": 2, "sum": 0.00145, "min": ..., "max": ...,
        "p50": ..., "p90": ..., "p99": ..., "p999": ...,
        "buckets": [[0.00000025, 0], ..., ["+Inf", 2]]}]}

Values are in the exported unit (``value * scale``); histogram buckets are cumulative counts
at the registry's bucket bounds. Without a ``path`` the lines go to the ``alphaforge.metrics``
logger at INFO level instead (the "log exporter").
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from alphaforge.errors import InvalidValue
from alphaforge.metrics.registry import MetricSpec
from alphaforge.metrics.snapshot import HistogramSample, MetricsSnapshot

if TYPE_CHECKING:
    from alphaforge.metrics.engine import EngineMetrics

__all__ = ["FORMAT", "JsonLinesExporter", "format_table", "read_last_record", "snapshot_to_json"]

FORMAT = "alphaforge.metrics/1"
QUANTILES = (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p999", 0.999))


def _scaled(value: int | float | None, spec: MetricSpec) -> int | float | None:
    return None if value is None else spec.to_exported(value)


def snapshot_to_json(snapshot: MetricsSnapshot) -> dict[str, Any]:
    """The JSON-lines record of ``snapshot`` (values in exported units)."""
    metrics: list[dict[str, Any]] = []
    for family in snapshot.families:
        spec = family.spec
        for sample in family.samples:
            row: dict[str, Any] = {
                "name": spec.name,
                "kind": spec.kind.value,
                "unit": spec.unit,
                "labels": snapshot.label_dict(spec, sample),
            }
            if isinstance(sample, HistogramSample):
                row["count"] = sample.count
                row["sum"] = _scaled(sample.sum, spec)
                row["min"] = _scaled(sample.min, spec)
                row["max"] = _scaled(sample.max, spec)
                for key, q in QUANTILES:
                    row[key] = _scaled(sample.quantile(q), spec)
                row["buckets"] = [
                    *([bound, count] for bound, count in sample.export_buckets(spec)),
                    ["+Inf", sample.count],
                ]
            else:
                row["value"] = _scaled(sample.value, spec)
            metrics.append(row)
    return {
        "format": FORMAT,
        "trader_id": snapshot.trader_id,
        "sequence": snapshot.sequence,
        "ts_ns": snapshot.ts_ns,
        "wall_ns": snapshot.wall_ns,
        "metrics": metrics,
    }


class JsonLinesExporter:
    """Append one JSON line per snapshot to a file, or log it.

    Parameters
    ----------
    path
        The file to append to (created with its parent directories at start); ``None`` logs
        each line to the ``alphaforge.metrics`` logger at INFO level.

    Notes
    -----
    Writes happen on the engine thread at each export (one buffered write and a flush per
    snapshot, every ``export_interval_ms``), not per recorded event.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        if path is not None and not isinstance(path, (str, os.PathLike)):
            raise InvalidValue("path", path, "must be a file path (str) or omitted")
        if isinstance(path, str) and not path:
            raise InvalidValue("path", path, "must not be empty")
        self.path = Path(path) if path is not None else None
        self._file: IO[str] | None = None
        self._logger = logging.getLogger("alphaforge.metrics")

    def __repr__(self) -> str:
        return f"JsonLinesExporter(path={str(self.path) if self.path else None!r})"

    def start(self, metrics: EngineMetrics) -> None:
        """Open the file for appending."""
        if self.path is not None and self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")

    def export(self, snapshot: MetricsSnapshot) -> None:
        """Write one line."""
        line = json.dumps(snapshot_to_json(snapshot), separators=(",", ":"))
        if self._file is not None:
            self._file.write(line + "\n")
            self._file.flush()
        elif self.path is None:
            self._logger.info("%s", line)

    def stop(self) -> None:
        """Close the file (a restart appends to it)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def close(self) -> None:
        """Same as :meth:`stop`."""
        self.stop()


def _lines_backwards(path: Path, block: int = 1 << 16) -> Iterator[str]:
    with path.open("rb") as f:
        f.seek(0, os.SEEK_END)
        position, tail = f.tell(), b""
        while position > 0:
            step = min(block, position)
            position -= step
            f.seek(position)
            chunk = f.read(step) + tail
            lines = chunk.split(b"\n")
            tail = lines.pop(0)
            for line in reversed(lines):
                yield line.decode("utf-8")
        yield tail.decode("utf-8")


def read_last_record(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The last record of a JSON-lines metrics file (read from the end: files may be large).

    Raises
    ------
    InvalidValue
        If the file is missing, has no record, or its last record is not a metrics record.
    """
    file = Path(path)
    if not file.is_file():
        raise InvalidValue("path", str(path), "is not a file")
    for line in _lines_backwards(file):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidValue("path", str(path), f"last line is not JSON ({exc})") from None
        if not isinstance(record, dict) or record.get("format") != FORMAT:
            raise InvalidValue("path", str(path), f"last line is not an {FORMAT} record")
        return record
    raise InvalidValue("path", str(path), "has no metrics record")


def _number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.6g}"


def _seconds(value: Any) -> str:
    if value is None:
        return "-"
    seconds = float(value)
    for unit, factor in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if abs(seconds) >= factor:
            return f"{seconds / factor:.4g} {unit}"
    return f"{seconds / 1e-9:.4g} ns"


def format_table(record: dict[str, Any]) -> str:
    """``record`` as an aligned plain-text table (the output of ``alphaforge metrics``)."""
    rows: list[tuple[str, str, str, str]] = []
    for metric in record.get("metrics", []):
        labels = ",".join(
            f"{k}={v}" for k, v in metric.get("labels", {}).items() if k != "trader_id"
        )
        unit = metric.get("unit", "")
        if metric.get("kind") == "histogram":
            fmt = _seconds if unit == "seconds" else _number
            value = (
                f"count={metric.get('count', 0):,} mean="
                + (fmt(metric["sum"] / metric["count"]) if metric.get("count") else "-")
                + "".join(f" {key}={fmt(metric.get(key))}" for key, _ in QUANTILES[:3])
                + f" max={fmt(metric.get('max'))}"
            )
            unit = ""
        else:
            value = _number(metric.get("value"))
        rows.append((str(metric.get("name", "?")), labels or "-", value, unit))
    header = ("METRIC", "LABELS", "VALUE", "UNIT")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
    lines = [
        f"trader {record.get('trader_id', '?')}  snapshot #{record.get('sequence', '?')}  "
        f"ts_ns={record.get('ts_ns', '?')}"
    ]
    for row in [header, *rows]:
        name, labels, value, unit = row
        lines.append(
            f"{name:<{widths[0]}}  {labels:<{widths[1]}}  {value:>{widths[2]}}  {unit}".rstrip()
        )
    return "\n".join(lines)
