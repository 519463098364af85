"""Every developer task: ``nox -s tests``, ``lint``, ``bench``, ``demo``, ``wheel``, ``docs``.

Sessions install the SDK (and the plugins under ``plugins/``) from this checkout; the SDK's build
hook compiles the Rust core with cargo, so a machine needs Python >= 3.10, Rust and a C compiler.
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
RUST_CRATES = ("alphaforge-core", "native-c-abi")
PLUGINS = sorted(
    p for p in (ROOT / "plugins").glob("alphaforge-*") if (p / "pyproject.toml").exists()
)
# Peer benchmarks use nautilus_trader 1.231, which needs CPython >= 3.12.
BENCH_PYTHON = os.environ.get("ALPHAFORGE_BENCH_PYTHON", "3.12")

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True
# One shared cargo target dir: the build hook, cargo test and clippy reuse each other's work.
CARGO_ENV = {"CARGO_TARGET_DIR": str(ROOT / "native-c-abi" / "target")}


def install_workspace(session: nox.Session, *groups: str) -> None:
    for group in groups:
        session.install(*nox.project.dependency_groups(PYPROJECT, group))
    # Each plugin with its `test` extra (what its tests/ need beyond pytest, e.g. OTLP/HTTP).
    session.install("-e", "./alphaforge-sdk", *(f"-e{p}[test]" for p in PLUGINS), env=CARGO_ENV)


def cargo(session: nox.Session, command: str, *args: str) -> None:
    for crate in RUST_CRATES:
        manifest = f"{crate}/Cargo.toml"  # before `args`: they may end with `-- <rustc flags>`
        session.run(
            "cargo", command, "--manifest-path", manifest, *args, external=True, env=CARGO_ENV
        )


@nox.session(python=False)
def rust(session: nox.Session) -> None:
    """cargo test for the core and the C ABI (header drift check and the C program included)."""
    cargo(session, "test", "--release")


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite: Rust, the C program, the SDK, plugins, cross-package tests."""
    cargo(session, "test", "--release")
    install_workspace(session, "test")
    session.run("pytest", *session.posargs, env={"ALPHAFORGE_REPO": str(ROOT)})
    for plugin in PLUGINS:
        session.run("pytest", str(plugin / "tests"), *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, mypy --strict on the SDK, cargo fmt --check and cargo clippy -D warnings."""
    install_workspace(session, "lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")
    cargo(session, "fmt", "--check")
    cargo(session, "clippy", "--all-targets", "--release", "--", "-D", "warnings")


@nox.session
def demo(session: nox.Session) -> None:
    """The README's main job: a backtest on the embedded synthetic market, with its report."""
    install_workspace(session)
    session.run("alphaforge", "backtest", *session.posargs)


@nox.session(python=BENCH_PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks, side by side with nautilus_trader when it installs; JSON to benches/results."""
    install_workspace(session)
    session.install("numpy", "nautilus_trader==1.231.0")
    out = ROOT / "benches" / "results" / "latest.json"
    out.parent.mkdir(exist_ok=True)
    session.run("python", "benches/run.py", "--json", str(out), *session.posargs)


@nox.session
def wheel(session: nox.Session) -> None:
    """Build the py3-none-<platform> wheel into dist/."""
    session.install("build")
    session.run(
        "python", "-m", "build", "--wheel", "--outdir", "dist", "alphaforge-sdk", env=CARGO_ENV
    )
