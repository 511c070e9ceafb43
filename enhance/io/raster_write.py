"""Encoding :class:`ImageData` as PNG, JPEG, TIFF, WebP, BMP or JPEG 2000, with ICC, EXIF and provenance.

Where each format keeps metadata:

* PNG: iCCP, eXIf, and tEXt/iTXt chunks ``Software`` and ``Description`` (provenance).
* JPEG, WebP: ICC profile; EXIF with ImageDescription + Software (provenance) merged in.
* TIFF: ICC profile; ImageDescription + Software tags (provenance). EXIF is not written.
* BMP: no metadata at all (the format has no place for it); alpha is dropped.
* JPEG 2000 (:mod:`enhance.io.jp2`), always lossless: a JP2 file keeps ICC and gets an XML box of
  provenance; a raw J2K codestream has no metadata. EXIF is not written.

JPEG cannot hold alpha (dropped); WebP cannot hold grayscale (written as RGB). JPEG, WebP and BMP
are always 8-bit; PNG and TIFF are 16-bit when ``image.bit_depth > 8``, and TIFF keeps float and
other sample types in their own range (``image.samples``, :mod:`enhance.io.tiff`), page by page.
"""

from __future__ import annotations

from typing import Any, BinaryIO

import numpy as np
from PIL import Image

from enhance.io.convert import merge_alpha, quantize
from enhance.io.data import ImageData, Provenance
from enhance.io.jp2 import write_jpeg2000
from enhance.io.formats import SIXTEEN_BIT_FORMATS
from enhance.io.metadata import exif_with_provenance, icc_for
from enhance.io.png import write_png
from enhance.io.tiff import write_tiff

_ALPHA_FORMATS = frozenset({"png", "tiff", "webp", "jp2", "j2k"})


def write_raster(
    fh: BinaryIO, fmt: str, image: ImageData, provenance: Provenance | None, quality: int
) -> None:
    """Encode ``image`` as ``fmt`` into the open binary file ``fh``."""
    bits = 16 if image.bit_depth > 8 and fmt in SIXTEEN_BIT_FORMATS else 8
    channels = image.pixels.shape[2]
    icc = icc_for(image.icc_profile, channels)
    if fmt == "tiff":
        write_tiff(fh, image, bits, icc, provenance)
        return
    if fmt in ("jp2", "j2k"):
        write_jpeg2000(fh, fmt, image, provenance)
        return
    alpha = image.alpha if fmt in _ALPHA_FORMATS else None
    samples = quantize(merge_alpha(image.pixels, alpha), bits)
    if fmt == "png":
        text = {"Software": provenance.software, "Description": provenance.describe()} if provenance else None
        exif = exif_with_provenance(image.exif, provenance) if image.exif else None
        write_png(fh, samples, icc_profile=icc, exif=exif, text=text)
    else:
        _write_pil(fh, fmt, samples, image, icc, provenance, quality)


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
