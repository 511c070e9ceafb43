"""napari reader: DICOM files (one, several, or a folder of slices) opened through :mod:`enhance.io`.

``enhance.io`` decodes what PACS exports (JPEG, JPEG-LS, JPEG 2000, RLE; MONOCHROME1, palette) and
multi-frame files; here the frames or slices become one stack, with the pixel spacing (and the
slice spacing) as the layer's ``scale`` in mm, so measurements in napari are in mm.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from enhance import io
from enhance.errors import EnhanceError
from enhance.io import ArrayInfo, ImageData

LayerData = tuple[np.ndarray, dict[str, Any], str]
DICOM_SUFFIXES = (".dcm", ".dicom")


def get_reader(path: str | Sequence[str]) -> Callable[[str | Sequence[str]], list[LayerData]] | None:
    """napari's reader hook: :func:`read_dicom` for DICOM paths (or folders holding them), else None."""
    paths = [Path(path)] if isinstance(path, (str, Path)) else [Path(p) for p in path]
    files = _files(paths)
    return read_dicom if files and all(p.suffix.lower() in DICOM_SUFFIXES for p in files) else None


def _files(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        out.extend(sorted(c for c in p.iterdir() if c.suffix.lower() in DICOM_SUFFIXES) if p.is_dir() else [p])
    return out


def _instance(image: ImageData) -> tuple[float, float]:
    """Sort key of a slice: its position along the patient axis, else its InstanceNumber."""
    ds = image.dicom
    position = getattr(ds, "ImagePositionPatient", None)
    return (float(position[2]) if position is not None else 0.0, float(getattr(ds, "InstanceNumber", 0) or 0))


def _planes(image: ImageData) -> list[np.ndarray]:
    # 12/16-bit stays uint16 (the widget then picks the fidelity upscaler, as the CLI does)
    dtype = "uint8" if image.bit_depth <= 8 else "uint16"
    info = ArrayInfo("hw" if image.is_gray else "hwc", 1 if image.is_gray else 3, dtype)
    return [io.to_array(image.with_frames([frame]), info) for frame in image.frames()]


def read_dicom(path: str | Sequence[str]) -> list[LayerData]:
    """One image layer: a 2-D image, or a ``(Z, H, W)`` stack of frames or of slices sorted by position.

    Raises :class:`enhance.EnhanceError` naming the file that cannot be read (napari shows it)."""
    paths = [Path(path)] if isinstance(path, (str, Path)) else [Path(p) for p in path]
    images = [io.read_image(p) for p in _files(paths)]
    if not images:
        raise EnhanceError(f"{paths[0]}: no DICOM files here")
    images.sort(key=_instance)
    planes = [plane for image in images for plane in _planes(image)]
    shapes = {p.shape for p in planes}
    if len(shapes) > 1:
        raise EnhanceError(f"{paths[0]}: the slices differ in size ({', '.join(map(str, sorted(shapes)))})")
    first = images[0]
    ds = first.dicom
    spacing = [float(v) for v in getattr(ds, "PixelSpacing", None) or (1.0, 1.0)]
    data = planes[0] if len(planes) == 1 else np.stack(planes)
    scale = spacing
    if len(planes) > 1:
        between = getattr(ds, "SpacingBetweenSlices", None) or getattr(ds, "SliceThickness", None) or 1.0
        scale = [float(between), *spacing]
    meta = {"name": (paths[0].stem if len(paths) == 1 else paths[0].parent.name), "scale": scale,
            "rgb": not first.is_gray, "metadata": {"source": str(first.source), "bit_depth": first.bit_depth}}
    return [(data, meta, "image")]


__all__ = ["get_reader", "read_dicom"]
