"""The model registry: built-in models plus third-party plugins.

Plugins are distributions that declare an entry point in the group ``enhance.models``; the entry
point is a callable returning an iterable of :class:`~enhance.spec.ModelSpec` (or the iterable
itself). A plugin that fails to import or returns something else is skipped with a
:class:`PluginWarning`; the rest of the registry still works.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from functools import lru_cache
from importlib.metadata import entry_points

from torch import nn

from enhance.errors import DuplicateModelError, ModelNotFoundError, WeightsError
from enhance.spec import ModelSpec, Task
from enhance.weightstore import load_weights

ENTRY_POINT_GROUP = "enhance.models"


class PluginWarning(UserWarning):
    """A plugin could not be loaded and was skipped."""


class Registry:
    """Models by name. Built once; apps may :meth:`add` their own specs."""

    def __init__(self, specs: Iterable[ModelSpec] = ()) -> None:
        self._specs: dict[str, ModelSpec] = {}
        for spec in specs:
            self.add(spec)

    def add(self, spec: ModelSpec) -> None:
        if not isinstance(spec, ModelSpec):
            raise TypeError(f"expected a ModelSpec, got {type(spec).__name__}")
        if spec.name in self._specs:
            raise DuplicateModelError(f"a model named {spec.name!r} is already registered")
        self._specs[spec.name] = spec

    def get(self, name: str) -> ModelSpec:
        try:
            return self._specs[name]
        except KeyError:
            known = ", ".join(sorted(self._specs)) or "none"
            raise ModelNotFoundError(f"no model named {name!r} (known: {known})") from None

    def list(self, task: Task | None = None, scale: int | None = None) -> list[ModelSpec]:
        return [
            s
            for s in self._specs.values()
            if (task is None or s.task == task) and (scale is None or s.scale == scale)
        ]

    def select(self, task: Task, scale: int = 1, prefer: str | None = None) -> ModelSpec:
        """The default model for a task and scale, preferring the given variant ('gan'/'fidelity')."""
        candidates = self.list(task, scale if task == "upscale" else None)
        if not candidates:
            what = f"{task} x{scale}" if task == "upscale" else task
            raise ModelNotFoundError(f"no model installed for {what}")
        builtin = [s for s in candidates if s.source == "builtin"] or candidates
        if prefer:
            for s in builtin:
                if s.variant == prefer:
                    return s
        return builtin[0]

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __len__(self) -> int:
        return len(self._specs)


def discover_plugins() -> list[ModelSpec]:
    """ModelSpecs from every installed ``enhance.models`` entry point; broken plugins are skipped."""
    found: list[ModelSpec] = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
            specs = obj() if callable(obj) else obj
            specs = list(specs)
            bad = [s for s in specs if not isinstance(s, ModelSpec)]
            if bad:
                raise TypeError(f"returned {type(bad[0]).__name__}, not ModelSpec")
        except Exception as exc:  # a plugin may fail in any way; it must not break the tool
            warnings.warn(f"plugin {ep.name!r} ({ep.value}) skipped: {exc}", PluginWarning, stacklevel=2)
            continue
        for spec in specs:
            found.append(spec if spec.source != "builtin" else _with_source(spec, ep.name))
    return found


def _with_source(spec: ModelSpec, source: str) -> ModelSpec:
    import dataclasses

    return dataclasses.replace(spec, source=f"plugin:{source}")


@lru_cache(maxsize=1)
def default_registry() -> Registry:
    """Built-in models, then plugins (a plugin whose name clashes is skipped with a warning)."""
    from enhance.builtin import builtin_specs

    reg = Registry(builtin_specs())
    for spec in discover_plugins():
        try:
            reg.add(spec)
        except DuplicateModelError as exc:
            warnings.warn(f"{spec.source}: {exc}; skipped", PluginWarning, stacklevel=2)
    return reg


def build_model(spec: ModelSpec) -> nn.Module:
    """Build the network of ``spec`` and load its verified weights."""
    net = spec.build()
    if spec.weights is None:
        raise WeightsError(f"model {spec.name!r} has no weight file")
    return load_weights(net, spec.weights, spec.sha256)


def count_parameters(spec: ModelSpec) -> int:
    return sum(p.numel() for p in spec.build().parameters())
