"""The kernel and its plugin system."""

from alphaforge.kernel.hookspec import hookimpl
from alphaforge.kernel.kernel import Environment, Kernel, KernelConfig, KernelState
from alphaforge.kernel.plugins import COMPONENT_KINDS, Component, PluginInfo, PluginRegistry

__all__ = [
    "COMPONENT_KINDS",
    "Component",
    "Environment",
    "Kernel",
    "KernelConfig",
    "KernelState",
    "PluginInfo",
    "PluginRegistry",
    "hookimpl",
]
