"""Kernel lifecycle, per-kernel plugin managers, quarantine and duplicate detection."""

from __future__ import annotations

import types
from typing import Any

import pytest

from alphaforge.errors import DuplicateComponent, KernelStateError, PluginLoadError
from alphaforge.kernel import Kernel, KernelConfig, KernelState, hookimpl
from alphaforge.kernel.hookspec import Register


class RecordingPlugin:
    """A plugin object that registers one strategy and records lifecycle hooks."""

    def __init__(self, strategy: str = "ema") -> None:
        self.strategy = strategy
        self.calls: list[str] = []

    @hookimpl
    def alphaforge_register_strategies(self, register: Register) -> None:
        register(self.strategy, dict, description="a strategy", capabilities=["bars"])

    @hookimpl
    def alphaforge_kernel_built(self, kernel: Kernel) -> None:
        self.calls.append("built")

    @hookimpl
    def alphaforge_kernel_started(self, kernel: Kernel) -> None:
        self.calls.append("started")

    @hookimpl
    def alphaforge_kernel_stopped(self, kernel: Kernel) -> None:
        self.calls.append("stopped")

    @hookimpl
    def alphaforge_kernel_disposed(self, kernel: Kernel) -> None:
        self.calls.append("disposed")


class FailingRegistration:
    """Registers an engine, then raises: nothing it registered may survive."""

    @hookimpl
    def alphaforge_register_engines(self, register: Register) -> None:
        register("half-done", dict)
        raise RuntimeError("registration exploded")


def isolated(*plugins: object, **config: Any) -> Kernel:
    return Kernel(KernelConfig(load_entry_points=False, **config), plugins=plugins)


def test_lifecycle_runs_hooks_in_order_and_context_manager_disposes() -> None:
    plugin = RecordingPlugin()
    with isolated(plugin) as kernel:
        assert kernel.state is KernelState.RUNNING
        assert "ema" in kernel.components("strategy")
    assert kernel.state is KernelState.DISPOSED
    assert plugin.calls == ["built", "started", "stopped", "disposed"]


def test_stop_and_restart_then_illegal_transitions_raise() -> None:
    kernel = isolated(RecordingPlugin()).build()
    kernel.start()
    kernel.stop()
    kernel.start()
    with pytest.raises(KernelStateError, match="cannot build a kernel in state 'running'"):
        kernel.build()
    kernel.dispose()
    with pytest.raises(KernelStateError, match="cannot start a kernel in state 'disposed'"):
        kernel.start()


@pytest.mark.anyio
async def test_async_context_manager() -> None:
    plugin = RecordingPlugin()
    async with isolated(plugin) as kernel:
        assert kernel.state is KernelState.RUNNING
    assert plugin.calls[-1] == "disposed"


def test_two_kernels_do_not_share_plugin_state() -> None:
    first, second = isolated(RecordingPlugin("a")).build(), isolated(RecordingPlugin("b")).build()
    assert set(first.components("strategy")) == {"a"}
    assert set(second.components("strategy")) == {"b"}
    assert first.plugins.manager is not second.plugins.manager
    assert first.msgbus is not second.msgbus


def test_duplicate_component_names_are_a_loud_error() -> None:
    with pytest.raises(DuplicateComponent, match=r"strategy 'ema' is registered by both"):
        isolated(RecordingPlugin("ema"), RecordingPlugin("ema")).build()


def test_failing_registration_is_quarantined_with_nothing_kept() -> None:
    kernel = isolated(FailingRegistration(), RecordingPlugin()).build()
    report = {info.name: info for info in kernel.plugin_report()}
    failed = report["FailingRegistration-0"]
    assert failed.status == "failed"
    assert failed.error is not None and "registration exploded" in failed.error
    assert "half-done" not in kernel.components("engine")
    assert report["RecordingPlugin-1"].status == "loaded"
    assert report["RecordingPlugin-1"].components == ("strategy:ema",)


def test_strict_mode_makes_a_failing_plugin_fatal() -> None:
    with pytest.raises(PluginLoadError, match="registration exploded"):
        isolated(FailingRegistration(), strict_plugins=True).build()


def test_unknown_hook_is_quarantined_not_fatal() -> None:
    bad = types.SimpleNamespace(alphaforge_no_such_hook=hookimpl(lambda: None))
    kernel = isolated(bad).build()
    (info,) = kernel.plugin_report()
    assert info.status == "failed"
    assert info.error is not None and "alphaforge_no_such_hook" in info.error


def test_engines_named_in_config_are_built_with_the_kernel() -> None:
    class EnginePlugin:
        @hookimpl
        def alphaforge_register_engines(self, register: Register) -> None:
            register("echo", lambda kernel: ("engine-for", kernel.trader_id))

    kernel = isolated(EnginePlugin(), engines=("echo",)).build()
    assert kernel.engines["echo"] == ("engine-for", kernel.trader_id)
    with pytest.raises(PluginLoadError, match=r"no engine named 'missing' \(available: echo\)"):
        isolated(EnginePlugin(), engines=("missing",)).build()


def test_builtin_plugin_is_discovered_from_entry_points() -> None:
    kernel = Kernel().build()
    report = {info.name: info for info in kernel.plugin_report()}
    assert report["builtins"].status == "loaded"
    assert report["builtins"].distribution == "alphaforge"
    assert {"plugins", "demo"} <= set(kernel.components("cli"))


def test_block_list_and_allow_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALPHAFORGE_DISABLE_PLUGINS", "builtins")
    kernel = Kernel().build()
    assert "builtins" not in {info.name for info in kernel.plugin_report()}
    assert "builtins" in kernel.plugins.disabled
    monkeypatch.delenv("ALPHAFORGE_DISABLE_PLUGINS")
    # The allow-list never drops the SDK's own built-ins.
    monkeypatch.setenv("ALPHAFORGE_LOAD_PLUGINS", "nothing-else")
    kernel = Kernel().build()
    assert "builtins" in {info.name for info in kernel.plugin_report()}
