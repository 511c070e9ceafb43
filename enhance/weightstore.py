"""Weight files: safetensors only, verified against a sha256 before loading."""

from __future__ import annotations

import hashlib
import json
import os
from importlib import resources
from pathlib import Path

import torch
from torch import nn

from enhance.errors import WeightsError

MANIFEST_NAME = "manifest.json"


def weights_dir() -> Path:
    """The folder of shipped weights (``weights/`` in the repo, ``enhance/weights`` when installed)."""
    try:
        return Path(str(resources.files("enhance.weights")))
    except ModuleNotFoundError:  # the checkout's enhance/ imported without the install's mapping
        return Path(__file__).resolve().parent.parent / "weights"  # (python run in the repo root)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(folder: Path | None = None) -> dict[str, dict[str, object]]:
    """``{file name: {"sha256": ..., "bytes": ...}}`` of the shipped weights (empty if no manifest)."""
    path = (folder or weights_dir()) / MANIFEST_NAME
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
        files = data["files"]
        assert isinstance(files, dict)
        return files
    except (ValueError, KeyError, AssertionError) as exc:
        raise WeightsError(f"{path}: malformed weights manifest ({exc})") from exc


def write_manifest(folder: Path) -> dict[str, dict[str, object]]:
    """Recompute the sha256 and size of every ``*.safetensors`` file in ``folder``, keeping other keys."""
    old = read_manifest(folder)
    files: dict[str, dict[str, object]] = {}
    for p in sorted(folder.glob("*.safetensors")):
        entry = dict(old.get(p.name, {}))
        entry.update(sha256=sha256_file(p), bytes=p.stat().st_size)
        files[p.name] = entry
    (folder / MANIFEST_NAME).write_text(json.dumps({"files": files}, indent=2) + "\n")
    return files


def load_weights(net: nn.Module, path: Path, sha256: str | None) -> nn.Module:
    """Verify ``path`` against ``sha256`` and load it into ``net`` strictly (safetensors, no pickle)."""
    from safetensors.torch import load_file

    if not path.is_file():
        raise WeightsError(f"{path}: weight file not found")
    if sha256 is None:
        raise WeightsError(f"{path}: no sha256 given for this weight file; refusing to load unverified weights")
    actual = sha256_file(path)
    if actual != sha256.lower():
        raise WeightsError(f"{path}: sha256 mismatch (expected {sha256[:12]}..., file has {actual[:12]}...)")
    try:
        state = load_file(str(path))
    except Exception as exc:  # safetensors raises its own error types
        raise WeightsError(f"{path}: not a readable safetensors file ({exc})") from exc
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise WeightsError(f"{path}: weights do not fit the architecture ({first})") from exc
    return net


def save_weights(
    net: nn.Module, path: Path, metadata: dict[str, str] | None = None, dtype: torch.dtype = torch.float32
) -> str:
    """Save ``net``'s state dict as safetensors (contiguous copies in ``dtype``, fp32 by default; fp16
    halves a large model's file and loads into an fp32 model) and return its sha256."""
    from safetensors.torch import save_file

    state = {k: v.detach().to(dtype).contiguous().cpu() for k, v in net.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    save_file(state, str(tmp), metadata=metadata)
    os.chmod(tmp, 0o644)  # safetensors creates 0600 files; shipped weights must be readable by all
    tmp.replace(path)
    return sha256_file(path)
