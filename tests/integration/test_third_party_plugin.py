"""A real third-party distribution, built and pip-installed during the test, is discovered.

Two throwaway distributions are built in a temporary directory, each with its own
``pyproject.toml`` and an ``alphaforge`` entry point: a working one that registers an adapter and
a CLI command, and a broken one whose module raises at import. The broken one is quarantined and
reported; the kernel and the CLI go on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

GOOD = "alphaforge-testvenue"
BROKEN = "alphaforge-brokenvenue"


def write_distribution(root: Path, dist: str, module: str, source: str) -> Path:
    project = root / dist
    (project / module).mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [build-system]
            requires = ["hatchling"]
            build-backend = "hatchling.build"

            [project]
            name = "{dist}"
            version = "1.2.3"

            [project.entry-points.alphaforge]
            {module} = "{module}.plugin"

            [tool.hatch.build.targets.wheel]
            packages = ["{module}"]
            """
        )
    )
    (project / module / "__init__.py").write_text("")
    (project / module / "plugin.py").write_text(textwrap.dedent(source))
    return project


GOOD_SOURCE = """
    from alphaforge.kernel import hookimpl

    class TestVenueAdapter:
        pass

    def hello(parser):
        parser.add_argument("--who", default="world")
        return lambda args: print(f"hello {args.who}") or 0

    @hookimpl
    def alphaforge_register_adapters(register):
        register("testvenue", TestVenueAdapter, capabilities=["market_orders"])

    @hookimpl
    def alphaforge_register_cli(register):
        register("hello", hello, description="say hello")
"""

BROKEN_SOURCE = """
    raise ImportError("this plugin needs a library that is not installed")
"""


def pip(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args], check=True
    )


@pytest.fixture(scope="module")
def installed_plugins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    root = tmp_path_factory.mktemp("dists")
    good = write_distribution(root, GOOD, "af_testvenue", GOOD_SOURCE)
    broken = write_distribution(root, BROKEN, "af_brokenvenue", BROKEN_SOURCE)
    pip("install", "--no-build-isolation", "--no-deps", str(good), str(broken))
    try:
        yield
    finally:
        pip("uninstall", "-y", GOOD, BROKEN)


def alphaforge(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alphaforge.cli", *args], capture_output=True, text=True, check=False
    )


@pytest.mark.usefixtures("installed_plugins")
def test_kernel_discovers_installed_plugin_and_quarantines_broken_one() -> None:
    # A fresh interpreter: discovery must work from installed metadata alone.
    result = alphaforge("plugins", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    good, broken = rows["af_testvenue"], rows["af_brokenvenue"]
    assert good["status"] == "loaded"
    assert good["distribution"] == GOOD
    assert good["version"] == "1.2.3"
    assert good["components"] == ["adapter:testvenue", "cli:hello"]
    assert good["error"] is None
    assert broken["status"] == "failed"
    assert broken["distribution"] == BROKEN
    assert "needs a library that is not installed" in broken["error"]
    assert broken["components"] == []
    assert rows["builtins"]["status"] == "loaded"


@pytest.mark.usefixtures("installed_plugins")
def test_plugin_cli_command_runs_and_block_list_hides_it() -> None:
    assert alphaforge("hello", "--who", "plugin").stdout == "hello plugin\n"
    env_blocked = subprocess.run(
        [sys.executable, "-m", "alphaforge.cli", "plugins", "--json"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "ALPHAFORGE_DISABLE_PLUGINS": GOOD},
    )
    names = {row["name"] for row in json.loads(env_blocked.stdout)}
    assert "af_testvenue" not in names
    assert "af_brokenvenue" in names


@pytest.mark.usefixtures("installed_plugins")
def test_strict_kernel_refuses_the_broken_plugin() -> None:
    from importlib import invalidate_caches

    from alphaforge.errors import PluginLoadError
    from alphaforge.kernel import Kernel, KernelConfig

    invalidate_caches()
    kernel = Kernel().build()
    assert "testvenue" in kernel.components("adapter")
    with pytest.raises(PluginLoadError, match="af_brokenvenue"):
        Kernel(KernelConfig(strict_plugins=True)).build()
