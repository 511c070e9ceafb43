"""Feature extractors for the set metrics (:mod:`enhance.metrics.sets`), from local files only.

Nothing is ever downloaded: the user passes the weight file, and :func:`load_extractor` reads a
spec such as ``"inception:PATH"``. Every extractor carries an :class:`ExtractorInfo` (its name,
what its numbers may be compared with, the file and its sha256) that every report prints, since
an FID means nothing without the network that made the features.

``inception:PATH``, Inception-v3's 2048 pool features; ``PATH`` is either

* torch-fidelity's ``weights-inception-2015-12-05-6726825d.pth`` (the TensorFlow FID network of
  Heusel et al. in PyTorch; 1008 classes; needs ``pip install torch-fidelity``): the numbers are
  the published FID's (torch-fidelity resizes each image to 299 px as TensorFlow did), "FID";
* or torchvision's ImageNet ``inception_v3`` state dict (``Inception_V3_Weights.IMAGENET1K_V1``,
  1000 classes) as ``.safetensors`` (or a ``.pth`` state dict): a different network, so "FID-TV",
  close to but not comparable with published FID.

``vgg19p:PATH``: the pruned VGG-19 encoder (:class:`enhance.archs.vgg.PrunedVGG19`, the
perceptual-loss network; ``e5_base.pth`` or its safetensors conversion) at 224 px, the spatial
mean of ``relu5_1`` times :data:`VGG_SCALE`: "FID-VGG19p, not comparable with published FID".

``random[:SEED]``: a seeded random conv net (64 features at 64 px) for tests and dry runs; its
numbers rank nothing.

``.pth`` files are read with ``torch.load(weights_only=True)`` (no code runs) before anything else
touches them. Images go in as uint8 ``(H, W, 3)`` RGB arrays; an extractor returns ``(N, D)``
float64 features.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from enhance.devices import resolve_device
from enhance.errors import InvalidInputError, WeightsError
from enhance.weightstore import sha256_file

KINDS = ("inception", "vgg19p", "random")
#: The pruned VGG's relu5_1 means are about 1e-3 (Inception's pool features about 0.1-1): scaled
#: up by this fixed factor, FID is not 1e-6 and KID's cubic kernel ``(x.y / D + 1)^3`` is not flat.
VGG_SCALE = 1000.0


@dataclass(frozen=True)
class ExtractorInfo:
    """What made the features: printed and saved with every set metric.

    ``suffix`` is appended to the metric names (``"FID" + suffix``): empty only for the published
    FID network.
    """

    kind: str
    name: str
    suffix: str
    comparable: bool
    note: str
    dim: int
    input_size: int | None
    file: str | None
    sha256: str

    @property
    def fid_name(self) -> str:
        return f"FID{self.suffix}"

    @property
    def kid_name(self) -> str:
        return f"KID{self.suffix}"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "fid_name": self.fid_name, "kid_name": self.kid_name}


class FeatureExtractor:
    """uint8 ``(H, W, 3)`` images -> ``(N, D)`` float64 features, in batches, without gradients.

    ``net`` maps a float ``(B, 3, S, S)`` batch in [0, 1] (images resized to ``input_size`` with an
    antialiased bilinear filter) to ``(B, D)``; with ``input_size=None`` it gets each image alone,
    at its own size, as the uint8 ``(1, 3, H, W)`` tensor torch-fidelity's networks expect.
    """

    def __init__(self, info: ExtractorInfo, net: Callable[[torch.Tensor], torch.Tensor],
                 device: torch.device, batch_size: int = 16) -> None:
        self.info = info
        self.net = net
        self.device = device
        self.batch_size = batch_size

    def _batch(self, images: Sequence[np.ndarray]) -> torch.Tensor:
        size = self.info.input_size
        out = []
        for img in images:
            if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
                raise InvalidInputError(f"feature extractors take uint8 (H, W, 3) images, got {img.dtype} {img.shape}")
            t = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].to(self.device)
            if size is not None:
                t = F.interpolate(t.float() / 255.0, size=(size, size), mode="bilinear",
                                  align_corners=False, antialias=True)
            out.append(t)
        return torch.cat(out)

    def __call__(self, images: Sequence[np.ndarray]) -> np.ndarray:
        step = self.batch_size if self.info.input_size is not None else 1
        feats = []
        with torch.no_grad():
            for start in range(0, len(images), step):
                f = self.net(self._batch(images[start : start + step]))
                feats.append(f.double().cpu().numpy().reshape(f.shape[0], -1))
        if not feats:
            return np.zeros((0, self.info.dim))
        return np.concatenate(feats)


# ---------------------------------------------------------------- reading weight files
def _read_state(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise WeightsError(f"{path}: no such weight file")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch / safetensors raise many kinds on a bad file
        text = " ".join(str(exc).split())[:200]
        raise WeightsError(f"{path}: not a readable state dict ({type(exc).__name__}: {text})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"{path}: not a state dict of tensors")
    return state


def _state_sha256(state: dict[str, torch.Tensor]) -> str:
    digest = hashlib.sha256()
    for key in sorted(state):
        digest.update(key.encode())
        digest.update(state[key].detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


# ---------------------------------------------------------------- the extractors
class _RandomNet(nn.Module):
    def __init__(self, seed: int) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        convs = [nn.Conv2d(3, 16, 3, 2, 1), nn.Conv2d(16, 32, 3, 2, 1), nn.Conv2d(32, 32, 3, 2, 1)]
        with torch.no_grad():  # He-normal weights from the seed alone (not torch's global generator)
            for conv in convs:
                fan_in = conv.in_channels * 9
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
                conv.bias.copy_(torch.randn(conv.out_channels, generator=gen) * 0.1)  # type: ignore[union-attr]
        self.convs = nn.ModuleList(convs)
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x * 2.0 - 1.0
        for conv in self.convs:
            h = F.relu(conv(h))
        return torch.cat([h.mean((2, 3)), h.std((2, 3))], 1)  # (B, 64)


def random_extractor(seed: int = 0, device: str = "cpu") -> FeatureExtractor:
    """A seeded random conv net (3 strided convs, mean and std of the last): for tests, ranks nothing."""
    net = _RandomNet(seed)
    info = ExtractorInfo(
        kind="random", name=f"random conv net (seed {seed})", suffix="-random", comparable=False,
        note="a random network for tests and dry runs: its numbers rank nothing", dim=64, input_size=64,
        file=None, sha256=_state_sha256(net.state_dict()),
    )
    dev = resolve_device(device)
    return FeatureExtractor(info, net.to(dev), dev)


def vgg_extractor(path: str | Path, device: str = "auto") -> FeatureExtractor:
    """The pruned VGG-19 from ``path`` (``.pth`` or ``.safetensors``): spatial mean of relu5_1 at 224 px."""
    from enhance.archs.vgg import PrunedVGG19

    p = Path(path)
    state = _read_state(p)
    try:
        vgg = PrunedVGG19(state, ("conv51",))
    except (KeyError, RuntimeError) as exc:
        raise WeightsError(f"{p}: not a pruned VGG-19 state dict (conv0 ... conv51): {exc}") from None
    info = ExtractorInfo(
        kind="vgg19p", name=f"pruned VGG-19, relu5_1 mean x {VGG_SCALE:g} ({p.name})", suffix="-VGG19p",
        comparable=False,
        note="not comparable with published FID (VGG-19 features, not Inception-v3)",
        dim=vgg.channels("conv51"), input_size=224, file=str(p), sha256=sha256_file(p),
    )
    dev = resolve_device(device)
    vgg = vgg.to(dev)
    return FeatureExtractor(info, lambda x: vgg(x)[0].mean((2, 3)) * VGG_SCALE, dev)


def _torchvision_inception(state: dict[str, torch.Tensor]) -> nn.Module:
    from torchvision.models import Inception3

    net = Inception3(num_classes=1000, aux_logits=any(k.startswith("AuxLogits.") for k in state),
                     transform_input=False, init_weights=False)
    net.load_state_dict(state)
    net.fc = nn.Identity()  # type: ignore[assignment]
    net.requires_grad_(False)
    return net.eval()


def _fidelity_inception(path: Path, state: dict[str, torch.Tensor]) -> nn.Module:
    try:
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
    except ImportError:
        raise WeightsError(f"{path}: torch-fidelity's Inception file needs torch-fidelity: pip install torch-fidelity") from None
    with tempfile.TemporaryDirectory() as tmp:
        # torch-fidelity reads the file with torch.load(weights_only=False); give it one we wrote
        safe = Path(tmp) / "inception.pth"
        torch.save(state, safe)
        net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(safe))
    return net


def inception_extractor(path: str | Path, device: str = "auto") -> FeatureExtractor:
    """Inception-v3 pool features (2048) from ``path``: torch-fidelity's or torchvision's weights."""
    p = Path(path)
    state = _read_state(p)
    fc = state.get("fc.weight")
    classes = None if fc is None else int(fc.shape[0])
    dev = resolve_device(device)
    sha = sha256_file(p)
    try:
        if classes == 1008:
            fnet = _fidelity_inception(p, state).to(dev)
            info = ExtractorInfo(
                kind="inception", name=f"Inception-v3 2015-12-05, the TensorFlow FID network ({p.name})", suffix="",
                comparable=True, note="comparable with published FID (for sets of the same size)",
                dim=2048, input_size=None, file=str(p), sha256=sha,
            )
            return FeatureExtractor(info, lambda x: fnet(x)[0], dev)
        if classes == 1000:
            tnet = _torchvision_inception(state).to(dev)
            info = ExtractorInfo(
                kind="inception", name=f"Inception-v3, torchvision ImageNet weights ({p.name})", suffix="-TV",
                comparable=False,
                note="not comparable with published FID (torchvision's Inception weights, not the TensorFlow FID network)",
                dim=2048, input_size=299, file=str(p), sha256=sha,
            )
            return FeatureExtractor(info, lambda x: tnet(x * 2.0 - 1.0), dev)
    except (RuntimeError, KeyError) as exc:  # load_state_dict: missing / unexpected keys, wrong shapes
        text = " ".join(str(exc).split())[:200]
        raise WeightsError(f"{p}: not a complete Inception-v3 state dict ({text})") from None
    raise WeightsError(
        f"{p}: not an Inception-v3 state dict (expected torchvision's inception_v3 weights, fc 1000 classes, "
        "or torch-fidelity's pt_inception-2015-12-05, fc 1008)"
    )


def load_extractor(spec: str, device: str = "auto") -> FeatureExtractor:
    """``"inception:PATH"``, ``"vgg19p:PATH"`` or ``"random[:SEED]"`` -> a :class:`FeatureExtractor`.

    Raises :class:`InvalidInputError` for a malformed spec, :class:`WeightsError` for a bad file.
    """
    kind, _, arg = spec.partition(":")
    kind = kind.strip().lower()
    if kind == "random":
        try:
            return random_extractor(int(arg) if arg else 0, device)
        except ValueError:
            raise InvalidInputError(f"--features random:SEED takes an integer seed, got {arg!r}") from None
    if kind in ("inception", "vgg19p"):
        if not arg:
            raise InvalidInputError(f"--features {kind}:PATH needs the weight file's path")
        return inception_extractor(arg, device) if kind == "inception" else vgg_extractor(arg, device)
    raise InvalidInputError(f"unknown feature extractor {spec!r}: use inception:PATH, vgg19p:PATH or random[:SEED]")
