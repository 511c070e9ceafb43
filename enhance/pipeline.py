"""Batch processing of image files: collect inputs, plan outputs, pick a model, run, report.

The library side of ``enhance upscale|denoise|inpaint``. Nothing here prints: progress and results
go to callbacks, and every per-file problem becomes a failed :class:`Result`, so one bad file never
stops a batch::

    items = collect_inputs(["scans/", "extra/*.tif"], recursive=True)
    picker = ModelPicker("upscale", scale=4)
    report = run_batch(items, picker, BatchOptions(output=Path("out/"), suffix="_x4"))
    report.counts  # {'done': 5, 'skipped': 0, 'failed': 1}
"""

from __future__ import annotations

import glob
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from enhance import io
from enhance.version import __version__
from enhance.registry import ImageTraits
from enhance.registry import resolve as get_spec
from enhance.registry import resolve_model as spec_by_name
from enhance.engine import Enhancer, ProgressFn
from enhance.errors import EnhanceError, ImageReadError, ImageWriteError, InvalidInputError, OutputExistsError
from enhance.io import ImageData, Provenance
from enhance.spec import ModelSpec, Task

Status = Literal["done", "skipped", "failed"]

#: The extension written for each output format.
FORMAT_EXTENSIONS: dict[str, str] = {
    "png": ".png",
    "jpeg": ".jpg",
    "tiff": ".tif",
    "webp": ".webp",
    "bmp": ".bmp",
    "jp2": ".jp2",
    "j2k": ".j2k",
    "dicom": ".dcm",
}

_GLOB_CHARS = frozenset("*?[")


# --------------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class InputItem:
    """One input file, or one input argument that could not be expanded (``error`` set).

    ``base`` is the folder the file was found under (the folder argument, the fixed part of a glob,
    or the file's own folder), so a folder output can mirror the input tree.
    """

    path: Path
    base: Path
    error: str | None = None

    @property
    def relative(self) -> Path:
        """The path of the file below ``base``."""
        try:
            return self.path.relative_to(self.base)
        except ValueError:
            return Path(self.path.name)


def _glob_base(pattern: str) -> Path:
    """The leading folders of a glob pattern that contain no wildcard."""
    parts: list[str] = []
    for part in Path(pattern).parts:
        if _GLOB_CHARS & set(part):
            break
        parts.append(part)
    return Path(*parts) if parts else Path(".")


def walk_files(root: Path) -> Iterator[Path]:
    """Every file below ``root``, following symlinked folders but entering each real folder once,
    so a symlink loop (``a/b -> ..``) ends instead of recursing forever."""
    seen: set[tuple[int, int]] = set()
    for folder, dirs, files in os.walk(root, followlinks=True):
        try:
            st = os.stat(folder)
        except OSError:
            dirs[:] = []
            continue
        if (st.st_dev, st.st_ino) in seen:
            dirs[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        dirs.sort()
        for name in files:
            yield Path(folder) / name


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob pattern with ``**`` (any number of folders), ``*``, ``?`` and ``[...]`` as a regex
    over '/'-separated paths."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:[^/]*/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 2 :]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1 : end]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body).replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def _expand(arg: str, recursive: bool) -> list[InputItem]:
    path = Path(arg)
    if path.is_dir():
        files = walk_files(path) if recursive else path.iterdir()
        found = sorted(p for p in files if p.is_file() and io.is_supported(p))
        if not found:
            hint = "" if recursive else " (use --recursive for subfolders)"
            return [InputItem(path, path, f"no supported images in this folder{hint}")]
        return [InputItem(p, path) for p in found]
    if path.is_file():
        return [InputItem(path, path.parent)]
    if _GLOB_CHARS & set(arg):
        if recursive and "**" in arg:  # glob's own '**' follows symlink loops without end
            base = _glob_base(arg)
            rx = _glob_regex(Path(arg).as_posix())
            matches = sorted(p for p in walk_files(base) if rx.match(p.as_posix()))
        else:
            matches = sorted(Path(m) for m in glob.glob(arg, recursive=recursive))
        found = [m for m in matches if m.is_file() and io.is_supported(m)]
        if not found:
            return [InputItem(path, path.parent, "no supported image matches this pattern")]
        base = _glob_base(arg)
        return [InputItem(m, base) for m in found]
    return [InputItem(path, path.parent, "no such file or folder")]


def collect_inputs(inputs: Iterable[str], recursive: bool = False) -> list[InputItem]:
    """Expand files, folders and glob patterns into input items.

    Folders yield their files with a supported extension (subfolders too when ``recursive``);
    patterns are expanded here (``**`` needs ``recursive``). Arguments keep their order, the files
    of one argument are sorted, and a file named twice is kept once. A missing path or an empty
    match becomes an item with ``error`` set instead of raising.
    """
    items: list[InputItem] = []
    seen: set[Path] = set()
    for arg in inputs:
        for item in _expand(arg, recursive):
            key = item.path.resolve()
            if key in seen:
                continue
            seen.add(key)
            items.append(item)
    return items


# --------------------------------------------------------------------------- outputs
def default_suffix(task: Task, scale: int = 1) -> str:
    """``_x4`` for upscaling, ``_denoised`` / ``_inpainted`` for the other tasks."""
    return f"_x{scale}" if task == "upscale" else {"denoise": "_denoised", "inpaint": "_inpainted"}[task]


def outputs_in_folder(inputs: Sequence[str], items: Sequence[InputItem], output: Path | str | None) -> bool:
    """Whether the outputs of a batch go in a folder: several items, or an input argument that is a
    folder or a pattern (which may match one file today and many tomorrow). Raises
    :class:`InvalidInputError` when they do and ``output`` has an image file's extension and is no
    existing folder: two inputs and ``-o out.png`` (often a flag's value taken for an input) would
    otherwise make a folder named ``out.png``; a trailing ``/`` asks for that folder anyway."""
    multiple = len(items) > 1 or any(Path(a).is_dir() or set("*?[") & set(a) for a in inputs)
    if multiple and output is not None and not _is_folder_target(output) and io.is_supported(Path(output)):
        given = (f"{len(items)} inputs were given" if len(items) > 1
                 else "the input is a folder or a pattern")
        raise InvalidInputError(
            f"-o {output} names a file, but {given} ({', '.join(map(str, inputs))}): "
            f"name a folder (a trailing '/' makes it one), or give one input file")
    return multiple


def _is_folder_target(output: Path | str) -> bool:
    text = str(output)
    return Path(output).is_dir() or text.endswith(("/", os.sep))


def plan_output(
    item: InputItem,
    output: Path | str | None,
    suffix: str,
    fmt: str | None,
    multiple: bool,
) -> Path:
    """Where the result for ``item`` goes.

    No ``output``: next to the input as ``name{suffix}.{ext}``. A folder ``output`` (an existing
    folder, a path ending in ``/``, or any output when there are several inputs): the same name
    under it, mirroring the input tree below the item's ``base``. Otherwise ``output`` is the file.
    ``fmt`` (e.g. ``"png"``) changes the extension.
    """
    ext = FORMAT_EXTENSIONS[fmt] if fmt else item.path.suffix
    if not fmt and not io.is_supported(item.path):
        ext = ".png"
    name = f"{item.path.stem}{suffix}{ext}"
    if output is None:
        return item.path.parent / name
    if multiple or _is_folder_target(output):
        return Path(output) / item.relative.parent / name
    return Path(output)


def same_file(a: Path, b: Path) -> bool:
    """True when two paths name the same file (resolved, or the same inode when both exist)."""
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


# --------------------------------------------------------------------------- models
class ModelPicker:
    """Chooses, loads once and caches the :class:`Enhancer` for each image.

    With ``model`` set every image uses it. Otherwise the registry's one selection policy
    (:meth:`enhance.registry.Registry.select`) picks by the image's format and bit depth: no
    invented detail for DICOM and high-bit-depth images, the real-world model for ordinary photos.
    """

    def __init__(
        self,
        task: Task,
        *,
        scale: int = 1,
        model: str | None = None,
        device: str = "auto",
        tile: int | str | None = "auto",
        build: Callable[[ModelSpec], Enhancer] | None = None,
    ) -> None:
        self.task = task
        self.scale = scale
        self.model = model
        self._build = build or (lambda spec: Enhancer(spec, device=device, tile=tile))
        self._loaded: dict[str, Enhancer | EnhanceError] = {}

    def spec_for(self, image: ImageData | None = None) -> ModelSpec:
        """The spec to use for ``image`` (``None``: the default for ordinary 8-bit images)."""
        scale = self.scale if self.task == "upscale" else None
        if self.model is not None:
            spec = spec_by_name(self.model)
            if spec.task != self.task:
                raise InvalidInputError(f"model {spec.name!r} is a {spec.task} model, not {self.task}")
            return spec_by_name(self.model, scale)
        return get_spec(self.task, scale, traits=None if image is None else ImageTraits.of(image))

    def check(self) -> ModelSpec:
        """Resolve the model now (unknown name, wrong task or scale raise here, before any file)."""
        return self.spec_for(None)

    def __getstate__(self) -> dict[str, Any]:
        # A picker sent to another process (a Ray actor) carries the recipe, not the loaded models:
        # each process loads its own on first use (torch modules and ONNX sessions do not travel).
        return {**self.__dict__, "_loaded": {}}

    def __call__(self, image: ImageData | None = None) -> Enhancer:
        spec = self.spec_for(image)
        cached = self._loaded.get(spec.name)
        if cached is None:
            try:
                cached = self._build(spec)
            except EnhanceError as exc:
                cached = exc
            self._loaded[spec.name] = cached
        if isinstance(cached, EnhanceError):
            raise cached
        return cached


# --------------------------------------------------------------------------- one file
@dataclass(frozen=True)
class Result:
    """What happened to one input."""

    status: Status
    input: Path
    output: Path | None
    reason: str = ""
    seconds: float = 0.0
    model: str | None = None


def read_mask(path: Path) -> np.ndarray:
    """A mask file as an ``(H, W)`` float array (see :func:`enhance.io.read_mask`)."""
    mask = io.read_mask(path)
    assert mask is not None
    return mask


def existing_output(item: InputItem, out_path: Path, *, overwrite: bool, skip_existing: bool) -> Result | None:
    """The result for an output that already exists (skipped, or failed without ``--overwrite``);
    None when the item should be processed."""
    if out_path.exists() and not overwrite:
        if skip_existing:
            return Result("skipped", item.path, out_path, "output exists")
        return Result("failed", item.path, out_path, "exists (use --overwrite or --skip-existing)")
    return None


def process_file(
    enhancer: Enhancer | ModelPicker,
    item: InputItem,
    out_path: Path,
    *,
    mask_path: Path | None = None,
    strength: float = 1.0,
    sigma: float | None = None,
    overwrite: bool = False,
    skip_existing: bool = False,
    provenance: Provenance | None = None,
    fmt: str | None = None,
    progress: ProgressFn | None = None,
) -> Result:
    """Read ``item``, enhance it and write ``out_path`` atomically.

    An existing output is skipped (``skip_existing``), replaced (``overwrite``) or, by default,
    makes this item fail. Errors (:class:`EnhanceError`, ``OSError``) propagate to the caller;
    :func:`run_batch` turns them into failed results. ``provenance`` defaults to the model used.
    """
    start = time.perf_counter()
    existing = existing_output(item, out_path, overwrite=overwrite, skip_existing=skip_existing)
    if existing is not None:
        return existing
    image = io.read_image(item.path)
    enh = enhancer if isinstance(enhancer, Enhancer) else enhancer(image)
    mask = read_mask(mask_path) if mask_path is not None else None
    result = enh.enhance_image(image, mask=mask, sigma=sigma, strength=strength, progress=progress)
    spec = enh.spec
    prov = provenance or Provenance(model=enh.label, task=spec.task, software=f"enhance {__version__}")
    make_folder(out_path)
    try:
        io.write_image(out_path, result, format=fmt, provenance=prov, scale=spec.scale, overwrite=overwrite)
    except OutputExistsError:  # another run wrote it while this one worked: theirs is kept
        if skip_existing:
            return Result("skipped", item.path, out_path, "output exists (written by another run meanwhile)")
        return Result("failed", item.path, out_path, "output written by another run meanwhile; kept (use --overwrite)",
                      seconds=time.perf_counter() - start)
    return Result("done", item.path, out_path, seconds=time.perf_counter() - start, model=enh.label)


def make_folder(out_path: Path) -> None:
    """Create the folder of ``out_path`` (and its parents), or raise ImageWriteError saying why."""
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImageWriteError(out_path, f"cannot create the folder {out_path.parent} ({exc.strerror or exc})") from None


# --------------------------------------------------------------------------- batches
@dataclass(frozen=True)
class BatchOptions:
    """Options shared by every file of a batch (see :func:`plan_output` and :func:`process_file`)."""

    output: Path | str | None = None  # a str keeps a trailing '/' (= a folder)
    suffix: str = "_out"
    fmt: str | None = None
    mask: Path | None = None  # a mask file, or a folder of masks named like the inputs
    strength: float = 1.0
    sigma: float | None = None
    overwrite: bool = False
    skip_existing: bool = False
    multiple: bool | None = None  # outputs go in a folder; None: when there is more than one item
    engine: BatchEngine | None = None  # where the files are processed; None: here, one after another


@dataclass
class BatchReport:
    """Every result of a batch, in input order."""

    results: list[Result] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False

    def _with(self, status: Status) -> list[Result]:
        return [r for r in self.results if r.status == status]

    @property
    def done(self) -> list[Result]:
        return self._with("done")

    @property
    def skipped(self) -> list[Result]:
        return self._with("skipped")

    @property
    def failed(self) -> list[Result]:
        return self._with("failed")

    @property
    def counts(self) -> dict[str, int]:
        return {s: len(self._with(s)) for s in ("done", "skipped", "failed")}  # type: ignore[arg-type]

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.failed

    def to_dict(self) -> dict[str, object]:
        """The report as JSON-ready data: counts, and per file input, output (None when it failed),
        status, model, seconds and error (None unless it failed or was skipped)."""
        return {
            "counts": self.counts,
            "seconds": round(self.seconds, 3),
            "interrupted": self.interrupted,
            "results": [
                {
                    "input": str(r.input),
                    "output": None if r.output is None or r.status == "failed" else str(r.output),
                    "status": r.status,
                    "model": r.model,
                    "seconds": round(r.seconds, 3),
                    "error": r.reason or None,
                }
                for r in self.results
            ],
        }


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`run_batch`: the results so far are in :attr:`report` (``interrupted``
    set); the file being processed left nothing behind (writes are atomic)."""

    def __init__(self, report: BatchReport) -> None:
        super().__init__("interrupted")
        self.report = report


@dataclass(frozen=True)
class Callbacks:
    """Hooks for a progress display; all optional."""

    on_start: Callable[[InputItem, int, int], None] | None = None  # item, index (0-based), total
    on_tile: ProgressFn | None = None  # tiles done, tiles total (current file)
    on_result: Callable[[Result], None] | None = None


def mask_for(item: InputItem, mask: Path | None) -> Path | None:
    """The mask file of ``item``: ``mask`` itself, or for a folder the file of the same name in it.

    In a mask folder, ``photos/a/b.jpg`` (input folder ``photos``) looks for ``a/b.jpg``, then for
    any supported image named ``a/b.*``.
    """
    if mask is None or not mask.is_dir():
        return mask
    exact = mask / item.relative
    if exact.is_file():
        return exact
    for ext in io.SUPPORTED_EXTENSIONS:
        candidate = exact.with_suffix(ext)
        if candidate.is_file():
            return candidate
    raise ImageReadError(exact, "no mask with this name in the mask folder")


def _reason(exc: BaseException, item: Path) -> str:
    """One line for a failure; the input's own name is dropped from the front (it is shown anyway)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    prefix = f"{item}: "
    text = text[len(prefix) :] if text.startswith(prefix) else text
    if isinstance(exc, (EnhanceError, OSError)):
        return text
    if isinstance(exc, MemoryError):
        return "out of memory" + (f": {text}" if text != "MemoryError" else "")
    return f"internal error: {type(exc).__name__}: {text}"


def _plans(items: list[InputItem], opts: BatchOptions) -> dict[int, Path | Result]:
    """Plan every output, refusing outputs that would overwrite an input (or another output)."""
    multiple = len(items) > 1 if opts.multiple is None else opts.multiple
    planned: dict[int, Path | Result] = {}
    for i, item in enumerate(items):
        if item.error is None:
            planned[i] = plan_output(item, opts.output, opts.suffix, opts.fmt, multiple)
    outputs = {p.resolve(): i for i, p in planned.items() if isinstance(p, Path)}
    # Inputs that are the planned output of another input (results of an earlier run found in a
    # folder) are not processed again; they are not protected as inputs either.
    derived = {i for i, item in enumerate(items) if outputs.get(item.path.resolve(), i) != i}
    protected = [item.path for i, item in enumerate(items) if item.error is None and i not in derived]
    if opts.mask is not None and opts.mask.is_file():
        protected.append(opts.mask)
    claimed: dict[Path, Path] = {}
    for i, target in list(planned.items()):
        item = items[i]
        if i in derived:
            first = items[outputs[item.path.resolve()]].path
            planned[i] = Result("skipped", item.path, None, f"looks like the output of {first}; not processed")
            continue
        assert isinstance(target, Path)
        hit = next((p for p in protected if same_file(target, p)), None)
        if hit is not None:
            what = "this input file" if same_file(hit, item.path) else f"the input file {hit}"
            reason = f"refused: output {target} would replace {what} (inputs are never overwritten)"
            planned[i] = Result("failed", item.path, target, reason)
            continue
        key = target.resolve()
        if key in claimed:
            reason = f"refused: output {target} is also the output of {claimed[key]}"
            planned[i] = Result("failed", item.path, target, reason)
            continue
        claimed[key] = item.path
    return planned


#: Processes one planned item: ``(item, output path, tile progress) -> Result``. What it raises
#: becomes a failed result of that item (see ``process`` in :func:`run_batch`).
FileFn = Callable[[InputItem, Path, ProgressFn | None], Result]


@dataclass(frozen=True)
class Job:
    """One planned file of a batch: its position in the input list, the item and its output."""

    index: int
    item: InputItem
    output: Path


class BatchEngine(Protocol):
    """Runs the planned files of a batch elsewhere (e.g. :class:`enhance.ray_batch.RayEngine`).

    :func:`run_batch` plans every output and refuses unsafe ones here; the engine only schedules:
    it calls ``process`` on each job through :func:`run_job` (so a file's failure is its result)
    and yields ``(job.index, result)`` as results arrive, in any order. ``process`` may be sent to
    other processes, so it must pickle (cloudpickle); a :class:`ModelPicker` travels unloaded.
    """

    def run(self, process: FileFn, jobs: Sequence[Job]) -> Iterator[tuple[int, Result]]: ...


def run_batch(
    items: list[InputItem],
    enhancer: Enhancer | ModelPicker | None,
    opts: BatchOptions,
    callbacks: Callbacks | None = None,
    *,
    process: FileFn | None = None,
) -> BatchReport:
    """Process every item; failures are recorded per file and the batch goes on.

    Outputs are planned first: an output that is the same file as any input (or as the output
    of another input) makes that item fail, so an input is never overwritten. An input that is
    the planned output of another input (a result of an earlier run, found in a folder) is
    skipped. ``enhancer`` is one model for all files, or a :class:`ModelPicker`.

    ``process`` replaces :func:`process_file` for jobs that are not one model per file (e.g.
    :func:`enhance.restore.run_restore_batch`); ``enhancer`` is then unused (``None``).

    With ``opts.engine`` the planned files run there (in parallel, elsewhere); the report is the
    same, in input order, but ``on_start`` comes just before each file's ``on_result`` and
    ``on_tile`` is not called.
    """
    if process is None:
        if enhancer is None:
            raise InvalidInputError("run_batch needs an enhancer or a process function")
        process = partial(_process_file_fn, enhancer, replace(opts, engine=None))
    cb = callbacks or Callbacks()
    report = BatchReport()
    start = time.perf_counter()
    planned = _plans(items, opts)
    found: dict[int, Result] = {}

    def record(i: int, result: Result, started: bool = False) -> None:
        if cb.on_start and not started:
            cb.on_start(items[i], i, len(items))
        found[i] = result
        report.results.append(result)
        if cb.on_result:
            cb.on_result(result)

    try:
        jobs: list[Job] = []
        for i, item in enumerate(items):
            plan = planned.get(i)
            if item.error is not None:
                record(i, Result("failed", item.path, None, item.error))
            elif isinstance(plan, Result):
                record(i, plan)
            elif opts.engine is not None:
                assert plan is not None
                jobs.append(Job(i, item, plan))
            else:
                assert plan is not None
                if cb.on_start:
                    cb.on_start(item, i, len(items))
                record(i, run_job(process, Job(i, item, plan), cb.on_tile), started=True)
        if opts.engine is not None and jobs:
            for i, result in opts.engine.run(process, jobs):
                record(i, result)
    except KeyboardInterrupt:
        report.results = [found[i] for i in sorted(found)]
        report.seconds = time.perf_counter() - start
        report.interrupted = True
        raise BatchInterrupted(report) from None
    report.results = [found[i] for i in sorted(found)]
    report.seconds = time.perf_counter() - start
    return report


def _process_file_fn(
    enhancer: Enhancer | ModelPicker, opts: BatchOptions, item: InputItem, out: Path, on_tile: ProgressFn | None
) -> Result:
    """The default ``process`` of :func:`run_batch`: :func:`process_file` with the batch options."""
    return process_file(
        enhancer,
        item,
        out,
        mask_path=mask_for(item, opts.mask),
        strength=opts.strength,
        sigma=opts.sigma,
        overwrite=opts.overwrite,
        skip_existing=opts.skip_existing,
        fmt=opts.fmt,
        progress=on_tile,
    )


def run_job(process: FileFn, job: Job, on_tile: ProgressFn | None = None) -> Result:
    """``process`` on one planned file; whatever it raises becomes that file's failed result."""
    item, out = job.item, job.output
    start = time.perf_counter()
    try:
        return process(item, out, on_tile)
    except (EnhanceError, OSError, MemoryError) as exc:
        reason = _reason(exc, item.path)
    except Exception as exc:  # noqa: BLE001 - one broken file must not end the batch
        reason = _reason(exc, item.path)
    return Result("failed", item.path, out, reason, time.perf_counter() - start)


__all__ = [
    "FORMAT_EXTENSIONS",
    "existing_output",
    "BatchEngine",
    "BatchInterrupted",
    "BatchOptions",
    "BatchReport",
    "Callbacks",
    "FileFn",
    "InputItem",
    "Job",
    "ModelPicker",
    "Result",
    "collect_inputs",
    "default_suffix",
    "mask_for",
    "plan_output",
    "make_folder",
    "process_file",
    "walk_files",
    "read_mask",
    "run_batch",
    "run_job",
    "same_file",
]
