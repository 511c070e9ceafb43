"""The model registry: built-in models plus third-party plugins.

Plugins are distributions that declare an entry point in the group ``enhance.models``; the entry
point is a callable returning an iterable of :class:`~enhance.spec.ModelSpec` (or the iterable
itself). A plugin that fails to import or returns something else is skipped with a
:class:`PluginWarning`; the rest of the registry still works.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from importlib.metadata import entry_points

from torch import nn

from enhance.errors import DuplicateModelError, InvalidInputError, ModelNotFoundError, WeightsError
from enhance.spec import TASKS, ModelSpec, Task
from enhance.weightstore import load_weights

ENTRY_POINT_GROUP = "enhance.models"


class PluginWarning(UserWarning):
    """A plugin could not be loaded and was skipped."""


@dataclass(frozen=True)
class ImageTraits:
    """What the selection policy needs to know of an image: its format, bit depth and, for the
    denoiser, the kind of its noise.

    ``careful`` images (DICOM, more than 8 bits per sample: medical, scientific and archival
    masters, and float arrays) get models that invent no detail. ``noise`` is ``'white'``,
    ``'correlated'`` or None: then it is read off ``pixels`` when a policy asks
    (:meth:`noise_kind`), so only the denoiser's choice pays for it.
    """

    format: str = "png"
    bit_depth: int = 8
    noise: str | None = None
    pixels: Any = field(default=None, compare=False, repr=False)

    @property
    def careful(self) -> bool:
        return self.format == "dicom" or self.bit_depth > 8

    def noise_kind(self) -> str:
        """``noise`` if given, else read off the pixels (:func:`enhance.ops.noise.noise_kind`);
        ``'correlated'`` (what real photos have) when there are no pixels."""
        if self.noise is not None:
            return self.noise
        if self.pixels is None:
            return "correlated"
        from enhance.ops.noise import noise_kind

        return noise_kind(self.pixels)

    @classmethod
    def of(cls, image: Any) -> "ImageTraits":
        """The traits of an :class:`enhance.io.ImageData` (anything with ``format``, ``bit_depth`` and
        ``pixels``)."""
        return cls(str(image.format), int(image.bit_depth), pixels=getattr(image, "pixels", None))


#: Upscaler variants in order of preference, by kind of image. An ordinary 8-bit photo gets the
#: real-world GAN model (trained on real degradations: JPEG, noise, blur) where one exists for the
#: scale, else the bicubic-trained GAN model; careful images get the fidelity model.
UPSCALE_PREFERENCE: dict[bool, tuple[str, ...]] = {False: ("real", "gan", "fidelity"), True: ("fidelity",)}
#: Denoiser variants by kind of noise: camera noise, grain and JPEG (and photos with little noise)
#: get the model trained on a simulated camera pipeline; white noise, and careful images, the
#: model trained on independent per-pixel noise, which is ahead there.
DENOISE_PREFERENCE: dict[str, tuple[str, ...]] = {"correlated": ("real", "default"), "white": ("default",)}


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

    def select(
        self, task: Task, scale: int = 1, traits: ImageTraits | None = None, prefer: str | None = None
    ) -> ModelSpec:
        """The model to run for ``task`` at ``scale`` on an image with ``traits`` (None: an ordinary
        8-bit photo). The one selection policy: the API, the batch pipeline and restore all call it.

        ``prefer`` names a variant ('real', 'gan', 'fidelity') to take first when one exists;
        otherwise upscaling follows :data:`UPSCALE_PREFERENCE`, denoising :data:`DENOISE_PREFERENCE`
        by the image's kind of noise, and the other tasks take their first built-in model.
        """
        candidates = self.list(task, scale if task == "upscale" else None)
        if not candidates:
            what = f"{task} x{scale}" if task == "upscale" else task
            raise ModelNotFoundError(f"no model installed for {what}")
        builtin = [s for s in candidates if s.source == "builtin"] or candidates
        order: tuple[str, ...] = ()
        if prefer:
            order = (prefer,)
        elif task == "upscale":
            order = UPSCALE_PREFERENCE[(traits or ImageTraits()).careful]
        elif task == "denoise":
            traits = traits or ImageTraits()
            order = DENOISE_PREFERENCE["white" if traits.careful else traits.noise_kind()]
        for variant in order:
            for s in builtin:
                if s.variant == variant:
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


def resolve(
    name_or_task: str, scale: int | None = None, variant: str | None = None, traits: ImageTraits | None = None
) -> ModelSpec:
    """A model by name (checked against ``scale`` when given), or the model a task runs on an image
    with ``traits`` by :meth:`Registry.select` of the default registry (``variant`` overrides the
    policy; upscaling defaults to x4)."""
    reg = default_registry()
    if name_or_task in TASKS:
        task: Task = name_or_task  # type: ignore[assignment]
        return reg.select(task, (scale or 4) if task == "upscale" else 1, traits, prefer=variant)
    return resolve_model(name_or_task, scale)


def resolve_model(name: str, scale: int | None = None) -> ModelSpec:
    """The model named ``name`` in the default registry (checked against ``scale`` when given): what
    a user's ``--model`` means. Never a task's pick, although the models ``denoise`` and ``inpaint``
    share their task's name."""
    spec = default_registry().get(name)
    if scale is not None and spec.scale != scale:
        raise InvalidInputError(f"model {spec.name!r} upscales x{spec.scale}, not x{scale}")
    return spec


def build_model(spec: ModelSpec) -> nn.Module:
    """Build the network of ``spec`` and load its verified weights."""
    net = spec.build()
    if spec.weights is None:
        raise WeightsError(f"model {spec.name!r} has no weight file")
    return load_weights(net, spec.weights, spec.sha256)


def count_parameters(spec: ModelSpec) -> int:
    return sum(p.numel() for p in spec.build().parameters())
