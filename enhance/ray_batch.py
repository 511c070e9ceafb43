"""Batches on a Ray cluster: :class:`RayEngine` runs the files of :func:`enhance.pipeline.run_batch`
(and so of :func:`enhance.restoration.run_restore_batch`) on a pool of Ray Data actors.

This module only schedules. The driver plans every output and applies the safety rules as in a
local batch; the planned files become a Ray dataset whose rows are processed by ``map_batches``
with a callable class, one actor per GPU (or per CPU without GPUs). Each actor receives the
batch's per-file function once, so it loads each model once, and runs it through
:func:`enhance.pipeline.run_job`: reading, tiling, provenance, atomic writes, ``skip_existing``
and per-file errors are the local code's. Inputs and outputs must be on storage that every node
sees (one machine, NFS, a mounted bucket)::

    engine = RayEngine(address="auto")
    report = run_batch(items, picker, BatchOptions(output="out/", engine=engine))

Ray is imported only here, and only when a batch runs (``pip install 'enhance[ray]'``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from enhance.errors import EnhanceError, one_line
from enhance.pipeline import FileFn, InputItem, Job, Result, run_job

#: The value of ``address`` that starts a Ray on this machine (``ray.init()`` with no address).
LOCAL = "local"

#: A block of the file dataset is one unit of work of an actor, and its results reach the driver
#: together: one file per block balances images of unequal size and keeps the progress display
#: live, and costs a few ms per file (benchmarks/results/ray_batch.md). Past MAX_BLOCKS files the
#: driver would track too many blocks, so files are grouped, up to BLOCK_ROWS per block.
MAX_BLOCKS = 10_000
BLOCK_ROWS = 16


class RayUnavailableError(EnhanceError):
    """Ray is not installed, or the cluster cannot be reached."""


def import_ray() -> ModuleType:
    """``ray`` (with Ray Data), or :class:`RayUnavailableError` saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401 - the extra brings it; plain ``pip install ray`` does not
    except ImportError:
        raise RayUnavailableError("--ray needs Ray Data: pip install 'enhance[ray]'") from None
    return ray


@dataclass
class RayEngine:
    """A :class:`enhance.pipeline.BatchEngine` on Ray.

    Attributes:
        address: ``"local"`` (a Ray on this machine), ``"auto"`` (the cluster this node belongs
            to) or a cluster address (``HOST:PORT``, ``ray://HOST:10001``). A Ray already
            initialised in this process is used as it is.
        actors: how many actors; None: one per GPU of the cluster, else one per
            ``cpus_per_actor`` CPUs (never more than there are files).
        cpus_per_actor: CPUs (and torch threads) each actor gets.
        gpus_per_actor: GPUs each actor gets; None: 1 when the cluster has GPUs, else 0.
    """

    address: str = LOCAL
    actors: int | None = None
    cpus_per_actor: int = 1
    gpus_per_actor: float | None = None
    _started: bool = field(default=False, init=False, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        # the per-file function of a restore batch holds its options (and so this engine): what
        # travels to the actors is the settings, never "this process started Ray"
        return {**self.__dict__, "_started": False}

    def connect(self) -> None:
        """Start or join Ray now (a bad address fails here, before any file)."""
        ray = import_ray()
        if ray.is_initialized():
            return
        # Ray's own notices would interleave with the batch display (what fails is in the report)
        try:
            ray.init(address=None if self.address == LOCAL else self.address, log_to_driver=False,
                     logging_level=logging.ERROR)
        except Exception as exc:  # noqa: BLE001 - Ray raises ConnectionError, RuntimeError, ValueError...
            raise RayUnavailableError(f"cannot start or reach Ray at {self.address!r}: {_first_line(exc)}") from None
        self._started = True

    def close(self) -> None:
        """Shut Ray down if :meth:`connect` started it (a Ray the caller initialised stays up)."""
        if self._started:
            import_ray().shutdown()
            self._started = False

    def pool(self, files: int) -> tuple[int, float]:
        """``(actors, GPUs per actor)`` for ``files`` files on the connected cluster."""
        resources = import_ray().cluster_resources()
        gpus = float(resources.get("GPU", 0))
        per_gpu = self.gpus_per_actor if self.gpus_per_actor is not None else (1.0 if gpus >= 1 else 0.0)
        if self.actors is not None:
            n = self.actors
        elif per_gpu > 0:
            n = int(gpus // per_gpu)
        else:
            n = int(float(resources.get("CPU", 1)) // self.cpus_per_actor)
        return max(1, min(n, files)), per_gpu

    def run(self, process: FileFn, jobs: Sequence[Job]) -> Iterator[tuple[int, Result]]:
        """Process ``jobs`` on the actor pool; yields ``(index, result)`` as files finish.

        If Ray itself fails (a lost node, an actor that keeps dying), the files without a result
        fail with Ray's one-line reason, so the report still covers every file.
        """
        ray = import_ray()
        self.connect()
        actors, gpus = self.pool(len(jobs))
        rows = [{"index": j.index, "path": str(j.item.path), "base": str(j.item.base), "out": str(j.output)}
                for j in jobs]
        blocks = math.ceil(len(rows) / min(BLOCK_ROWS, math.ceil(len(rows) / MAX_BLOCKS)))
        _quiet(ray)
        ds = ray.data.from_items(rows, override_num_blocks=blocks).map_batches(
            _FileWorker,
            fn_constructor_args=(process, self.cpus_per_actor if gpus == 0 else None),
            batch_size=1,  # one file at a time: images differ in size, and each one is its own result
            compute=ray.data.ActorPoolStrategy(size=actors),
            num_cpus=self.cpus_per_actor,
            num_gpus=gpus,
        )
        by_index = {j.index: j for j in jobs}
        try:
            for row in ds.iter_rows():
                i = int(row["index"])
                job = by_index.pop(i, None)
                if job is not None:
                    yield i, _result(job, row)
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # noqa: BLE001 - see the docstring: Ray failed, not one file
            reason = f"Ray failed: {_first_line(exc)}"
            for i, job in sorted(by_index.items()):
                yield i, Result("failed", job.item.path, job.output, reason)


def _quiet(ray: ModuleType) -> None:
    """No Ray Data progress bars or INFO lines: they would interleave with the batch display."""
    ray.data.DataContext.get_current().enable_progress_bars = False
    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(logging.ERROR)


class _FileWorker:
    """One Ray actor: the batch's per-file function, unpickled once (its models load on first use)."""

    def __init__(self, process: FileFn, threads: int | None) -> None:
        if threads:  # torch would otherwise use every core of the node in each actor
            import torch

            torch.set_num_threads(threads)
        self.process = process

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        results = []
        for index, path, base, out in zip(batch["index"], batch["path"], batch["base"], batch["out"]):
            job = Job(int(index), InputItem(Path(str(path)), Path(str(base))), Path(str(out)))
            results.append(run_job(self.process, job))
        return {
            "index": np.asarray(batch["index"], dtype=np.int64),
            "status": np.asarray([r.status for r in results]),
            "output": np.asarray(["" if r.output is None else str(r.output) for r in results]),
            "reason": np.asarray([r.reason for r in results]),
            "seconds": np.asarray([r.seconds for r in results], dtype=np.float64),
            "model": np.asarray([r.model or "" for r in results]),
        }


def _result(job: Job, row: dict[str, Any]) -> Result:
    """The :class:`Result` an actor sent back as a row (strings, since rows are Arrow data)."""
    status = str(row["status"])
    assert status in ("done", "skipped", "failed")
    out = str(row["output"])
    return Result(
        status,  # type: ignore[arg-type]
        job.item.path,
        Path(out) if out else None,
        str(row["reason"]),
        float(row["seconds"]),
        str(row["model"]) or None,
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return one_line(text.splitlines()[0]) if text else type(exc).__name__


__all__ = ["LOCAL", "RayEngine", "RayUnavailableError", "import_ray"]
