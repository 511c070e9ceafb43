"""Folders of images to a quality report: the library side of ``enhance eval``.

    from enhance.metrics.evaluate import EvalOptions, evaluate
    from enhance.metrics.features import load_extractor
    report = evaluate(Path("out/"), Path("hr/"), load_extractor("vgg19p:e5_base.pth"), EvalOptions(y_channel=True, shave=4))
    report.means["psnr"], report.sets.fid, report.to_markdown(), json.dumps(report.as_dict())

Outputs are paired with references by their path below the folder without the extension (and
without ``EvalOptions.suffix``, e.g. ``_x4``). Per image: PSNR, SSIM, MS-SSIM and GMSD of a paired
output against its reference (:mod:`enhance.metrics.paired`: RGB on 0-255, or Y with a shaved
border, the SR protocol), and NIQE (:mod:`enhance.metrics.niqe`, LIVE model) of every output and
every reference. Per set, with a feature extractor and references (paired or not): FID, KID,
precision / recall and density / coverage (:mod:`enhance.metrics.sets`) of the outputs against the
references. A metric that cannot be computed (an image too small for NIQE or MS-SSIM, too few
images for a set metric) is ``None``, with a note saying why; a file that cannot be read, or a pair
of different sizes, is an error line, and the rest is still scored. Nothing here prints.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from enhance import io
from enhance.errors import EnhanceError, InvalidInputError
from enhance.metrics import paired, sets
from enhance.metrics.features import ExtractorInfo, FeatureExtractor

#: Per-image metrics in table order: key, label, higher is better.
IMAGE_METRICS: tuple[tuple[str, str, bool], ...] = (
    ("psnr", "PSNR", True),
    ("ssim", "SSIM", True),
    ("ms_ssim", "MS-SSIM", True),
    ("gmsd", "GMSD", False),
    ("niqe", "NIQE", False),
    ("niqe_ref", "NIQE ref", False),
)


@dataclass(frozen=True)
class EvalOptions:
    """How to score. ``y_channel``: PSNR / SSIM on BT.601 Y (the SR protocol) instead of RGB;
    ``shave``: pixels cut from each border before the paired metrics; ``suffix``: removed from the
    end of output names before pairing; ``niqe``: compute NIQE; ``recursive``: include subfolders."""

    y_channel: bool = False
    shave: int = 0
    suffix: str = ""
    niqe: bool = True
    recursive: bool = False


@dataclass
class ImageScores:
    """The scores of one output (``None`` where not computed)."""

    name: str
    output: Path
    reference: Path | None = None
    psnr: float | None = None
    ssim: float | None = None
    ms_ssim: float | None = None
    gmsd: float | None = None
    niqe: float | None = None
    niqe_ref: float | None = None

    def value(self, key: str) -> float | None:
        v = getattr(self, key)
        return None if v is None else float(v)


@dataclass
class SetScores:
    """The set metrics of the outputs against the references, over one extractor's features."""

    extractor: ExtractorInfo
    n_outputs: int
    n_references: int
    fid: float | None = None
    kid: float | None = None
    kid_std: float | None = None
    kid_subset_size: int | None = None
    precision: float | None = None
    recall: float | None = None
    density: float | None = None
    coverage: float | None = None


@dataclass
class EvalReport:
    """What :func:`evaluate` found; :meth:`as_dict` for JSON, :meth:`to_markdown` for a page."""

    outputs: Path
    references: Path | None
    options: EvalOptions
    images: list[ImageScores] = field(default_factory=list)
    n_references: int = 0
    paired: int = 0
    sets: SetScores | None = None
    reference_niqe: float | None = None  # mean NIQE of all the references
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def means(self) -> dict[str, float]:
        """Mean of each per-image metric over the images that have it, and ``niqe_references``: of
        every reference (``niqe_ref`` is over the paired ones only)."""
        out: dict[str, float] = {}
        for key, _, _ in IMAGE_METRICS:
            vals = [v for v in (im.value(key) for im in self.images) if v is not None]
            if vals:
                out[key] = float(np.mean(vals))
        if self.reference_niqe is not None:
            out["niqe_references"] = self.reference_niqe
        return out

    def paired_label(self) -> str:
        if self.options.y_channel:
            return f"Y channel, {self.options.shave} px shaved" if self.options.shave else "Y channel"
        return f"RGB, {self.options.shave} px shaved" if self.options.shave else "RGB"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (``inf`` PSNR of identical images as the string ``"inf"``)."""

        def num(v: float | None) -> float | str | None:
            return "inf" if v is not None and math.isinf(v) else v

        images = [
            {"name": im.name, "output": str(im.output), "reference": None if im.reference is None else str(im.reference),
             **{key: num(im.value(key)) for key, _, _ in IMAGE_METRICS}}
            for im in self.images
        ]
        set_part: dict[str, Any] | None = None
        if self.sets is not None:
            s = self.sets
            set_part = {
                "extractor": s.extractor.as_dict(), "n_outputs": s.n_outputs, "n_references": s.n_references,
                "fid": s.fid, "kid": s.kid, "kid_std": s.kid_std, "kid_subset_size": s.kid_subset_size,
                "precision": s.precision, "recall": s.recall, "precision_recall_k": sets.PR_K,
                "density": s.density, "coverage": s.coverage, "density_coverage_k": sets.DC_K,
            }
        return {
            "format": "enhance-eval/1",
            "outputs": str(self.outputs),
            "references": None if self.references is None else str(self.references),
            "paired_metrics_on": self.paired_label(),
            "n_outputs": len(self.images), "n_references": self.n_references, "n_paired": self.paired,
            "means": {k: num(v) for k, v in self.means.items()},
            "sets": set_part,
            "images": images,
            "notes": list(self.notes),
            "errors": list(self.errors),
        }

    def summary_rows(self) -> list[tuple[str, str]]:
        """(label, value) rows of the set metrics and the means, as the CLI and Markdown show them."""
        rows: list[tuple[str, str]] = []
        s = self.sets
        if s is not None:
            rows.append((s.extractor.fid_name, fmt(s.fid, 3)))
            if s.kid is None or s.kid_std is None:
                kid = "-"
            else:
                spread = 0.0 if s.kid_std < 1e-9 * max(1.0, abs(s.kid)) else s.kid_std  # one subset = the whole set
                kid = f"{s.kid:.4g} +- {spread:.2g} (subsets of {s.kid_subset_size})"
            rows.append((s.extractor.kid_name, kid))
            rows.append((f"precision / recall (k={sets.PR_K})", f"{fmt(s.precision, 3)} / {fmt(s.recall, 3)}"))
            rows.append((f"density / coverage (k={sets.DC_K})", f"{fmt(s.density, 3)} / {fmt(s.coverage, 3)}"))
        means = self.means
        for key, label, _ in IMAGE_METRICS:
            if key in means and key != "niqe_ref":
                where = f" ({self.paired_label()})" if key in ("psnr", "ssim") else ""
                rows.append((f"mean {label}{where}", fmt(means[key], DIGITS[key])))
        if "niqe_references" in means:
            rows.append(("mean NIQE of the references", fmt(means["niqe_references"], 3)))
        return rows

    def to_markdown(self) -> str:
        lines = ["# enhance eval", ""]
        lines.append(f"- outputs: `{self.outputs}` ({len(self.images)} images)")
        if self.references is not None:
            lines.append(f"- references: `{self.references}` ({self.n_references} images, {self.paired} paired by name)")
        if self.sets is not None:
            e = self.sets.extractor
            lines.append(f"- features: {e.name}, sha256 `{e.sha256}`: **{e.fid_name}, {e.note}**")
        lines += ["", "| metric | value |", "|---|---:|"]
        lines += [f"| {label} | {value} |" for label, value in self.summary_rows()]
        keys = self.image_columns()
        if self.images and keys:
            lines += ["", "| image | " + " | ".join(label for key, label, _ in IMAGE_METRICS if key in keys) + " |",
                      "|---|" + "---:|" * len(keys)]
            for im in self.images:
                cells = [fmt(im.value(key), DIGITS[key]) for key, _, _ in IMAGE_METRICS if key in keys]
                lines.append(f"| {im.name} | " + " | ".join(cells) + " |")
        for title, items in (("Notes", self.notes), ("Errors", self.errors)):
            if items:
                lines += ["", f"{title}:", ""] + [f"- {t}" for t in items]
        return "\n".join(lines) + "\n"

    def image_columns(self) -> list[str]:
        """The per-image metrics that at least one image has."""
        return [key for key, _, _ in IMAGE_METRICS if any(im.value(key) is not None for im in self.images)]


DIGITS = {"psnr": 2, "ssim": 4, "ms_ssim": 4, "gmsd": 4, "niqe": 3, "niqe_ref": 3}


def fmt(value: float | None, digits: int) -> str:
    """``-`` for None, ``inf`` for infinity, else ``digits`` decimals."""
    if value is None:
        return "-"
    if math.isinf(value):
        return "inf"
    return f"{value:.{digits}f}"


# ---------------------------------------------------------------- files
def list_images(root: Path, recursive: bool = False) -> list[Path]:
    """The image files (supported extensions) of a folder, sorted; a file is its own list."""
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise InvalidInputError(f"{root}: no such file or folder")
    found = root.rglob("*") if recursive else root.iterdir()
    return sorted(p for p in found if p.is_file() and io.is_supported(p))


def _key(path: Path, root: Path, suffix: str = "") -> str:
    rel = path.relative_to(root) if root.is_dir() else Path(path.name)
    stem = rel.stem[: -len(suffix)] if suffix and rel.stem.endswith(suffix) else rel.stem
    return (rel.parent / stem).as_posix()


def _name(path: Path, root: Path) -> str:
    return (path.relative_to(root) if root.is_dir() else Path(path.name)).as_posix()


@dataclass
class _Image:
    u8: np.ndarray  # (H, W) or (H, W, 3) uint8
    f: np.ndarray  # the same on 0-255 as float64, unrounded (16-bit inputs keep their precision)

    @property
    def rgb8(self) -> np.ndarray:
        return self.u8 if self.u8.ndim == 3 else np.repeat(self.u8[:, :, None], 3, axis=2)


def _read(path: Path) -> _Image:
    data = io.read_image(path)
    px = data.pixels.astype(np.float64) * 255.0
    if px.shape[2] == 1:
        px = px[:, :, 0]
    return _Image(paired.to_uint8(px / 255.0), px)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _examples(names: list[str], limit: int = 3) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


# ---------------------------------------------------------------- scoring
def _paired_scores(scores: ImageScores, out: _Image, ref: _Image, opts: EvalOptions, skipped: _Skipped) -> None:
    """PSNR and SSIM on RGB (gray as is) or on Y; MS-SSIM on Y (gray as is); GMSD on its own gray."""
    a, b = out.f, ref.f
    if a.ndim != b.ndim:  # gray against colour: compare as colour
        a = a if a.ndim == 3 else np.repeat(a[:, :, None], 3, axis=2)
        b = b if b.ndim == 3 else np.repeat(b[:, :, None], 3, axis=2)
    a, b = paired.shave_border(a, opts.shave), paired.shave_border(b, opts.shave)
    if opts.y_channel:
        a, b = paired.rgb_to_y(a), paired.rgb_to_y(b)
    side = min(a.shape[:2])
    scores.psnr = paired.psnr(a, b)
    if skipped.check("SSIM", side, scores.name):
        scores.ssim = paired.ssim(a, b) if a.ndim == 2 else paired.ssim_rgb(a, b)
    if skipped.check("MS-SSIM", side, scores.name):
        scores.ms_ssim = paired.ms_ssim(a, b) if a.ndim == 2 else paired.ms_ssim(paired.rgb_to_y(a), paired.rgb_to_y(b))
    if skipped.check("GMSD", side, scores.name):
        scores.gmsd = paired.gmsd(a, b)


class _Skipped:
    """Which images were too small for which metric, for one note per metric."""

    def __init__(self) -> None:
        from enhance.metrics.niqe import MIN_SIDE

        self.need = {"SSIM": 7, "MS-SSIM": paired.min_ms_ssim_side(), "GMSD": 4, "NIQE": MIN_SIDE}
        self.names: dict[str, list[str]] = {k: [] for k in self.need}

    def check(self, metric: str, side: int, name: str) -> bool:
        if side >= self.need[metric]:
            return True
        self.names[metric].append(name)
        return False

    def notes(self) -> list[str]:
        return [f"{metric} needs both sides >= {self.need[metric]} px: not computed for {_examples(names)}"
                for metric, names in self.names.items() if names]


def _niqe(img: _Image, name: str, skipped: _Skipped) -> float | None:
    from enhance.metrics import niqe

    if not skipped.check("NIQE", min(img.u8.shape[:2]), name):
        return None
    return niqe.niqe(img.u8)


def _set_scores(extractor: FeatureExtractor, fake: list[np.ndarray], real: list[np.ndarray], notes: list[str]) -> SetScores:
    result = SetScores(extractor.info, len(fake), len(real))
    if len(fake) < 2 or len(real) < 2:
        notes.append("set metrics need at least 2 readable outputs and 2 references")
        return result
    f, r = np.stack(fake), np.stack(real)
    result.fid = sets.fid(f, r)
    k = sets.kid(f, r)
    result.kid, result.kid_std, result.kid_subset_size = k.mean, k.std, k.subset_size
    if k.mean < 0:
        notes.append(f"{extractor.info.kid_name} is below 0: the sets are closer than two independent samples of one "
                     "distribution would be (as paired outputs and references are); compare it with other KIDs "
                     "against the same references, not with 0")
    if min(len(f), len(r)) > sets.PR_K:
        pr = sets.precision_recall(f, r)
        result.precision, result.recall = pr.precision, pr.recall
    else:
        notes.append(f"precision / recall need more than {sets.PR_K} images in each set")
    if min(len(f), len(r)) > sets.DC_K:
        dc = sets.density_coverage(f, r)
        result.density, result.coverage = dc.density, dc.coverage
    else:
        notes.append(f"density / coverage need more than {sets.DC_K} images in each set")
    if min(len(f), len(r)) < 50:
        notes.append(f"set metrics over {min(len(f), len(r))} images are noisy (FID is biased upwards for small sets; "
                     "compare numbers from sets of the same size only)")
    return result


ProgressFn = Callable[[int, int, str], None]


def evaluate(
    outputs: Path,
    references: Path | None = None,
    extractor: FeatureExtractor | None = None,
    options: EvalOptions | None = None,
    progress: ProgressFn | None = None,
) -> EvalReport:
    """Score the images in ``outputs`` (a folder or one file), against ``references`` if given.

    ``progress(done, total, name)`` is called after each image read. Raises
    :class:`InvalidInputError` only when a folder does not exist or holds no images; every
    per-file problem becomes a line in :attr:`EvalReport.errors`.
    """
    opts = options or EvalOptions()
    if opts.shave < 0:
        raise InvalidInputError(f"shave must be >= 0, got {opts.shave}")
    out_files = list_images(outputs, opts.recursive)
    if not out_files:
        raise InvalidInputError(f"{outputs}: no images (PNG, JPEG, TIFF, WebP, BMP, DICOM) found")
    ref_files = list_images(references, opts.recursive) if references is not None else []
    if references is not None and not ref_files:
        raise InvalidInputError(f"{references}: no images (PNG, JPEG, TIFF, WebP, BMP, DICOM) found")
    report = EvalReport(outputs, references, opts, n_references=len(ref_files))

    refs = {_key(p, references, ""): p for p in ref_files} if references is not None else {}
    pairs = {p: refs.get(_key(p, outputs, opts.suffix)) for p in out_files}
    report.paired = sum(r is not None for r in pairs.values())
    if references is not None:
        unmatched = [_name(p, outputs) for p, r in pairs.items() if r is None]
        used = {r for r in pairs.values() if r is not None}
        if report.paired == 0:
            report.notes.append("no output has a reference of the same name: no paired metrics "
                                "(the set metrics still compare the two folders)")
        elif unmatched:
            report.notes.append(f"{_plural(len(unmatched), 'output')} without a reference of the same name: "
                                f"{_examples(unmatched)}")
        lonely = [_name(p, references) for p in ref_files if p not in used]
        if report.paired and lonely:
            report.notes.append(f"{_plural(len(lonely), 'reference')} without an output: {_examples(lonely)}")
    if extractor is not None and references is None:
        report.notes.append("set metrics (FID, KID, precision / recall) need a folder of references")
    elif extractor is None and references is not None:
        report.notes.append("no feature extractor: no FID, KID, precision / recall, density / coverage "
                            "(pass --features inception:FILE or vgg19p:FILE)")

    want_sets = extractor is not None and references is not None
    skipped = _Skipped()
    fake: list[np.ndarray] = []
    real: list[np.ndarray] = []
    total = len(out_files) + len(ref_files)
    done = 0

    def tick(name: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total, name)

    ref_niqe: dict[Path, float | None] = {}  # the references scored so far
    ref_failed: set[Path] = set()

    def reference(path: Path) -> _Image | None:
        """A reference's pixels (None if unreadable); the first time, also its NIQE and features."""
        assert references is not None
        if path in ref_failed:
            return None
        name = _name(path, references)
        first = path not in ref_niqe
        try:
            img = _read(path)
            if first:
                ref_niqe[path] = _niqe(img, f"{name} (reference)", skipped) if opts.niqe else None
                if want_sets:
                    assert extractor is not None
                    real.append(extractor([img.rgb8])[0])
        except EnhanceError as exc:
            ref_failed.add(path)
            report.errors.append(str(exc))
            img = None
        if first:
            tick(name)
        return img

    # pair by pair, so that no more than one output and its reference are in memory at a time
    for out_path in out_files:
        name = _name(out_path, outputs)
        matched = pairs[out_path]
        scores = ImageScores(name, out_path, matched)
        try:
            img = _read(out_path)
            ref = reference(matched) if matched is not None else None
            if ref is not None:
                if ref.f.shape[:2] != img.f.shape[:2]:
                    h, w = img.f.shape[:2]
                    rh, rw = ref.f.shape[:2]
                    raise InvalidInputError(f"{out_path}: {w}x{h} px, but its reference {matched} is {rw}x{rh} px")
                _paired_scores(scores, img, ref, opts, skipped)
                scores.niqe_ref = ref_niqe.get(matched) if matched is not None else None
            if opts.niqe:
                scores.niqe = _niqe(img, name, skipped)
            if want_sets:
                assert extractor is not None
                fake.append(extractor([img.rgb8])[0])
            report.images.append(scores)
        except EnhanceError as exc:
            report.errors.append(str(exc))
        tick(name)
    for ref_path in ref_files:  # the references no output was paired with (or whose output failed)
        if ref_path not in ref_niqe and ref_path not in ref_failed:
            reference(ref_path)

    report.notes += skipped.notes()
    niqes = [v for v in ref_niqe.values() if v is not None]
    report.reference_niqe = float(np.mean(niqes)) if niqes else None
    if want_sets:
        assert extractor is not None
        report.sets = _set_scores(extractor, fake, real, report.notes)
    return report
