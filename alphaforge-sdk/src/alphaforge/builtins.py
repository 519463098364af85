"""The SDK's built-in plugin, loaded through the ``alphaforge`` entry point like any other."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from alphaforge.kernel.hookspec import Register, hookimpl

Handler = Callable[[argparse.Namespace], int]


def _plugins_command(parser: argparse.ArgumentParser) -> Handler:
    parser.add_argument("--json", action="store_true", help="print a JSON list")

    def run(args: argparse.Namespace) -> int:
        report = args.plugin_registry.report()
        if args.json:
            print(json.dumps([info.to_json() for info in report], indent=2))
            return 0
        for info in report:
            version = info.version or "-"
            print(f"{info.name}  [{info.status}]  {info.distribution or '-'} {version}")
            if info.hooks:
                print(f"    hooks:      {', '.join(info.hooks)}")
            if info.components:
                print(f"    components: {', '.join(info.components)}")
            if info.error:
                print(f"    error:      {info.error}")
        for name in args.plugin_registry.disabled:
            print(f"{name}  [disabled by environment]")
        return 0

    return run


def _demo_command(parser: argparse.ArgumentParser) -> Handler:
    def run(args: argparse.Namespace) -> int:
        from alphaforge.demo import run_demo

        return run_demo()

    return run


def _metrics_command(parser: argparse.ArgumentParser) -> Handler:
    parser.add_argument("path", help="a JSON-lines file written by the 'jsonl' metrics exporter")
    parser.add_argument("--json", action="store_true", help="print the record as JSON instead")

    def run(args: argparse.Namespace) -> int:
        from alphaforge.errors import InvalidValue
        from alphaforge.metrics.jsonl import format_table, read_last_record

        try:
            record = read_last_record(args.path)
        except InvalidValue as exc:
            print(f"alphaforge metrics: {exc}", file=sys.stderr)
            return 1
        print(json.dumps(record, indent=2) if args.json else format_table(record))
        return 0

    return run


def _jsonl_exporter(**config: Any) -> Any:
    from alphaforge.metrics.jsonl import JsonLinesExporter

    return JsonLinesExporter(**config)


EXAMPLES = ("ema_cross", "ema_cross_bars", "market_maker")


def _backtest_command(parser: argparse.ArgumentParser) -> Handler:
    parser.add_argument("config", nargs="?", help="a backtest TOML file (see docs/backtesting.md)")
    parser.add_argument(
        "--example", choices=EXAMPLES, default="ema_cross",
        help="run a bundled example when no CONFIG is given (default: ema_cross)",
    )  # fmt: skip
    parser.add_argument("--report", help="where to write the HTML report (overrides the file)")
    parser.add_argument("--json", action="store_true", help="print the statistics as JSON")

    def run(args: argparse.Namespace) -> int:
        from pathlib import Path

        from alphaforge.backtest.config import run_backtest
        from alphaforge.errors import AlphaForgeError

        if args.config is not None:
            path, base = Path(args.config), None
        else:  # a bundled example; its relative paths are taken from the working directory
            path, base = Path(__file__).parent / "examples" / f"{args.example}.toml", Path.cwd()
        try:
            outcome = run_backtest(path, report=args.report, base_dir=base)
        except (AlphaForgeError, OSError) as exc:
            print(f"alphaforge backtest: {exc}", file=sys.stderr)
            return 1
        result = outcome.result
        if args.json:
            print(json.dumps(result.statistics.as_dict(), indent=2))
        else:
            print(result.summary())
            rate = outcome.events / outcome.seconds if outcome.seconds else 0.0
            print(f"{'events':<28}{outcome.events:,} in {outcome.seconds:.2f} s ({rate:,.0f}/s)")
            if outcome.report is not None:
                print(f"report: {outcome.report}")
        return 130 if result.interrupted else 0

    return run


def _run_command(parser: argparse.ArgumentParser) -> Handler:
    parser.add_argument("config", help="a live-node TOML file (see docs/live.md)")
    parser.add_argument("--secrets-file", help="resolve ${VAR} credentials from this file too")
    parser.add_argument(
        "--backend", choices=("asyncio", "trio"), default="asyncio", help="event loop to run on"
    )
    parser.add_argument(
        "--duration", type=float, help="stop gracefully after this many seconds (default: Ctrl-C)"
    )

    def run(args: argparse.Namespace) -> int:
        import json
        import logging

        import anyio

        from alphaforge.errors import AlphaForgeError
        from alphaforge.live.config import run_live

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        try:
            status: int = anyio.run(
                lambda: run_live(
                    args.config,
                    secrets_file=args.secrets_file,
                    duration=args.duration,
                    on_summary=lambda summary: print(json.dumps(summary, indent=2)),
                ),
                backend=args.backend,
            )
        except (AlphaForgeError, OSError) as exc:
            print(f"alphaforge run: {exc}", file=sys.stderr)
            return 1
        return status

    return run


class _ExampleStrategy:
    """A strategy class imported on first use, so building a kernel imports no strategies."""

    def __init__(self, name: str) -> None:
        self.name = name

    def _cls(self) -> Any:
        from alphaforge.examples import strategies

        return getattr(strategies, self.name)

    @property
    def config_class(self) -> Any:
        return self._cls().config_class

    def __call__(self, config: Any = None) -> Any:
        return self._cls()(config)


def _conformance_command(parser: argparse.ArgumentParser) -> Handler:
    parser.add_argument("target", help="a plugin's test directory, or an installed plugin's name")
    parser.add_argument("--report", default="conformance-report.json", help="JSON report path")

    def run(args: argparse.Namespace) -> int:
        import subprocess
        from pathlib import Path

        tests = _plugin_tests(args.target)
        if tests is None:
            print(f"alphaforge conformance: target={args.target!r}: not a directory and not an "
                  "installed plugin with a tests/ directory", file=sys.stderr)  # fmt: skip
            return 2
        command = [sys.executable, "-m", "pytest", str(tests), "-q", "-m", "alphaforge_conformance",
                   f"--alphaforge-report={args.report}", "-p", "no:cacheprovider"]  # fmt: skip
        code = subprocess.run(command, check=False).returncode
        report_path = Path(args.report)
        if report_path.exists():
            summary = json.loads(report_path.read_text())["summary"]
            for kind, counts in sorted(summary.items()):
                shown = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
                print(f"{kind}: {shown}")
            print(f"report: {report_path}")
        return code

    return run


def _new_plugin_command(parser: argparse.ArgumentParser) -> Handler:
    parser.add_argument("name", help="the adapter name, e.g. 'myvenue' (lower case, digits, _)")
    parser.add_argument("--dir", default=".", help="where alphaforge-NAME/ is created")
    parser.add_argument("--venue", help="the venue of its instruments (default: NAME upper-cased)")

    def run(args: argparse.Namespace) -> int:
        from alphaforge.errors import InvalidValue
        from alphaforge.scaffold import new_plugin, plugin_names

        try:
            project = new_plugin(args.name, directory=args.dir, venue=args.venue)
        except (InvalidValue, OSError) as exc:
            print(f"alphaforge new-plugin: {exc}", file=sys.stderr)
            return 2
        names = plugin_names(args.name, args.venue)
        print(f"created {project}")
        for path in sorted(p for p in project.rglob("*") if p.is_file()):
            print(f"    {path.relative_to(project)}")
        print(f"next: cd {project} && pip install -e '.[test]' && pytest"
              f" && alphaforge conformance {names.name}  (see its README.md)")  # fmt: skip
        return 0

    return run


def _plugin_tests(target: str) -> Any:
    """The tests/ directory of ``target``: a path, or an installed (editable) plugin's source."""
    from importlib import metadata
    from pathlib import Path

    path = Path(target)
    if path.is_dir():
        return path
    for ep in metadata.entry_points(group="alphaforge"):
        dist = ep.dist.name if ep.dist is not None else ""
        if target not in (ep.name, dist):
            continue
        module = ep.load()
        here = Path(module.__file__ or "").resolve()
        for parent in here.parents:  # the project directory of an editable install
            if (parent / "pyproject.toml").exists():
                return parent / "tests" if (parent / "tests").is_dir() else None
    return None


@hookimpl
def alphaforge_register_strategies(register: Register) -> None:
    register("ema_cross", _ExampleStrategy("EmaCross"), description="EMA crossover on quote mids")
    register("ema_cross_bars", _ExampleStrategy("EmaCrossBars"), description="EMA cross on bars")
    register("market_maker", _ExampleStrategy("MarketMaker"), description="post-only market maker")


@hookimpl
def alphaforge_register_cli(register: Register) -> None:
    register("backtest", _backtest_command, description="run a backtest from a TOML file")
    register(
        "conformance", _conformance_command,
        description="run a plugin's conformance tests and write a JSON compatibility report",
    )  # fmt: skip
    register(
        "new-plugin", _new_plugin_command,
        description="create a venue-adapter plugin project that passes the conformance kit",
    )  # fmt: skip
    register("run", _run_command, description="run a live or paper trading node from a TOML file")
    register("plugins", _plugins_command, description="list installed plugins and their components")
    register("demo", _demo_command, description="start a kernel and run a message-bus round trip")
    register(
        "metrics",
        _metrics_command,
        description="print the latest metrics of a run from a JSON-lines metrics file",
    )


@hookimpl
def alphaforge_register_metrics_exporters(register: Register) -> None:
    register(
        "jsonl",
        _jsonl_exporter,
        description="append one JSON line per snapshot to a file (or log it without 'path')",
    )


# -- trading engines (portfolio, risk, execution, trader); built lazily by the factories -------


def _portfolio_engine(kernel: Any) -> Any:
    from alphaforge.trading.wiring import portfolio_from_kernel

    return portfolio_from_kernel(kernel)


def _risk_engine(kernel: Any) -> Any:
    from alphaforge.trading.wiring import risk_engine_from_kernel

    return risk_engine_from_kernel(kernel)


def _execution_engine(kernel: Any) -> Any:
    from alphaforge.trading.wiring import exec_engine_from_kernel

    return exec_engine_from_kernel(kernel)


def _trader_engine(kernel: Any) -> Any:
    from alphaforge.trading.wiring import trader_from_kernel

    return trader_from_kernel(kernel)


def _data_engine(kernel: Any) -> Any:
    from alphaforge.data.engine import DataEngine

    return DataEngine(kernel)


@hookimpl
def alphaforge_register_engines(register: Register) -> None:
    register("data", _data_engine, description="market data to cache and bus, books, bars")
    register("portfolio", _portfolio_engine, description="accounts, positions, PnL, exposure")
    register("risk", _risk_engine, description="pre-trade risk checks and trading state")
    register("execution", _execution_engine, description="order management (OMS) and routing")
    register("trader", _trader_engine, description="hosts actors and strategies")


@hookimpl
def alphaforge_kernel_started(kernel: Any) -> None:
    trader = kernel.engines.get("trader")
    if trader is not None:
        trader.start()


@hookimpl
def alphaforge_kernel_stopped(kernel: Any) -> None:
    trader = kernel.engines.get("trader")
    if trader is not None:
        trader.stop()


@hookimpl
def alphaforge_kernel_disposed(kernel: Any) -> None:
    trader = kernel.engines.get("trader")
    if trader is not None:
        trader.dispose()
