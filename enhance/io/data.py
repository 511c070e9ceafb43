"""The in-memory image record (:class:`ImageData`) and output provenance (:class:`Provenance`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

#: One frame (page) of an image: ``(pixels (H, W, C), alpha (H, W) or None)``.
Frame = tuple[np.ndarray, np.ndarray | None]


@dataclass(frozen=True)
class Samples:
    """How ``pixels`` map back to source samples that are not plain uint8 / uint16 (float, int32,
    32-bit DICOM...): pixel value 0 is ``low``, 1 is ``high``, stored as numpy ``dtype``. Writers
    that can hold ``dtype`` (TIFF, DICOM for 32-bit integers) write it back, so the range is kept."""

    dtype: str
    low: float
    high: float


@dataclass
class ImageData:
    """A decoded image plus the metadata needed to write it back faithfully.

    Attributes:
        pixels: float32 array of shape (H, W, C), C in {1, 3}, values in [0, 1]; C == 1 is grayscale.
        alpha: float32 (H, W) array in [0, 1], or None when the image has no alpha channel.
        bit_depth: bits per sample of the source: 8 or 16 (DICOM: BitsStored, e.g. 12 or 1; 32 or 64
            for float and 32-bit integer samples, whose range ``samples`` gives).
        format: 'png' | 'jpeg' | 'tiff' | 'webp' | 'bmp' | 'jp2' | 'j2k' | 'dicom' (the real format,
            from the content; 'j2k' is a raw JPEG 2000 codestream).
        icc_profile: raw ICC profile bytes, or None.
        exif: raw EXIF bytes as Pillow writes them (``b"Exif\\0\\0"`` + TIFF structure), with Orientation
            already reset to 1 because ``pixels`` are already rotated upright.
        dicom: the pydicom Dataset that was read (DICOM inputs only); used to write the output.
        source: the file the image was read from, or None.
        samples: the source's sample type and value range where pixels are not plain 8/16-bit
            samples scaled to [0, 1], else None.
        more_frames: frames 2..N of a multi-frame image (DICOM frames, TIFF pages), each the shape
            of ``pixels`` / ``alpha``; ``pixels`` is the first. Empty for ordinary images.
    """

    pixels: np.ndarray
    alpha: np.ndarray | None
    bit_depth: int
    format: str
    icc_profile: bytes | None = None
    exif: bytes | None = None
    dicom: Any | None = None
    source: Path | None = None
    samples: Samples | None = None
    more_frames: tuple[Frame, ...] = ()

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

    @property
    def frame_count(self) -> int:
        """1 for an ordinary image, N for a multi-frame DICOM or an N-page TIFF."""
        return 1 + len(self.more_frames)

    def frames(self) -> list[Frame]:
        """Every frame as ``(pixels, alpha)``, the first being ``(self.pixels, self.alpha)``."""
        return [(self.pixels, self.alpha), *self.more_frames]

    def with_frames(self, frames: Sequence[Frame]) -> ImageData:
        """A copy holding ``frames`` (e.g. each one enhanced); the metadata is carried."""
        (pixels, alpha), *rest = frames
        return replace(self, pixels=pixels, alpha=alpha, more_frames=tuple(rest))


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
