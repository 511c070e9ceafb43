"""Shared fixtures.

No trained weights ship with the repository tests, so ``tiny_specs`` builds a set of tiny
random-weight models (one per shipped model kind), saves them as verified safetensors files, and
``tiny_registry`` makes ``enhance.registry.default_registry`` return a Registry of them.
``tiny_models_plugin`` exposes the same models to *subprocesses* as an installed plugin (a fake
``*.dist-info`` on ``PYTHONPATH``), which is how the example scripts are tested.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import textwrap
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import torch

from enhance import registry
from enhance.archs import CompactSR, UNetRestorer
from enhance.spec import ModelSpec
from enhance.weightstore import save_weights

#: name, task, scale, variant, architecture, args, condition, size multiple, tile overlap
TINY_MODELS: list[tuple[str, str, int, str, str, tuple[Any, ...], str, int, int]] = [
    ("tiny-sr-x4-gan", "upscale", 4, "gan", "CompactSR", (4, 8, 1), "none", 1, 20),
    ("tiny-sr-x4-fidelity", "upscale", 4, "fidelity", "CompactSR", (4, 8, 1), "none", 1, 20),
    ("tiny-sr-x2-gan", "upscale", 2, "gan", "CompactSR", (2, 8, 1), "none", 1, 20),
    ("tiny-sr-x2-fidelity", "upscale", 2, "fidelity", "CompactSR", (2, 8, 1), "none", 1, 20),
    ("tiny-denoise", "denoise", 1, "default", "UNetRestorer", (1, 8, 2, True), "sigma", 4, 16),
    ("tiny-inpaint", "inpaint", 1, "default", "UNetRestorer", (1, 8, 2, False), "mask", 4, 16),
]
ARCHS = {"CompactSR": CompactSR, "UNetRestorer": UNetRestorer}


def _tiny_net(arch: str, args: tuple[Any, ...], seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    net = ARCHS[arch](*args)
    if isinstance(net, CompactSR):  # its last conv starts at zero (pure bilinear); add some detail
        torch.nn.init.normal_(net.upconv.weight, std=0.05)
    return net


def make_spec(row: tuple[Any, ...], folder: Path, sha256: str) -> ModelSpec:
    """A ModelSpec for one row of :data:`TINY_MODELS` whose weights are ``folder/<name>.safetensors``."""
    name, task, scale, variant, arch, args, cond, mult, overlap = row
    return ModelSpec(
        name=name,
        task=task,
        scale=scale,
        build=partial(ARCHS[arch], *args),
        weights=folder / f"{name}.safetensors",
        sha256=sha256,
        licence="MIT (random test weights)",
        training_data="none (random weights)",
        description=f"tiny random-weight {task} model for tests",
        variant=variant,
        condition=cond,
        size_multiple=mult,
        tile_overlap=overlap,
        fp16=False,
        metrics={"Set5 x4 PSNR-Y": 12.5} if name == "tiny-sr-x4-gan" else {},
    )


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """Folder of tiny safetensors files and ``{name: sha256}``."""
    folder = tmp_path_factory.mktemp("tiny_weights")
    sums = {}
    for seed, row in enumerate(TINY_MODELS):
        name, arch, args = row[0], row[4], row[5]
        sums[name] = save_weights(_tiny_net(arch, args, seed), folder / f"{name}.safetensors")
    return folder, sums


@pytest.fixture(scope="session")
def tiny_specs(tiny_weights: tuple[Path, dict[str, str]]) -> list[ModelSpec]:
    """ModelSpecs of the tiny models."""
    folder, sums = tiny_weights
    return [make_spec(row, folder, sums[row[0]]) for row in TINY_MODELS]


@pytest.fixture
def tiny_registry(tiny_specs: list[ModelSpec], monkeypatch: pytest.MonkeyPatch) -> registry.Registry:
    """Make ``enhance.registry.default_registry()`` return a Registry of the tiny models only."""
    reg = registry.Registry(tiny_specs)
    monkeypatch.setattr(registry, "default_registry", lambda: reg)
    return reg


def write_fake_distribution(site: Path, name: str, entry_points: dict[str, str], version: str = "0.0.1") -> Path:
    """Make ``importlib.metadata`` see a distribution ``name`` with ``enhance.models`` entry points.

    ``site`` must be on ``sys.path`` (or ``PYTHONPATH`` of a subprocess) for it to be found.
    """
    dist = site / f"{name.replace('-', '_')}-{version}.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = ["[enhance.models]"] + [f"{k} = {v}" for k, v in entry_points.items()]
    (dist / "entry_points.txt").write_text("\n".join(lines) + "\n")
    return dist


@pytest.fixture(scope="session")
def tiny_models_plugin(tmp_path_factory: pytest.TempPathFactory, tiny_weights: tuple[Path, dict[str, str]]) -> Path:
    """A folder to put on a subprocess's ``PYTHONPATH`` so that it sees the tiny models as a plugin."""
    folder, sums = tiny_weights
    site = tmp_path_factory.mktemp("tiny_plugin_site")
    table = [list(row[:5]) + [list(row[5])] + list(row[6:]) + [sums[row[0]]] for row in TINY_MODELS]
    (site / "enhance_tiny_models.json").write_text(json.dumps({"folder": str(folder), "models": table}))
    (site / "enhance_tiny_models.py").write_text(
        textwrap.dedent(
            '''
            """Tiny random-weight models for tests, as an enhance plugin."""
            import json
            from functools import partial
            from pathlib import Path

            from enhance.archs import CompactSR, UNetRestorer
            from enhance.spec import ModelSpec

            _ARCHS = {"CompactSR": CompactSR, "UNetRestorer": UNetRestorer}


            def models():
                data = json.loads((Path(__file__).parent / "enhance_tiny_models.json").read_text())
                folder = Path(data["folder"])
                out = []
                for name, task, scale, variant, arch, args, cond, mult, overlap, sha in data["models"]:
                    out.append(ModelSpec(
                        name=name, task=task, scale=scale, build=partial(_ARCHS[arch], *args),
                        weights=folder / f"{name}.safetensors", sha256=sha, licence="MIT",
                        training_data="none", variant=variant, condition=cond,
                        size_multiple=mult, tile_overlap=overlap, fp16=False,
                    ))
                return out
            '''
        )
    )
    write_fake_distribution(site, "enhance-tiny-models", {"tiny": "enhance_tiny_models:models"})
    return site


# --------------------------------------------------------------------------- images
def smooth_rgb(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth random RGB uint8 image (gradients plus low noise), deterministic."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([xx / max(width - 1, 1), yy / max(height - 1, 1), (xx + yy) / max(height + width - 2, 1)], 2)
    noisy = base * 200 + 20 + rng.normal(0, 4, base.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


@pytest.fixture
def write_png(tmp_path: Path):  # type: ignore[no-untyped-def]
    """``write_png(relative_path, array)`` saves an image under tmp_path (Pillow; OpenCV for 16-bit)."""
    from PIL import Image

    def _write(rel: str, arr: np.ndarray) -> Path:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if arr.dtype == np.uint16:
            import cv2

            cv2.imwrite(str(path), arr if arr.ndim == 2 else np.ascontiguousarray(arr[:, :, ::-1]))
        else:
            Image.fromarray(arr).save(path)
        return path

    return _write


def load_script(path: Path, name: str) -> ModuleType:
    """A script outside the package (``benchmarks/*.py``) imported as module ``name``; registered in
    ``sys.modules`` first, since its dataclasses look their module up there."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod
