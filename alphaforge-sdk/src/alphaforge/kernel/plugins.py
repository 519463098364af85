"""Plugin discovery, quarantine and the component registry.

One :class:`PluginRegistry` per kernel owns one ``pluggy.PluginManager``: two kernels in one
process never share plugin state. Plugins come from the ``alphaforge`` entry-point group (the
SDK's built-ins included) and from objects passed in explicitly by an embedding application.

Environment variables (comma-separated entry-point or distribution names):

``ALPHAFORGE_LOAD_PLUGINS``
    Allow-list. When set, only these plugins (plus the SDK's own built-ins) are loaded.
``ALPHAFORGE_DISABLE_PLUGINS``
    Block-list. These plugins are never loaded (built-ins included).
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import metadata
from typing import Any, Literal

import attrs
import pluggy

from alphaforge.errors import DuplicateComponent, PluginLoadError
from alphaforge.kernel import hookspec

ENTRY_POINT_GROUP = "alphaforge"
BUILTIN_DISTRIBUTION = "alphaforge"

#: Component kind -> the registration hook that provides it.
COMPONENT_KINDS: Mapping[str, str] = {
    "adapter": "alphaforge_register_adapters",
    "engine": "alphaforge_register_engines",
    "strategy": "alphaforge_register_strategies",
    "metrics_exporter": "alphaforge_register_metrics_exporters",
    "cli": "alphaforge_register_cli",
}


@attrs.frozen
class Component:
    """A named factory a plugin registered."""

    kind: str
    name: str
    factory: Callable[..., Any]
    plugin: str
    description: str = ""
    capabilities: frozenset[str] = frozenset()


@attrs.frozen
class PluginInfo:
    """What is known about one plugin: the rows of ``alphaforge plugins``."""

    name: str
    distribution: str | None
    version: str | None
    status: Literal["loaded", "failed"]
    error: str | None = None
    hooks: tuple[str, ...] = ()
    components: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self, recurse=False) | {
            "hooks": list(self.hooks),
            "components": list(self.components),
        }


def _normalize(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def _names_from_env(variable: str) -> frozenset[str] | None:
    raw = os.environ.get(variable)
    if raw is None:
        return None
    return frozenset(_normalize(part) for part in raw.split(",") if part.strip())


def _describe(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


class PluginRegistry:
    """Discovers plugins, quarantines broken ones and collects their components.

    Parameters
    ----------
    plugins
        Plugin objects (modules or instances with ``hookimpl`` methods) to register in
        addition to the entry points, e.g. from an embedding application or a test.
    strict
        Raise :class:`~alphaforge.errors.PluginLoadError` instead of quarantining a plugin
        that fails to import or register.
    load_entry_points
        Discover plugins from the ``alphaforge`` entry-point group.
    """

    def __init__(
        self,
        plugins: Sequence[object] = (),
        *,
        strict: bool = False,
        load_entry_points: bool = True,
    ) -> None:
        self.strict = strict
        self.manager = pluggy.PluginManager(hookspec.PROJECT_NAME)
        self.manager.add_hookspecs(hookspec)
        self._infos: dict[str, PluginInfo] = {}
        self._components: dict[str, dict[str, Component]] = {kind: {} for kind in COMPONENT_KINDS}
        self.disabled: list[str] = []
        if load_entry_points:
            self._load_entry_points()
        for index, plugin in enumerate(plugins):
            name = getattr(plugin, "__name__", None) or f"{type(plugin).__name__}-{index}"
            self._add(name, plugin, distribution=None, version=None)
        self._collect_components()

    # -- discovery ---------------------------------------------------------------------------

    def _load_entry_points(self) -> None:
        allow = _names_from_env("ALPHAFORGE_LOAD_PLUGINS")
        block = _names_from_env("ALPHAFORGE_DISABLE_PLUGINS") or frozenset()
        for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=_entry_point_order):
            dist = ep.dist.name if ep.dist is not None else None
            version = ep.dist.version if ep.dist is not None else None
            names = {_normalize(ep.name)} | ({_normalize(dist)} if dist else set())
            builtin = dist is not None and _normalize(dist) == BUILTIN_DISTRIBUTION
            if names & block or (allow is not None and not builtin and not names & allow):
                self.disabled.append(ep.name)
                continue
            try:
                plugin = ep.load()
            except Exception as exc:  # noqa: BLE001 - any import failure quarantines the plugin
                self._quarantine(ep.name, dist, version, exc)
                continue
            self._add(ep.name, plugin, distribution=dist, version=version)

    def _add(
        self, name: str, plugin: object, distribution: str | None, version: str | None
    ) -> None:
        if name in self._infos:
            raise DuplicateComponent(
                f"two plugins named {name!r} (distributions {self._infos[name].distribution!r} "
                f"and {distribution!r})"
            )
        try:
            self.manager.register(plugin, name=name)
            self.manager.check_pending()
        except Exception as exc:  # noqa: BLE001 - e.g. pluggy's PluginValidationError
            if self.manager.is_registered(plugin):
                self.manager.unregister(plugin)
            self._quarantine(name, distribution, version, exc)
            return
        hooks = tuple(sorted(caller.name for caller in self.manager.get_hookcallers(plugin) or ()))
        self._infos[name] = PluginInfo(name, distribution, version, "loaded", hooks=hooks)

    def _quarantine(
        self, name: str, distribution: str | None, version: str | None, exc: BaseException
    ) -> None:
        if self.strict:
            raise PluginLoadError(
                f"plugin {name!r} ({distribution}) failed: {_describe(exc)}"
            ) from exc
        self._infos[name] = PluginInfo(name, distribution, version, "failed", error=_describe(exc))

    # -- components --------------------------------------------------------------------------

    def _collect_components(self) -> None:
        for name in list(self._infos):
            plugin = self.manager.get_plugin(name)
            if plugin is None:
                continue
            staged: list[Component] = []
            try:
                for kind, hook_name in COMPONENT_KINDS.items():
                    for impl in getattr(self.manager.hook, hook_name).get_hookimpls():
                        if impl.plugin is plugin:
                            impl.function(register=self._stager(kind, name, staged))
            except Exception as exc:  # noqa: BLE001 - a failing registration quarantines
                self.manager.unregister(plugin)
                info = self._infos[name]
                self._quarantine(name, info.distribution, info.version, exc)
                continue
            for component in staged:
                self._commit(component)
            self._infos[name] = attrs.evolve(
                self._infos[name], components=tuple(f"{c.kind}:{c.name}" for c in staged)
            )

    def _stager(self, kind: str, plugin: str, staged: list[Component]) -> hookspec.Register:
        def register(
            name: str,
            factory: Callable[..., Any],
            *,
            description: str = "",
            capabilities: Iterable[str] = (),
        ) -> None:
            if not isinstance(name, str) or not name:
                raise PluginLoadError(
                    f"plugin {plugin!r}: {kind} name={name!r} must be a non-empty str"
                )
            if not callable(factory):
                raise PluginLoadError(
                    f"plugin {plugin!r}: {kind} {name!r} factory={factory!r} is not callable"
                )
            staged.append(
                Component(kind, name, factory, plugin, description, frozenset(capabilities))
            )

        return register

    def _commit(self, component: Component) -> None:
        existing = self._components[component.kind].get(component.name)
        if existing is not None:
            raise DuplicateComponent(
                f"{component.kind} {component.name!r} is registered by both plugin "
                f"{existing.plugin!r} and plugin {component.plugin!r}"
            )
        self._components[component.kind][component.name] = component

    # -- queries -----------------------------------------------------------------------------

    def components(self, kind: str) -> Mapping[str, Component]:
        """The components of one kind, by name."""
        try:
            return dict(self._components[kind])
        except KeyError:
            raise PluginLoadError(
                f"kind={kind!r} is not a component kind; expected one of {sorted(COMPONENT_KINDS)}"
            ) from None

    def component(self, kind: str, name: str) -> Component:
        """One component; a missing name is an error listing what is available."""
        found = self.components(kind).get(name)
        if found is None:
            available = ", ".join(sorted(self._components[kind])) or "none"
            raise PluginLoadError(f"no {kind} named {name!r} (available: {available})")
        return found

    def report(self) -> list[PluginInfo]:
        """Every plugin that was loaded or failed, in load order."""
        return list(self._infos.values())

    def close(self) -> None:
        for name, plugin in list(self.manager.list_name_plugin()):
            self.manager.unregister(plugin, name=name)


def _entry_point_order(ep: metadata.EntryPoint) -> tuple[int, str]:
    # Built-ins first, then third-party plugins by name: deterministic registration order.
    dist = ep.dist.name if ep.dist is not None else ""
    return (0 if _normalize(dist) == BUILTIN_DISTRIBUTION else 1, ep.name)
