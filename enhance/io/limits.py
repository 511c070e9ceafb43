"""Decompression-bomb protection: a pixel-count limit checked on header dimensions before decoding."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import Image

from enhance.errors import ImageTooLargeError, InvalidInputError

DEFAULT_MAX_PIXELS: int = 20_000 * 20_000

_max_pixels: int | None = DEFAULT_MAX_PIXELS
_pil_lock = threading.Lock()


def set_max_pixels(n: int | None) -> None:
    """Set the largest image (width * height) that ``read_image`` decodes; None disables the check."""
    global _max_pixels
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n <= 0):
        raise InvalidInputError(f"max pixels must be a positive integer or None, not {n!r}")
    _max_pixels = n


def get_max_pixels() -> int | None:
    """The current global pixel limit (None: no limit)."""
    return _max_pixels


def check_pixels(path: Path, width: int, height: int, limit: int | None, frames: int = 1) -> None:
    """Raise ImageTooLargeError if ``width * height * frames`` exceeds ``limit``."""
    total = int(width) * int(height) * max(int(frames), 1)
    if limit is not None and total > limit:
        raise ImageTooLargeError(
            path,
            f"image is {width}x{height} ({total:,} pixels), above the limit of {limit:,} pixels "
            "(see enhance.io.set_max_pixels)",
        )


@contextmanager
def pil_bomb_guard(path: Path, limit: int | None) -> Iterator[None]:
    """Run Pillow code with its own bomb check aligned with ``limit`` and converted to our errors.

    Pillow warns above ``Image.MAX_IMAGE_PIXELS`` and raises above twice that. We set it to our
    limit for the duration (under a lock, since it is a module global), silence the warning (we do
    our own exact check on the header size) and turn Pillow's error into ImageTooLargeError.
    """
    with _pil_lock:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = limit
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                yield
        except Image.DecompressionBombError as exc:
            raise ImageTooLargeError(path, f"image too large: {exc}") from None
        finally:
            Image.MAX_IMAGE_PIXELS = saved
