"""pytest plugin of the conformance kit (entry point ``pytest11: alphaforge``).

- registers the ``alphaforge_conformance(kind, check)`` marker the kit's tests carry;
- ``--alphaforge-report=PATH`` writes a JSON compatibility report: one row per conformance
  check that ran (``kind``, ``check``, ``nodeid``, ``outcome``), plus a summary per kind.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

MARKER = "alphaforge_conformance"
_ROWS = pytest.StashKey[dict[str, dict[str, Any]]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("alphaforge", "AlphaForge conformance kit")
    group.addoption(
        "--alphaforge-report",
        metavar="PATH",
        default=None,
        help="write a JSON compatibility report of the AlphaForge conformance checks",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(kind, check): an AlphaForge conformance check (stable id: kind/check)",
    )
    config.stash[_ROWS] = {}


@pytest.hookimpl(trylast=True)  # after -k / -m deselection: deselected checks are not listed
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        marker = item.get_closest_marker(MARKER)
        if marker is None:
            continue
        kind, check = marker.args
        item.config.stash[_ROWS][item.nodeid] = {
            "kind": kind,
            "check": check,
            "nodeid": item.nodeid,
            "outcome": "not run",
        }


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report: pytest.TestReport = yield
    row = item.config.stash.get(_ROWS, {}).get(item.nodeid)
    if row is not None:
        if report.when == "call":
            row["outcome"] = report.outcome
        elif report.failed:
            row["outcome"] = f"error ({report.when})"
        elif report.skipped:
            row["outcome"] = "skipped"
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = session.config.getoption("--alphaforge-report")
    if not path:
        return
    rows = list(session.config.stash.get(_ROWS, {}).values())
    summary: dict[str, dict[str, int]] = {}
    for row in rows:
        counts = summary.setdefault(row["kind"], {})
        counts[row["outcome"]] = counts.get(row["outcome"], 0) + 1
    Path(path).write_text(
        json.dumps(
            {"format": "alphaforge.conformance/1", "summary": summary, "checks": rows}, indent=2
        )
        + "\n",
        encoding="utf-8",
    )
