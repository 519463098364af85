"""The SDK's built-in plugin, loaded through the ``alphaforge`` entry point like any other."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

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


@hookimpl
def alphaforge_register_cli(register: Register) -> None:
    register("plugins", _plugins_command, description="list installed plugins and their components")
    register("demo", _demo_command, description="start a kernel and run a message-bus round trip")
