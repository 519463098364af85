"""The ``alphaforge`` command line.

Sub-commands are components registered through ``alphaforge_register_cli``; the SDK's own
(``plugins``, ``demo``) come from its built-in plugin exactly like third-party ones.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from alphaforge import __version__


def build_parser(registry: object) -> argparse.ArgumentParser:
    from alphaforge.kernel.plugins import PluginRegistry

    assert isinstance(registry, PluginRegistry)
    parser = argparse.ArgumentParser(
        prog="alphaforge", description="AlphaForge algorithmic-trading SDK"
    )
    parser.add_argument("--version", action="version", version=f"alphaforge {__version__}")
    parser.set_defaults(plugin_registry=registry, handler=None)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name, component in sorted(registry.components("cli").items()):
        sub = commands.add_parser(
            name, help=component.description, description=component.description
        )
        try:
            sub.set_defaults(handler=component.factory(sub))
        except Exception as exc:  # noqa: BLE001 - one broken command must not break the CLI
            print(
                f"alphaforge: command {name!r} from plugin {component.plugin!r} failed to "
                f"configure: {exc}",
                file=sys.stderr,
            )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] in (["--version"], ["-V"]):  # answer without discovering plugins
        print(f"alphaforge {__version__}")
        return 0
    from alphaforge.kernel.plugins import PluginRegistry

    parser = build_parser(PluginRegistry())
    args = parser.parse_args(args_list)
    if args.handler is None:
        parser.print_help()
        return 2
    return int(args.handler(args))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
