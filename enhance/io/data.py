"""The in-memory image record (:class:`ImageData`) and output provenance (:class:`Provenance`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class ImageData:
    """A decoded image plus the metadata needed to write it back faithfully.

    Attributes:
        pixels: float32 array of shape (H, W, C), C in {1, 3}, values in [0, 1]; C == 1 is grayscale.
        alpha: float32 (H, W) array in [0, 1], or None when the image has no alpha channel.
        bit_depth: bits per sample of the source: 8 or 16 (DICOM: BitsStored, e.g. 12).
        format: 'png' | 'jpeg' | 'tiff' | 'webp' | 'bmp' | 'dicom' (the real format, from the content).
        icc_profile: raw ICC profile bytes, or None.
        exif: raw EXIF bytes as Pillow writes them (``b"Exif\\0\\0"`` + TIFF structure), with Orientation
            already reset to 1 because ``pixels`` are already rotated upright.
        dicom: the pydicom Dataset that was read (DICOM inputs only); used to write the output.
        source: the file the image was read from, or None.
    """

    pixels: np.ndarray
    alpha: np.ndarray | None
    bit_depth: int
    format: str
    icc_profile: bytes | None = None
    exif: bytes | None = None
    dicom: Any | None = None
    source: Path | None = None

    @property
    def height(self) -> int:
        """Number of rows."""
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        """Number of columns."""
        return int(self.pixels.shape[1])

    @property
    def is_gray(self) -> bool:
        """True for single-channel (grayscale) images."""
        return int(self.pixels.shape[2]) == 1


@dataclass(frozen=True)
class Provenance:
    """What produced an output image; recorded in every file ``write_image`` writes."""

    model: str
    task: str
    software: str

    def describe(self) -> str:
        """One line for humans, e.g. ``Enhanced by enhance 0.1.0 (task upscale, model sr-x4-gan); ...``."""
        return (
            f"Enhanced by {self.software} (task {self.task}, model {self.model}); not an original image"
        )
