"""``alphaforge run CONFIG.toml``: a node from configuration -- adapters and strategies by
registered name, credentials from ``${ENV}`` references that never show up in reprs or logs."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import anyio
import attrs
import pytest

from alphaforge.config import Secret
from alphaforge.errors import ConfigError
from alphaforge.kernel.hookspec import Register, hookimpl
from alphaforge.kernel.plugins import PluginRegistry
from alphaforge.live.config import build_node, load_run_config, run_live
from alphaforge.model import AccountId, InstrumentId, QuoteTick
from alphaforge.model.instruments import Instrument
from alphaforge.net.loopback import LoopbackWsServer
from alphaforge.trading import Strategy, StrategyConfig

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "embed_web_service.py"
KEY, SECRET = "k-3c1d9e7f0a", "s-8b2e4f6a1c"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("embed_web_service_for_run", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@attrs.frozen
class QuoteCounterConfig(StrategyConfig):
    instrument_id: str = "BTCUSDT.DEMO"


class QuoteCounter(Strategy):
    config_class = QuoteCounterConfig
    seen: ClassVar[list[QuoteTick]] = []

    def __init__(self, config: QuoteCounterConfig | None = None) -> None:
        super().__init__(config)
        self.iid = InstrumentId.from_str((config or QuoteCounterConfig()).instrument_id)

    def on_start(self) -> None:
        self.subscribe_quotes(self.iid)

    def on_quote(self, quote: QuoteTick) -> None:
        QuoteCounter.seen.append(quote)


class DemoAdapter:
    """What the registered factory returns: instruments and a websocket data client."""

    def __init__(self, example: ModuleType, url: str, api_key: Secret, api_secret: Secret) -> None:
        self.example, self.url = example, url
        self.credentials = (api_key, api_secret)

    @property
    def capabilities(self) -> Any:
        return self.example.DemoDataClient(self.url).capabilities

    @property
    def instrument_provider(self) -> Any:
        instrument = self.example.INSTRUMENT

        class Provider:
            async def load_all(self) -> Sequence[Instrument]:
                return [instrument]

            async def load(self, ids: Sequence[InstrumentId]) -> Sequence[Instrument]:
                return [instrument] if instrument.id in ids else []

            def get(self, instrument_id: InstrumentId) -> Instrument | None:
                return instrument if instrument_id == instrument.id else None

        return Provider()

    def data_client(self) -> Any:
        return self.example.DemoDataClient(self.url)

    def execution_client(self, account_id: AccountId) -> Any:
        raise AssertionError("paper venue: no execution client")


class DemoPlugin:
    def __init__(self) -> None:
        self.example = load_example()
        self.adapters: list[DemoAdapter] = []

    def _factory(self, url: str, api_key: Secret, api_secret: Secret) -> DemoAdapter:
        adapter = DemoAdapter(self.example, url, api_key, api_secret)
        self.adapters.append(adapter)
        return adapter

    @hookimpl
    def alphaforge_register_adapters(self, register: Register) -> None:
        register("demo_ws", self._factory, capabilities=("quotes",))

    @hookimpl
    def alphaforge_register_strategies(self, register: Register) -> None:
        register("quote_counter", QuoteCounter)


def write_config(tmp_path: Path, url: str, adapter: str = "demo_ws") -> Path:
    path = tmp_path / "live.toml"
    path.write_text(
        f"""
[node]
trader_id = "PAPER-001"
health_interval_s = 0.05

[[venues]]
name = "DEMO"
adapter = "{adapter}"
config = {{ url = "{url}" }}
credentials = {{ api_key = "${{AF_TEST_KEY}}", api_secret = "${{AF_TEST_SECRET}}" }}
instruments = ["BTCUSDT.DEMO"]
paper = true
starting_balances = ["10000 USDT"]

[[strategies]]
name = "quote_counter"
config = {{ instrument_id = "BTCUSDT.DEMO" }}
"""
    )
    return path


@pytest.mark.anyio
async def test_run_a_paper_node_from_config(
    anyio_backend: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("AF_TEST_KEY", KEY)
    monkeypatch.setenv("AF_TEST_SECRET", SECRET)
    caplog.set_level(logging.DEBUG)
    plugin = DemoPlugin()
    QuoteCounter.seen.clear()
    with LoopbackWsServer(plugin.example.demo_feed) as feed:
        path = write_config(tmp_path, feed.url)
        config = load_run_config(path)
        assert KEY not in repr(config) and SECRET not in repr(config)
        stop = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: run_live(path, plugins=(plugin,), stop=stop))
            with anyio.fail_after(15):
                while len(QuoteCounter.seen) < 3:
                    await anyio.sleep(0.01)
            stop.set()
    (adapter,) = plugin.adapters
    assert [s.get_secret_value() for s in adapter.credentials] == [KEY, SECRET]
    assert KEY not in caplog.text and SECRET not in caplog.text
    assert "node PAPER-001 running" in caplog.text


def test_unknown_adapter_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AF_TEST_KEY", KEY)
    monkeypatch.setenv("AF_TEST_SECRET", SECRET)
    config = load_run_config(write_config(tmp_path, "ws://127.0.0.1:1", adapter="nope"))
    with pytest.raises(ConfigError, match=r"venues\[0\]\.adapter") as info:
        build_node(config, plugins=(DemoPlugin(),))
    assert KEY not in str(info.value)


def test_missing_secret_names_the_variable_not_a_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AF_TEST_KEY", raising=False)
    with pytest.raises(ConfigError, match="AF_TEST_KEY"):
        load_run_config(write_config(tmp_path, "ws://127.0.0.1:1"), secrets_file=None)


def test_cli_has_the_run_command() -> None:
    from alphaforge.cli import build_parser

    parser = build_parser(PluginRegistry())
    args = parser.parse_args(["run", "node.toml", "--backend", "trio"])
    assert args.config == "node.toml" and args.backend == "trio"
