"""The self-contained HTML page of ``enhance rate``: blind two-alternative forced choice on crops.

    page = build_page([Path("gan/"), Path("fidelity/")], RateOptions(crop=256, seed=0))
    Path("rate.html").write_text(page.html)

Images are matched across the folders by their path without the extension; each image gets
``crops_per_image`` square crops of ``crop`` px (the same place in every folder, seeded), and every
crop gives one trial per pair of methods. The trial order and which method is on the left are
randomised with ``seed``, so two pages made with the same inputs and seed are identical. The crops
are embedded as PNG data URIs, and the page's JavaScript (``rate.js``) and style are inline: it
opens from a file, offline, and its Content-Security-Policy forbids any fetch.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io as _io
import json
import random
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np
from PIL import Image

from enhance import io
from enhance.errors import EnhanceError, InvalidInputError

HERE = Path(__file__).resolve().parent
VOTES_FORMAT = "enhance-rate-votes/1"


@dataclass(frozen=True)
class RateOptions:
    """``crop``: side of the square crops in px (smaller images are used whole); ``crops_per_image``;
    ``seed`` for crop places, trial order and sides; ``max_trials``: keep a random subset;
    ``recursive``: include subfolders."""

    crop: int = 256
    crops_per_image: int = 1
    seed: int = 0
    max_trials: int | None = None
    title: str = "Which image looks better?"
    recursive: bool = False


@dataclass
class RatePage:
    html: str
    page_id: str
    methods: list[str]
    images: list[str]
    n_trials: int
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def method_names(folders: list[Path]) -> list[str]:
    """Folder names, or their full paths where two folders share a name."""
    names = [f.resolve().name or str(f) for f in folders]
    if len(set(names)) < len(names):
        names = [str(f) for f in folders]
    if len(set(names)) < len(names):
        raise InvalidInputError("the same folder was given twice")
    return names


def _images(folder: Path, recursive: bool) -> dict[str, Path]:
    if not folder.is_dir():
        raise InvalidInputError(f"{folder}: no such folder")
    found = folder.rglob("*") if recursive else folder.iterdir()
    out: dict[str, Path] = {}
    for p in sorted(found):
        if p.is_file() and io.is_supported(p):
            out.setdefault(p.relative_to(folder).with_suffix("").as_posix(), p)
    return out


def _png_uri(arr: np.ndarray) -> str:
    buf = _io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG", optimize=False, compress_level=6)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _uint8(path: Path) -> np.ndarray:
    data = io.read_image(path)
    px = np.clip(np.round(data.pixels * 255.0), 0, 255).astype(np.uint8)
    return px[:, :, 0] if px.shape[2] == 1 else px


def build_page(folders: list[Path], options: RateOptions | None = None) -> RatePage:
    """Make the rating page for the images the folders have in common (see the module docstring).

    Raises :class:`InvalidInputError` for fewer than two folders, a missing folder or no common
    image; an unreadable image, or one whose size differs between folders, is left out with a line
    in :attr:`RatePage.errors`.
    """
    opts = options or RateOptions()
    if len(folders) < 2:
        raise InvalidInputError("rating needs at least two folders of images to compare")
    if opts.crop < 16:
        raise InvalidInputError(f"crop must be at least 16 px, got {opts.crop}")
    if opts.crops_per_image < 1:
        raise InvalidInputError(f"crops per image must be at least 1, got {opts.crops_per_image}")
    methods = method_names(folders)
    listing = [_images(f, opts.recursive) for f in folders]
    common = sorted(set.intersection(*(set(d) for d in listing)))
    notes: list[str] = []
    for name, files in zip(methods, listing):
        extra = len(set(files) - set(common))
        if extra:
            notes.append(f"{name}: {extra} image(s) not in every folder, left out")
    if not common:
        raise InvalidInputError("the folders have no image name in common (images are matched by file name)")

    rng = random.Random(opts.seed)
    crops: dict[str, str] = {}
    units: list[tuple[str, list[int], list[str]]] = []  # image, crop box, crop id per method
    errors: list[str] = []
    for key in common:
        try:
            arrays = [_uint8(files[key]) for files in listing]
        except EnhanceError as exc:
            errors.append(str(exc))
            continue
        h, w = arrays[0].shape[:2]
        bad = [(m, files[key], a) for m, files, a in zip(methods, listing, arrays) if a.shape[:2] != (h, w)]
        if bad:
            _, path, arr = bad[0]
            errors.append(f"{path}: {arr.shape[1]}x{arr.shape[0]} px, but {listing[0][key]} is {w}x{h} px")
            continue
        cw, ch = min(opts.crop, w), min(opts.crop, h)
        for c in range(opts.crops_per_image):
            x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
            ids = []
            for m, arr in enumerate(arrays):
                cid = f"c{len(crops)}"
                crops[cid] = _png_uri(np.ascontiguousarray(arr[y : y + ch, x : x + cw]))
                ids.append(cid)
            units.append((key, [x, y, cw, ch], ids))
    if not units:
        raise InvalidInputError("no image could be used (see the errors)")

    trials = []
    for image, box, ids in units:
        for a, b in combinations(range(len(methods)), 2):
            left, right = (a, b) if rng.random() < 0.5 else (b, a)
            trials.append({"image": image, "crop": box, "left": left, "right": right,
                           "left_crop": ids[left], "right_crop": ids[right]})
    rng.shuffle(trials)
    if opts.max_trials is not None and len(trials) > opts.max_trials:
        trials = trials[: opts.max_trials]
        notes.append(f"kept {opts.max_trials} of the trials, chosen at random")
    for i, t in enumerate(trials):
        t["id"] = i
    used = {t["left_crop"] for t in trials} | {t["right_crop"] for t in trials}
    crops = {k: v for k, v in crops.items() if k in used}

    ident = json.dumps([opts.seed, methods, [(t["image"], t["crop"], t["left"], t["right"]) for t in trials]])
    page_id = hashlib.sha256(ident.encode()).hexdigest()[:12]
    data = {"format": "enhance-rate-page/1", "page_id": page_id, "seed": opts.seed, "title": opts.title,
            "methods": methods, "trials": trials, "crops": crops}
    text = (HERE / "template.html").read_text(encoding="utf-8")
    blob = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")  # no "</script>" inside the data
    script = (HERE / "rate.js").read_text(encoding="utf-8")
    page = (text.replace("__TITLE__", html.escape(opts.title))
                .replace("__SCRIPT__", script)
                .replace("__DATA__", blob))
    return RatePage(page, page_id, methods, sorted({u[0] for u in units}), len(trials), notes, errors)
