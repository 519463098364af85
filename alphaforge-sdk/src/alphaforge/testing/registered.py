"""The kits' shared ``registered_by_plugin`` step: what the installed plugins register."""

from __future__ import annotations

from typing import Any

__all__ = ["registered_component"]


def registered_component(kind: str, name: str, what: str) -> Any:
    """The component ``name`` of ``kind`` as a kernel built from the installed entry points
    sees it; asserts it is there and has a description (``what`` names the kind in messages)."""
    from alphaforge.kernel import Kernel, KernelConfig

    kernel = Kernel(KernelConfig()).build()
    try:
        components = kernel.components(kind)
        assert name in components, (
            f"no installed plugin registers {what} {name!r} (found: {sorted(components)})"
        )
        component = components[name]
        assert component.description, "register it with a description"
        return component
    finally:
        kernel.dispose()
