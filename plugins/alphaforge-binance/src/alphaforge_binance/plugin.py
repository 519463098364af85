"""The ``alphaforge`` entry point: registers the ``binance`` and ``binance_usdm`` adapters and
the ``alphaforge binance-loopback`` command (a local Binance venue for paper sessions)."""

from __future__ import annotations

from typing import Any

from alphaforge.kernel import hookimpl
from alphaforge.kernel.hookspec import Register
from alphaforge_binance.common import SPOT_CAPABILITIES, USDM_CAPABILITIES, BinanceMarket


def _spot(**config: Any) -> Any:
    from alphaforge_binance.adapter import BinanceAdapter

    return BinanceAdapter(BinanceMarket.SPOT, **config)


def _usdm(**config: Any) -> Any:
    from alphaforge_binance.adapter import BinanceAdapter

    return BinanceAdapter(BinanceMarket.USDM, **config)


@hookimpl
def alphaforge_register_adapters(register: Register) -> None:
    register(
        "binance",
        _spot,
        description="Binance Spot (API v3): instruments, market data, diff-depth books, orders",
        capabilities=SPOT_CAPABILITIES.as_strings(),
    )
    register(
        "binance_usdm",
        _usdm,
        description="Binance USD-M futures (/fapi/v1): instruments, market data, books, orders",
        capabilities=USDM_CAPABILITIES.as_strings(),
    )


def _loopback_command(parser: Any) -> Any:
    # Imported when the command is used: building a kernel must not import argparse & co.
    from alphaforge_binance.serve import loopback_command

    return loopback_command(parser)


@hookimpl
def alphaforge_register_cli(register: Register) -> None:
    register(
        "binance-loopback", _loopback_command,
        description="serve a local Binance venue (REST + WebSocket on 127.0.0.1) for paper runs",
    )  # fmt: skip
