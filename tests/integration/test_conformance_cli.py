"""``alphaforge conformance``: runs a plugin's conformance tests, writes the JSON report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def alphaforge(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "alphaforge.cli", *args],
                          capture_output=True, text=True, check=False, cwd=cwd)  # fmt: skip


def test_report_lists_every_check_with_its_outcome(repo: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    tests = repo / "plugins" / "alphaforge-binance" / "tests"
    done = alphaforge("conformance", str(tests), "--report", str(report), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads(report.read_text())
    assert document["format"] == "alphaforge.conformance/1"
    checks = document["checks"]
    assert checks and all(row["kind"] == "adapter" for row in checks)
    assert {row["outcome"] for row in checks} <= {"passed", "skipped"}
    assert document["summary"]["adapter"]["passed"] >= 20
    assert "adapter:" in done.stdout


def test_unknown_target_is_a_clear_error(tmp_path: Path) -> None:
    done = alphaforge("conformance", "no-such-plugin", cwd=tmp_path)
    assert done.returncode == 2
    assert "target='no-such-plugin'" in done.stderr
