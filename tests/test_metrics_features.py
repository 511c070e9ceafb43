"""Feature extractors (``enhance.metrics.features``) from local files: random test net, pruned VGG-19,
Inception-v3 in torchvision's and torch-fidelity's layouts (random weights, saved here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from enhance.errors import InvalidInputError, WeightsError
from enhance.metrics import features, sets


@pytest.fixture(scope="module")
def images() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:48, 0:64]
    out = []
    for i in range(6):
        base = np.stack([xx * (3 + i), yy * 4, (xx + yy) * 2], axis=2) + rng.normal(0, 8, (48, 64, 3))
        out.append(np.clip(base, 0, 255).astype(np.uint8))
    return out


def test_random_extractor_is_seeded(images: list[np.ndarray]) -> None:
    a, b, c = features.load_extractor("random"), features.load_extractor("random:0"), features.load_extractor("random:1")
    fa = a(images)
    assert fa.shape == (6, 64) and fa.dtype == np.float64
    assert np.array_equal(fa, b(images)) and a.info.sha256 == b.info.sha256
    assert c.info.sha256 != a.info.sha256 and not np.allclose(c(images), fa)
    assert a.info.fid_name == "FID-random" and not a.info.comparable
    assert sets.fid(fa, fa) == pytest.approx(0.0, abs=1e-9)


def test_spec_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="unknown feature extractor"):
        features.load_extractor("clip:x.pt")
    with pytest.raises(InvalidInputError, match="needs the weight file"):
        features.load_extractor("inception")
    with pytest.raises(InvalidInputError, match="integer seed"):
        features.load_extractor("random:abc")
    with pytest.raises(WeightsError, match="missing.pth: no such weight file"):
        features.load_extractor(f"inception:{tmp_path / 'missing.pth'}")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a pickle at all")
    with pytest.raises(WeightsError, match="junk.pth: not a readable state dict"):
        features.load_extractor(f"vgg19p:{junk}")
    other = tmp_path / "other.safetensors"
    save_file({"fc.weight": torch.zeros(10, 2048)}, str(other))
    with pytest.raises(WeightsError, match="not an Inception-v3 state dict"):
        features.load_extractor(f"inception:{other}")


def _tiny_vgg_state(widths: tuple[int, ...] = (4, 8, 8, 8, 8)) -> dict[str, torch.Tensor]:
    from enhance.archs.vgg import VGG_LAYERS

    gen = torch.Generator().manual_seed(0)
    state = {"conv0.weight": torch.eye(3)[:, :, None, None], "conv0.bias": torch.zeros(3)}
    cin = 3
    for name in VGG_LAYERS:
        cout = widths[int(name[4]) - 1]
        state[f"{name}.weight"] = torch.randn(cout, cin, 3, 3, generator=gen) * 0.3
        state[f"{name}.bias"] = torch.zeros(cout)
        cin = cout
    state["conv51_aux.weight"] = torch.zeros(16, widths[-1], 1, 1)  # the pruning's extra convs are ignored
    return state


def test_vgg_extractor_reads_pth_and_safetensors(tmp_path: Path, images: list[np.ndarray]) -> None:
    state = _tiny_vgg_state()
    torch.save(state, tmp_path / "e5.pth")
    save_file(state, str(tmp_path / "e5.safetensors"))
    a = features.load_extractor(f"vgg19p:{tmp_path / 'e5.pth'}", "cpu")
    b = features.load_extractor(f"vgg19p:{tmp_path / 'e5.safetensors'}", "cpu")
    assert a.info.dim == 8 and a.info.input_size == 224 and a.info.suffix == "-VGG19p"
    assert "not comparable with published FID" in a.info.note and len(a.info.sha256) == 64
    fa = a(images[:3])
    assert fa.shape == (3, 8) and np.allclose(fa, b(images[:3]))
    broken = {k: v for k, v in state.items() if not k.startswith("conv51")}
    torch.save(broken, tmp_path / "broken.pth")
    with pytest.raises(WeightsError, match="broken.pth: not a pruned VGG-19"):
        features.load_extractor(f"vgg19p:{tmp_path / 'broken.pth'}")


def test_torchvision_inception(tmp_path: Path, images: list[np.ndarray]) -> None:
    from torchvision.models import Inception3

    torch.manual_seed(0)
    path = tmp_path / "inception_v3.safetensors"
    save_file({k: v.contiguous() for k, v in Inception3(init_weights=False).state_dict().items()}, str(path))
    ext = features.load_extractor(f"inception:{path}", "cpu")
    assert ext.info.suffix == "-TV" and not ext.info.comparable and ext.info.dim == 2048
    assert ext(images[:1]).shape == (1, 2048)


def test_torch_fidelity_inception(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, images: list[np.ndarray]) -> None:
    fidelity = pytest.importorskip("torch_fidelity.feature_extractor_inceptionv3")
    # build torch-fidelity's network with random weights (its constructor wants the real file or a download)
    with monkeypatch.context() as m:
        m.setattr(fidelity, "load_state_dict_from_url", lambda *a, **k: None)
        m.setattr(fidelity.FeatureExtractorInceptionV3, "load_state_dict", lambda self, state: None)
        net = fidelity.FeatureExtractorInceptionV3("x", ["2048"])
    path = tmp_path / "weights-inception-2015-12-05-6726825d.pth"
    torch.save(net.state_dict(), path)
    ext = features.load_extractor(f"inception:{path}", "cpu")
    assert ext.info.suffix == "" and ext.info.comparable and ext.info.fid_name == "FID"
    assert ext.info.input_size is None  # torch-fidelity resizes each image itself, as TensorFlow did
    f = ext(images[:1])
    assert f.shape == (1, 2048) and np.isfinite(f).all()
