"""Helpers shared by the benchmark scripts: data paths, image loading, timing, markdown, the manifest.

The scripts (``benchmarks/sr.py`` etc.) put this folder on ``sys.path`` and ``import common``.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

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

    from enhance.api import get_spec
    from enhance.weightstore import sha256_file

    spec = get_spec(name)
    return spec if weights is None else dataclasses.replace(spec, weights=weights, sha256=sha256_file(weights))


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
            Image.fromarray(img).save(img_dir / name, **({"quality": 90} if ext == "jpg" else {}))
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
