"""As a user meets the plugin: listed by `alphaforge plugins` once installed, and the
documented paper-trading session (docs/live.md) -- the local Binance venue and `alphaforge run`
as two processes talking over real sockets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from alphaforge_binance.serve import LoopbackProcess

EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "examples" / "paper_binance.toml"
CLI = [sys.executable, "-m", "alphaforge"]


@pytest.fixture
def venue_urls() -> Iterator[dict[str, str]]:
    venue = LoopbackProcess("--rate", "50")  # `alphaforge binance-loopback`, on free ports
    try:
        yield {"rest_url": venue.rest_url, "ws_url": venue.ws_url}
    finally:
        assert venue.stop()["moves"] > 0  # SIGTERM is a clean stop (exit status 0)


@pytest.mark.skipif(not EXAMPLE.exists(), reason="runs from a source checkout (docs/)")
def test_documented_paper_session(venue_urls: dict[str, str], tmp_path: Path) -> None:
    text = EXAMPLE.read_text()
    for default, url in (("http://127.0.0.1:18081", venue_urls["rest_url"]),
                         ("ws://127.0.0.1:18082", venue_urls["ws_url"])):  # fmt: skip
        assert default in text
        text = text.replace(default, url)
    config = tmp_path / "paper.toml"
    config.write_text(text)
    run = subprocess.run(
        [*CLI, "run", str(config), "--duration", "10"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["trader_id"] == "PAPER-001" and summary["healthy"] is True
    # The EMA cross traded the streamed quotes on the paper venue, every order filled in full.
    assert summary["orders"] >= 1 and summary["filled_orders"] == summary["orders"], summary
    assert summary["open_orders"] == 0
    net = Decimal(summary["net_positions"]["BTCUSDT.BINANCE"])
    assert abs(net) in (Decimal(0), Decimal("0.01")), net  # flat or one trade size on a side
    usdt = Decimal(summary["balances"]["BINANCE-PAPER"]["USDT"].split()[0])
    assert 0 < usdt < Decimal(100000)  # commissions were charged


def test_installed_plugin_appears_in_alphaforge_plugins() -> None:
    out = subprocess.run([*CLI, "plugins", "--json"], capture_output=True, text=True, check=True)
    (row,) = [p for p in json.loads(out.stdout) if p["distribution"] == "alphaforge-binance"]
    assert row["status"] == "loaded" and row["error"] is None
    assert {"adapter:binance", "adapter:binance_usdm", "cli:binance-loopback"} <= set(
        row["components"]
    )
