"""Image I/O for ``enhance``: read and write PNG, JPEG, TIFF, WebP, BMP and DICOM.

Images are held as :class:`ImageData` (float32 pixels in [0, 1] plus the metadata needed to write
them back: bit depth, ICC profile, EXIF, the DICOM dataset). Reads are guarded against
decompression bombs (:func:`set_max_pixels`), writes are atomic and record :class:`Provenance`.
All failures raise typed errors from :mod:`enhance.errors`.
"""

from __future__ import annotations

from enhance.io.arrays import ArrayInfo, from_array, from_pil, to_array, to_pil
from enhance.io.data import ImageData, Provenance
from enhance.io.formats import SUPPORTED_EXTENSIONS, format_for_path, is_supported
from enhance.io.limits import get_max_pixels, set_max_pixels
from enhance.io.masks import mask_from_image, read_mask
from enhance.io.read import decode_image, read_image
from enhance.io.write import write_image

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "ArrayInfo",
    "ImageData",
    "Provenance",
    "decode_image",
    "format_for_path",
    "from_array",
    "from_pil",
    "get_max_pixels",
    "is_supported",
    "mask_from_image",
    "read_image",
    "read_mask",
    "set_max_pixels",
    "to_array",
    "to_pil",
    "write_image",
]
