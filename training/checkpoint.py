"""Training checkpoints as safetensors (no pickle): model, EMA and optimizer tensors + JSON metadata."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn


def _flatten_optimizer(prefix: str, opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, st in sd["state"].items():
        for key, val in st.items():
            if torch.is_tensor(val):
                tensors[f"{prefix}.state.{idx}.{key}"] = val.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(idx), {})[key] = val
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _unflatten_optimizer(prefix: str, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    head = f"{prefix}.state."
    for name, val in tensors.items():
        if name.startswith(head):
            idx, key = name[len(head) :].split(".", 1)
            state.setdefault(int(idx), {})[key] = val
    for idx, extra in meta.get("scalars", {}).items():
        state.setdefault(int(idx), {}).update(extra)
    return {"state": state, "param_groups": meta["param_groups"]}


def save_checkpoint(
    path: Path,
    models: dict[str, nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    meta: dict[str, Any],
) -> None:
    """Write everything needed to resume into one safetensors file, atomically."""
    from safetensors.torch import save_file

    tensors: dict[str, torch.Tensor] = {}
    opt_meta: dict[str, Any] = {}
    for name, model in models.items():
        for k, v in model.state_dict().items():
            tensors[f"{name}.{k}"] = v.detach().cpu().contiguous()
    for name, opt in optimizers.items():
        t, m = _flatten_optimizer(f"opt_{name}", opt)
        tensors.update(t)
        opt_meta[name] = m
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    save_file(tensors, str(tmp), metadata={"meta": json.dumps(meta), "optimizers": json.dumps(opt_meta)})
    os.replace(tmp, path)


def load_checkpoint(
    path: Path,
    models: dict[str, nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
) -> dict[str, Any]:
    """Restore models and optimizers in place from :func:`save_checkpoint`'s file; returns its meta."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as fh:
        header = fh.metadata() or {}
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}
    for name, model in models.items():
        head = f"{name}."
        sd = {k[len(head) :]: v for k, v in tensors.items() if k.startswith(head)}
        model.load_state_dict(sd, strict=True)
    opt_meta = json.loads(header.get("optimizers", "{}"))
    for name, opt in optimizers.items():
        if name in opt_meta:
            opt.load_state_dict(_unflatten_optimizer(f"opt_{name}", tensors, opt_meta[name]))
    return json.loads(header.get("meta", "{}"))
