"""Registry, shipped weights and their hashes."""

from __future__ import annotations

import json
import shutil
from functools import partial
from pathlib import Path

import pytest
import torch

from enhance.archs import CompactSR
from enhance.builtin import builtin_specs
from enhance.errors import DuplicateModelError, ModelNotFoundError, WeightsError
from enhance.registry import Registry, build_model
from enhance.spec import ModelSpec
from enhance.weightstore import load_weights, read_manifest, save_weights, sha256_file, weights_dir


def test_manifest_matches_every_shipped_file() -> None:
    folder = weights_dir()
    manifest = read_manifest(folder)
    files = sorted(p.name for p in folder.glob("*.safetensors"))
    assert files == sorted(manifest), "every weight file must be in the manifest and vice versa"
    for name, entry in manifest.items():
        assert sha256_file(folder / name) == entry["sha256"], name
        assert (folder / name).stat().st_size < 20 * 1024 * 1024


def test_hash_mismatch_is_refused(tmp_path: Path) -> None:
    net = CompactSR(2, 8, 1)
    path = tmp_path / "w.safetensors"
    digest = save_weights(net, path)
    load_weights(CompactSR(2, 8, 1), path, digest)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="sha256 mismatch"):
        load_weights(CompactSR(2, 8, 1), path, digest)
    with pytest.raises(WeightsError, match="no sha256"):
        load_weights(CompactSR(2, 8, 1), path, None)
    with pytest.raises(WeightsError, match="not found"):
        load_weights(CompactSR(2, 8, 1), tmp_path / "missing.safetensors", digest)


def test_wrong_architecture_is_a_weights_error(tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    digest = save_weights(CompactSR(2, 8, 1), path)
    with pytest.raises(WeightsError, match="do not fit"):
        load_weights(CompactSR(2, 16, 1), path, digest)


def test_fp16_weights_load_into_fp32_models(tmp_path: Path) -> None:
    net = CompactSR(2, 8, 1)
    path = tmp_path / "h.safetensors"
    digest = save_weights(net, path, dtype=torch.float16)
    other = load_weights(CompactSR(2, 8, 1), path, digest)
    assert next(other.parameters()).dtype == torch.float32
    assert torch.allclose(other.head.weight, net.head.weight, atol=1e-3)


def test_registry_duplicates_lookup_and_selection(tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    digest = save_weights(CompactSR(2, 8, 1), path)

    def spec(name: str, variant: str) -> ModelSpec:
        return ModelSpec(name=name, task="upscale", scale=2, build=partial(CompactSR, 2, 8, 1), weights=path,
                         sha256=digest, licence="MIT", training_data="none", variant=variant)

    reg = Registry([spec("a", "fidelity"), spec("b", "gan")])
    with pytest.raises(DuplicateModelError):
        reg.add(spec("a", "gan"))
    with pytest.raises(ModelNotFoundError, match="known: a, b"):
        reg.get("zzz")
    assert reg.select("upscale", 2, prefer="gan").name == "b"
    assert reg.select("upscale", 2, prefer="fidelity").name == "a"
    with pytest.raises(ModelNotFoundError):
        reg.select("upscale", 4)
    with pytest.raises(ModelNotFoundError):
        reg.select("denoise")


def test_weights_install_with_the_package() -> None:
    import enhance.weights

    assert Path(enhance.weights.__file__).parent == weights_dir()
    assert json.loads((weights_dir() / "manifest.json").read_text())["files"]


def test_weights_found_from_a_checkout_imported_without_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """``python`` run in the repo root after ``pip install .`` imports the checkout's enhance/, which
    has no ``enhance.weights`` package: the weights are then the checkout's weights/ folder."""
    import enhance.weights
    from enhance import weightstore

    def missing(name: str) -> None:
        raise ModuleNotFoundError(f"No module named {name!r}")

    monkeypatch.setattr(weightstore.resources, "files", missing)
    assert weights_dir() == Path(enhance.weights.__file__).parent


def test_weight_records_name_one_file_and_one_variant_each() -> None:
    """Built-in weights are records over shared architectures: unique names, and one variant tag per
    architecture (the selection policy picks a variant)."""
    from enhance.builtin import WEIGHTS

    assert len({w.name for w in WEIGHTS}) == len(WEIGHTS)
    assert all(w.file == f"{w.name}.safetensors" for w in WEIGHTS)
    tags = [(w.arch.name, w.variant) for w in WEIGHTS]
    assert len(set(tags)) == len(tags)
    assert len({w.arch.name for w in WEIGHTS}) == len({w.arch for w in WEIGHTS})


def test_a_weight_record_is_all_a_new_weight_file_needs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from enhance import builtin
    from enhance.weightstore import write_manifest

    torch.manual_seed(0)
    save_weights(builtin.SR_X2.build(), tmp_path / "sr-x2-test.safetensors")
    write_manifest(tmp_path)
    record = builtin.Weights("sr-x2-test", builtin.SR_X2, "a test weight", variant="test", headline="none")
    monkeypatch.setattr(builtin, "weights_dir", lambda: tmp_path)
    monkeypatch.setattr(builtin, "WEIGHTS", (record, *builtin.WEIGHTS))
    (spec,) = builtin.builtin_specs()  # the shipped files are not in this folder's manifest
    assert (spec.name, spec.task, spec.scale, spec.variant, spec.size_multiple) == ("sr-x2-test", "upscale", 2, "test", 1)
    assert spec.weights == tmp_path / "sr-x2-test.safetensors" and spec.card == tmp_path / "sr-x2-test.md"
    assert isinstance(build_model(spec), CompactSR)
