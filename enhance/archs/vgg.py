"""The pruned VGG-19 encoder (a 1x1 ``conv0`` on RGB in [0, 1], then reflection-padded 3x3 convs with
max-pooling between stages, up to ``conv51``), built from a state dict laid out like
``shared/data/models/vgg19_pruned/e5_base.pth`` (channel widths read from the weights).

The feature extractor of ``enhance eval`` (``--features vgg19p:FILE``) uses it; it is the same
network as the trainers' perceptual-loss ``VGGFeatures``. The weights are never shipped: the user
passes the file.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

VGG_LAYERS = ("conv11", "conv12", "conv21", "conv22", "conv31", "conv32", "conv33", "conv34",
              "conv41", "conv42", "conv43", "conv44", "conv51")
POOL_AFTER = frozenset({"conv12", "conv22", "conv34", "conv44"})


class PrunedVGG19(nn.Module):
    """``(B, 3, H, W)`` RGB in [0, 1] -> the features after ReLU of ``layers``, in order, as a list.

    ``state`` holds ``conv0.*`` and ``convNM.*`` weights and biases up to the deepest layer asked
    for; other keys (the pruning's ``*_aux`` convs) are ignored. Frozen, always in eval mode.
    """

    def __init__(self, state: dict[str, torch.Tensor], layers: tuple[str, ...] = ("conv51",)) -> None:
        super().__init__()
        unknown = [n for n in layers if n not in VGG_LAYERS]
        if unknown or not layers:
            raise ValueError(f"layers must be among {', '.join(VGG_LAYERS)}, got {layers}")
        self.layers = layers
        last = max(VGG_LAYERS.index(n) for n in layers)
        self.conv0 = nn.Conv2d(3, 3, 1)
        self.conv0.load_state_dict({"weight": state["conv0.weight"], "bias": state["conv0.bias"]})
        self.convs = nn.ModuleDict()
        for name in VGG_LAYERS[: last + 1]:
            w = state[f"{name}.weight"]
            conv = nn.Conv2d(w.shape[1], w.shape[0], w.shape[2])
            conv.load_state_dict({"weight": w, "bias": state[f"{name}.bias"]})
            self.convs[name] = conv
        self.requires_grad_(False)
        self.eval()

    def channels(self, layer: str) -> int:
        """Number of channels of ``layer``'s features."""
        conv = self.convs[layer]
        assert isinstance(conv, nn.Conv2d)
        return int(conv.out_channels)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        h = self.conv0(x)
        for name, conv in self.convs.items():
            h = F.relu(conv(F.pad(h, (1, 1, 1, 1), mode="reflect")))
            if name in self.layers:
                feats.append(h)
            if name in POOL_AFTER:
                h = F.max_pool2d(h, 2)
        return feats

    def train(self, mode: bool = True) -> PrunedVGG19:  # always frozen in eval mode
        return super().train(False)
