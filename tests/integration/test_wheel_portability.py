"""One wheel, every CPython 3.x: no interpreter-version lock.

The wheel is built once, must be tagged ``py3-none-<platform>``, and the same file is installed
and smoke-tested under every CPython >= 3.10 found (pyenv keeps several). At least two distinct
minor versions are required when running under CI.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SMOKE = """
import sys
import alphaforge
from alphaforge import _native
from alphaforge.model import Price
assert _native.fixed_parse("-12.50") == (-1250, 2)
assert _native.fixed_format(-1250, 2) == "-12.50"
assert Price("-12.50").raw == -1250
print(sys.version_info[:2], alphaforge.__version__, _native.build_info())
"""


def find_interpreters() -> dict[str, str]:
    """One interpreter per CPython minor version >= 3.10, keyed by ``3.X``."""
    candidates = [sys.executable]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates += sorted(str(p) for p in pyenv.glob("3.*/bin/python3"))
    found: dict[str, str] = {}
    for exe in candidates:
        probe = subprocess.run(
            [exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        version = probe.stdout.strip()
        if probe.returncode == 0 and tuple(map(int, version.split("."))) >= (3, 10):
            found.setdefault(version, exe)
    return found


def test_one_wheel_installs_and_runs_on_several_interpreters(repo: Path, tmp_path: Path) -> None:
    interpreters = find_interpreters()
    if len(interpreters) < 2:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs two CPython minor versions >= 3.10, found {interpreters}")
        pytest.skip(f"only {sorted(interpreters)} available")

    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(tmp_path),
            str(repo / "alphaforge-sdk"),
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "CARGO_TARGET_DIR": str(repo / "native-c-abi" / "target")},
    )
    (wheel,) = tmp_path.glob("alphaforge-*.whl")
    assert "-py3-none-" in wheel.name, wheel.name
    names = zipfile.ZipFile(wheel).namelist()
    assert "alphaforge/_native/_ffi.py" in names
    assert any(n.startswith("alphaforge/_native/libalphaforge_native") for n in names)

    for version, exe in sorted(interpreters.items()):
        venv = tmp_path / f"venv-{version}"
        subprocess.run([exe, "-m", "venv", str(venv)], check=True)
        python = str(venv / "bin" / "python")
        subprocess.run(
            [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)],
            check=True,
        )
        result = subprocess.run([python, "-c", SMOKE], capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"python {version}: {result.stderr}"
        assert f"({version.replace('.', ', ')})" in result.stdout
