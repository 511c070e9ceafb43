"""Encoding :class:`ImageData` as PNG, JPEG, TIFF, WebP or BMP, with ICC, EXIF and provenance.

Where each format keeps metadata:

* PNG: iCCP, eXIf, and tEXt/iTXt chunks ``Software`` and ``Description`` (provenance).
* JPEG, WebP: ICC profile; EXIF with ImageDescription + Software (provenance) merged in.
* TIFF: ICC profile; ImageDescription + Software tags (provenance). EXIF is not written.
* BMP: no metadata at all (the format has no place for it); alpha is dropped.

JPEG cannot hold alpha (dropped); WebP cannot hold grayscale (written as RGB). JPEG, WebP and BMP
are always 8-bit; PNG and TIFF are 16-bit when ``image.bit_depth > 8``.
"""

from __future__ import annotations

from typing import Any, BinaryIO

import numpy as np
from PIL import Image

from enhance.io.convert import merge_alpha, quantize
from enhance.io.data import ImageData, Provenance
from enhance.io.formats import SIXTEEN_BIT_FORMATS
from enhance.io.metadata import exif_with_provenance, icc_for
from enhance.io.png import write_png

_ALPHA_FORMATS = frozenset({"png", "tiff", "webp"})


def write_raster(
    fh: BinaryIO, fmt: str, image: ImageData, provenance: Provenance | None, quality: int
) -> None:
    """Encode ``image`` as ``fmt`` into the open binary file ``fh``."""
    bits = 16 if image.bit_depth > 8 and fmt in SIXTEEN_BIT_FORMATS else 8
    alpha = image.alpha if fmt in _ALPHA_FORMATS else None
    samples = quantize(merge_alpha(image.pixels, alpha), bits)
    channels = image.pixels.shape[2]
    icc = icc_for(image.icc_profile, channels)
    if fmt == "png":
        text = {"Software": provenance.software, "Description": provenance.describe()} if provenance else None
        exif = exif_with_provenance(image.exif, provenance) if image.exif else None
        write_png(fh, samples, icc_profile=icc, exif=exif, text=text)
    elif fmt == "tiff":
        _write_tiff(fh, samples, channels, icc, provenance)
    else:
        _write_pil(fh, fmt, samples, image, icc, provenance, quality)


def _write_tiff(
    fh: BinaryIO, samples: np.ndarray, channels: int, icc: bytes | None, provenance: Provenance | None
) -> None:
    import tifffile

    has_alpha = samples.shape[2] > channels
    kwargs: dict[str, Any] = {
        "photometric": "minisblack" if channels == 1 else "rgb",
        "planarconfig": "contig",
        "compression": "zlib",
        "metadata": None,
    }
    if has_alpha:
        kwargs["extrasamples"] = ["unassalpha"]
    if icc:
        kwargs["iccprofile"] = icc
    if provenance is not None:
        kwargs["description"] = provenance.describe()
        kwargs["software"] = provenance.software
    data = samples[:, :, 0] if samples.shape[2] == 1 else samples
    tifffile.imwrite(fh, data, **kwargs)


def _write_pil(
    fh: BinaryIO,
    fmt: str,
    samples: np.ndarray,
    image: ImageData,
    icc: bytes | None,
    provenance: Provenance | None,
    quality: int,
) -> None:
    im = Image.fromarray(samples[:, :, 0] if samples.shape[2] == 1 else samples)
    kwargs: dict[str, Any] = {}
    if fmt in ("jpeg", "webp"):
        kwargs["quality"] = quality
        if icc:
            kwargs["icc_profile"] = icc
        exif = exif_with_provenance(image.exif, provenance)
        if exif:
            kwargs["exif"] = exif
    if fmt == "jpeg" and quality >= 90:
        kwargs["subsampling"] = 0  # 4:4:4: no chroma blur at high quality
    if fmt == "webp" and im.mode in ("L", "LA"):
        im = im.convert("RGBA" if im.mode == "LA" else "RGB")
        kwargs.pop("icc_profile", None)  # a GRAY profile does not fit the RGB data WebP stores
    im.save(fh, format=fmt.upper(), **kwargs)
