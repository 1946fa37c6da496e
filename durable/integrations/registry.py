"""Resolve a Task ``Resource`` to the integration that runs it.

Built-ins are consulted first; plugins from the entry-point group ``durable.integrations``
are loaded lazily, the first time a resource is not handled by a built-in. Two plugins
claiming the same resource is an :class:`IntegrationConflict`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from importlib.metadata import entry_points
from typing import Any

from ..errors import IntegrationConflict, ResourceNotFound
from .base import Integration

__all__ = ["ENTRY_POINT_GROUP", "IntegrationRegistry", "plugin_hint"]

ENTRY_POINT_GROUP = "durable.integrations"

_SERVICE = re.compile(r"^arn:[\w-]+:states:::(?:aws-sdk:)?([\w-]+)[:.]")
_PLUGINS = {"http": "durable-http"}


def plugin_hint(resource: str) -> str:
    m = _SERVICE.match(resource)
    if m:
        return _PLUGINS.get(m.group(1), "durable-aws")
    if ":activity:" in resource:
        return "durable (activities arrive with durable Standard executions)"
    return "a plugin providing this resource"


class IntegrationRegistry:
    def __init__(
        self,
        builtins: Iterable[Integration] = (),
        *,
        load_entry_points: bool = True,
        loader: Callable[[], Iterable[Any]] | None = None,
    ) -> None:
        self._builtins = list(builtins)
        # built-ins that decide per call (the local functions: only those registered here)
        self._per_call: list[Any] = [b for b in self._builtins if hasattr(b, "declines")]  # Integration
        self._per_call_for: dict[str, list[Any]] = {}  # resource -> the per-call built-ins handling it
        self._extra: list[Integration] = []
        self._overrides: list[Integration] = []  # checked before anything else (test mocks)
        self._plugins: list[Integration] | None = None if load_entry_points else []
        self._loader = loader or (lambda: entry_points(group=ENTRY_POINT_GROUP))
        self._cache: dict[str, Integration] = {}

    def add(self, integration: Integration, *, override: bool = False) -> None:
        """Register an integration object directly (takes precedence over plugins). An
        ``override`` takes precedence over everything, local functions included."""
        (self._overrides if override else self._extra).append(integration)
        self._cache.clear()

    def _load_plugins(self) -> list[Integration]:
        if self._plugins is None:
            loaded: list[Integration] = []
            for ep in self._loader():
                factory = ep.load()
                is_factory = isinstance(factory, type) or (
                    callable(factory) and not isinstance(factory, Integration)
                )
                obj = factory() if is_factory else factory
                if not isinstance(obj, Integration):
                    raise IntegrationConflict(
                        f"Entry point {ep.name!r} in group {ENTRY_POINT_GROUP!r} "
                        "did not provide an Integration"
                    )
                loaded.append(obj)
            self._plugins = loaded
        return self._plugins

    @property
    def plugins(self) -> list[Integration]:
        return list(self._load_plugins())

    def resolve(self, resource: str, payload: Any = None, *, overrides: bool = True) -> Integration:
        """The integration that runs ``resource``. A registered or built-in integration that
        ``declines(resource, payload)`` this call (the local functions, for a Lambda function
        not registered here) hands it to the plugin that handles the resource, if one does.
        ``overrides=False`` skips the overrides (what runs the resource without them)."""
        if overrides:
            for override in self._overrides:
                if override.handles(resource):
                    return override
        per_call = self._per_call_for.get(resource)  # handles() is pure: asked once per resource
        if per_call is None:
            per_call = self._per_call_for[resource] = [b for b in self._per_call if b.handles(resource)]
        declined: Integration | None = None
        for builtin in per_call:  # a local function keeps precedence over any plugin
            if not builtin.declines(resource, payload):
                found: Integration = builtin
                return found
            declined = builtin
        hit = self._cache.get(resource)
        if hit is None:
            for group in (self._extra, self._builtins):
                hit = next((i for i in group if i.handles(resource)), None)
                if hit is not None:
                    self._cache[resource] = hit
                    break
        if hit is not None:
            if hit is declined:  # not its call: a plugin that handles the resource runs it
                matches = [p for p in self._load_plugins() if p.handles(resource)]
                return matches[0] if len(matches) == 1 else hit
            return hit
        matches = [p for p in self._load_plugins() if p.handles(resource)]
        if len(matches) > 1:
            names = ", ".join(repr(m.name) for m in matches)
            raise IntegrationConflict(f"Resource '{resource}' is claimed by several plugins: {names}")
        if not matches:
            raise ResourceNotFound(
                f"No integration handles the resource '{resource}'. Install {plugin_hint(resource)} "
                "or register an integration with Engine.add_integration()."
            )
        self._cache[resource] = matches[0]
        return matches[0]
