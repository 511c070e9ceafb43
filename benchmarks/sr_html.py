"""HTML pages for looking at SR results: side-by-side crops, and a blind A/B rating page.

``write_pages(out_dir, data, scale, count)`` writes

* ``sr_compare.html``: crops of about 128 output pixels (LR nearest / bicubic / fidelity / GAN / HR),
  enlarged 3x with ``image-rendering: pixelated``, for the first ``count`` images of Set14 and
  B100 and three files of ``samples/real_world`` (gray, RGBA, 16-bit RGBA; no HR there; read with
  ``enhance.io.read_image`` and run through ``Enhancer.enhance_image``, alpha composited on white);
* ``sr_ab.html``: pairs (fidelity vs GAN, GAN vs bicubic) of larger crops in a seeded random
  left/right order and a seeded random pair order, with radio buttons and a button that downloads
  the answers as JSON. Image files have neutral names (``p07_left.png``);
* ``sr_ab_key.json``: which method was on which side (not linked from the page).

Bicubic here is PIL ``BICUBIC``. Crops are placed where the reference (HR, else bicubic) has the
most gradient energy, aligned to the scale so LR and output crops match.
"""

from __future__ import annotations

import html
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

from enhance import metrics  # noqa: E402
from enhance.engine import Enhancer  # noqa: E402
from enhance.io import ImageData  # noqa: E402

COMPARE_CROP = 128
AB_CROP = 192
AB_SEED = 20240611
METHODS = ("bicubic", "fidelity", "gan")


@dataclass
class Example:
    """One image: its LR input, HR (None for real-world photos) and each method's uint8 output."""

    name: str
    lr: np.ndarray
    hr: np.ndarray | None
    outputs: dict[str, np.ndarray] = field(default_factory=dict)


def pick_crop(img: np.ndarray, size: int, align: int) -> tuple[int, int]:
    """Top-left (y, x) of the ``size`` square with the most gradient energy, both multiples of ``align``."""
    gray = img.astype(np.float64).mean(axis=2)
    energy = np.abs(np.diff(gray, axis=0))[:, :-1] + np.abs(np.diff(gray, axis=1))[:-1, :]
    h, w = gray.shape
    size = min(size, h - h % align, w - w % align)
    best, best_yx = -1.0, (0, 0)
    step = max(align, (size // 4) // align * align)
    integral = np.pad(energy, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    for y in range(0, h - size + 1, step):
        for x in range(0, w - size + 1, step):
            y1, x1 = min(y + size, integral.shape[0] - 1), min(x + size, integral.shape[1] - 1)
            e = integral[y1, x1] - integral[y, x1] - integral[y1, x] + integral[y, x]
            if e > best:
                best, best_yx = float(e), (y, x)
    return best_yx


def _as_rgb(arr: np.ndarray) -> np.ndarray:
    return np.repeat(arr, 3, axis=2) if arr.shape[2] == 1 else arr


def run_methods(lr_float: np.ndarray, scale: int) -> dict[str, np.ndarray]:
    """Bicubic (PIL), our fidelity and GAN models of ``scale`` on an ``(h, w, 1|3)`` float image."""
    from PIL import Image

    lr8 = _as_rgb(metrics.to_uint8(lr_float))
    h, w = lr8.shape[:2]
    out = {"bicubic": np.asarray(Image.fromarray(lr8).resize((w * scale, h * scale), Image.Resampling.BICUBIC))}
    for variant in ("fidelity", "gan"):
        enh = _enhancer(scale, variant)
        out[variant] = _as_rgb(metrics.to_uint8(enh.enhance_rgb(lr_float)))
    return out


_ENHANCERS: dict[tuple[int, str], Enhancer] = {}


def _enhancer(scale: int, variant: str) -> Enhancer:
    """Our ``variant`` upscaler of ``scale`` on the CPU, loaded once."""
    import enhance

    key = (scale, variant)
    if key not in _ENHANCERS:
        _ENHANCERS[key] = enhance.load("upscale", scale, device="cpu", variant=variant)
    return _ENHANCERS[key]


#: Real-world samples shown (no HR): a grayscale PNG, an 8-bit RGBA PNG and a 16-bit RGBA PNG.
REAL_WORLD = ("00017_gray.png", "children-alpha.png", "tree_alpha_16bit.png")


def _display(pixels: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """A float ``(H, W, 1|3)`` image (+ optional alpha) as uint8 RGB for the page, alpha composited on white."""
    rgb = _as_rgb(pixels.astype(np.float64))
    if alpha is not None:
        a = alpha.astype(np.float64)[:, :, None]
        rgb = rgb * a + (1.0 - a)
    return metrics.to_uint8(rgb)


def run_real_world(img: ImageData, scale: int) -> dict[str, np.ndarray]:
    """Bicubic and our fidelity/GAN models on a decoded file through ``Enhancer.enhance_image`` (alpha kept)."""
    enh = _enhancer(scale, "fidelity")
    # bicubic of the colour planes and the alpha, with the same resize the engine uses for alpha
    planes = [enh.upscale_alpha(img.pixels[:, :, c]) for c in range(img.pixels.shape[2])]
    bic_alpha = None if img.alpha is None else enh.upscale_alpha(img.alpha)
    out = {"bicubic": _display(np.stack(planes, axis=2), bic_alpha)}
    for variant in ("fidelity", "gan"):
        res = _enhancer(scale, variant).enhance_image(img)
        out[variant] = _display(res.pixels, res.alpha)
    return out


def collect(data: Path, scale: int, count: int) -> list[Example]:
    """The examples: first ``count`` of Set14 and B100, then the :data:`REAL_WORLD` samples."""
    from enhance.io import read_image

    examples = []
    for set_name in ("Set14", "BSD100"):
        root = data / "bench" / "sr" / set_name
        for f in common.list_images(root / f"LR_x{scale}", count):
            lr = common.load_rgb(f)
            hr = common.load_rgb(root / "HR" / f.name)[: lr.shape[0] * scale, : lr.shape[1] * scale]
            ex = Example(f"{set_name}/{f.stem}", lr, hr)
            ex.outputs = {k: v[: hr.shape[0], : hr.shape[1]] for k, v in run_methods(common.to_float(lr), scale).items()}
            examples.append(ex)
    real = data / "samples" / "real_world"
    for name in REAL_WORLD:
        f = real / name
        if not f.is_file():
            continue
        img = read_image(f, max_pixels=None)
        ex = Example(f"real_world/{f.name}", _display(img.pixels, img.alpha), None)
        ex.outputs = run_real_world(img, scale)
        examples.append(ex)
    return examples


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


def _crop(img: np.ndarray, y: int, x: int, size: int) -> np.ndarray:
    return img[y : y + size, x : x + size]


CSS = """
body { font-family: sans-serif; margin: 1em; background: #f4f4f4; }
img.px { image-rendering: pixelated; image-rendering: crisp-edges; border: 1px solid #999; }
td { vertical-align: top; text-align: center; padding: 4px; font-size: 12px; }
h2 { font-size: 16px; margin-bottom: 4px; }
.pair { background: white; margin: 1em 0; padding: 0.5em; border: 1px solid #ccc; }
"""


def write_compare(out: Path, examples: list[Example], scale: int) -> Path:
    """``sr_compare.html`` with PNG crops in ``sr_compare_img/``."""
    img_dir = out / "sr_compare_img"
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>SR x{scale} comparison</title>",
             f"<style>{CSS}</style></head><body>",
             f"<h1>SR x{scale}: bicubic (PIL) / fidelity / GAN / HR</h1>",
             f"<p>Crops of {COMPARE_CROP} output px shown 3x (pixelated). PSNR-Y (shave {scale}) of the whole "
             "image under each crop where there is an HR.</p>"]
    zoom = 3
    for ex in examples:
        ref = ex.hr if ex.hr is not None else ex.outputs["bicubic"]
        y, x = pick_crop(ref, COMPARE_CROP, scale)
        size = min(COMPARE_CROP, ref.shape[0] - y, ref.shape[1] - x)
        size -= size % scale
        cells = [("LR (nearest)", np.repeat(np.repeat(_crop(ex.lr, y // scale, x // scale, size // scale), scale, 0),
                                             scale, 1), "")]
        for m in METHODS:
            score = "" if ex.hr is None else f"{metrics.psnr_y(ex.outputs[m], ex.hr, scale):.2f} dB"
            cells.append((m, _crop(ex.outputs[m], y, x, size), score))
        if ex.hr is not None:
            cells.append(("HR", _crop(ex.hr, y, x, size), ""))
        parts.append(f"<h2>{html.escape(ex.name)} <small>(crop at x={x}, y={y})</small></h2><table><tr>")
        for label, crop, score in cells:
            fname = f"{_slug(ex.name)}_{_slug(label)}.png"
            common.save_png(crop, img_dir / fname)
            parts.append(f"<td><img class='px' src='sr_compare_img/{fname}' width='{size * zoom}'><br>"
                         f"{html.escape(label)} {score}</td>")
        parts.append("</tr></table>")
    parts.append("</body></html>")
    page = out / "sr_compare.html"
    page.write_text("\n".join(parts))
    return page


AB_JS = """
function download() {
  const answers = {};
  document.querySelectorAll('.pair').forEach(p => {
    const c = p.querySelector('input:checked');
    answers[p.dataset.id] = c ? c.value : null;
  });
  const blob = new Blob([JSON.stringify({page: 'sr_ab', answers: answers}, null, 1)], {type: 'application/json'});
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = 'sr_ab_answers.json';
  a.click();
}
"""


def write_ab(out: Path, examples: list[Example], scale: int, seed: int = AB_SEED) -> tuple[Path, Path]:
    """``sr_ab.html`` (blind pairs) and ``sr_ab_key.json`` (which method is on which side)."""
    rng = np.random.default_rng(seed)
    img_dir = out / "sr_ab_img"
    pairs = [(ex, a, b) for ex in examples for a, b in (("fidelity", "gan"), ("gan", "bicubic"))]
    order = rng.permutation(len(pairs))
    key: dict[str, dict[str, str]] = {}
    zoom = 2
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>Which looks better?</title>",
             f"<style>{CSS}</style><script>{AB_JS}</script></head><body>",
             "<h1>Which image looks better?</h1>",
             "<p>For each pair choose the image that looks better to you as a photo (sharp, natural, "
             "free of artefacts), or 'same'. When done, press the button at the bottom and send the "
             "downloaded file.</p>"]
    for i, idx in enumerate(order):
        ex, m1, m2 = pairs[int(idx)]
        left, right = (m1, m2) if rng.random() < 0.5 else (m2, m1)
        pid = f"p{i:02d}"
        key[pid] = {"image": ex.name, "left": left, "right": right}
        ref = ex.hr if ex.hr is not None else ex.outputs["bicubic"]
        y, x = pick_crop(ref, AB_CROP, scale)
        size = min(AB_CROP, ref.shape[0] - y, ref.shape[1] - x)
        parts.append(f"<div class='pair' data-id='{pid}'><b>{pid}</b><table><tr>")
        for side, method in (("left", left), ("right", right)):
            fname = f"{pid}_{side}.png"
            common.save_png(_crop(ex.outputs[method], y, x, size), img_dir / fname)
            parts.append(f"<td><img class='px' src='sr_ab_img/{fname}' width='{size * zoom}'></td>")
        parts.append("</tr></table>")
        for value, label in (("left", "left better"), ("right", "right better"), ("same", "same")):
            parts.append(f"<label><input type='radio' name='{pid}' value='{value}'> {label}</label> ")
        parts.append("</div>")
    parts.append("<button onclick='download()'>Download my answers (JSON)</button></body></html>")
    page = out / "sr_ab.html"
    page.write_text("\n".join(parts))
    key_path = out / "sr_ab_key.json"
    key_path.write_text(json.dumps({"seed": seed, "scale": scale, "pairs": key}, indent=1) + "\n")
    return page, key_path


def score_ab(answers: dict[str, str | None], key: dict[str, dict[str, str]]) -> dict[str, dict[str, int]]:
    """Tally downloaded answers against the key: ``{"fidelity vs gan": {"fidelity": n, "gan": n, "same": n}}``."""
    tally: dict[str, dict[str, int]] = {}
    for pid, choice in answers.items():
        if choice is None or pid not in key:
            continue
        k = key[pid]
        a, b = sorted((k["left"], k["right"]))
        row = tally.setdefault(f"{a} vs {b}", {a: 0, b: 0, "same": 0})
        row[k[choice] if choice in ("left", "right") else "same"] += 1
    return tally


def write_pages(out: Path, data: Path, scale: int = 4, count: int = 3) -> list[Path]:
    """Run the models on the example images and write both pages (and the key) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    examples = collect(data, scale, count)
    compare = write_compare(out, examples, scale)
    ab, key = write_ab(out, examples, scale)
    return [compare, ab, key]


if __name__ == "__main__":  # python benchmarks/sr_html.py answers.json sr_ab_key.json
    if len(sys.argv) != 3:
        raise SystemExit("usage: python benchmarks/sr_html.py ANSWERS.json sr_ab_key.json  (tallies an A/B rating)")
    ans = json.loads(Path(sys.argv[1]).read_text())["answers"]
    k = json.loads(Path(sys.argv[2]).read_text())["pairs"]
    for pair, counts in score_ab(ans, k).items():
        print(f"{pair}: " + ", ".join(f"{m} {n}" for m, n in counts.items()))
