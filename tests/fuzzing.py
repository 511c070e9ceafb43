"""Fuzzing the bytes -> image reader (:func:`enhance.io.decode_image`): seeds, mutations, one check.

Shared by ``tests/test_fuzz_readers.py`` (a short seeded run in the suite) and
``tests/fuzz_readers.py`` (longer campaigns, coverage-guided with atheris where it is installed).
The contract: every input ends in an image (float32 pixels in [0, 1], consistent frames) or a
typed :class:`enhance.errors.EnhanceError` with a one-line message, within a time limit.
"""

from __future__ import annotations

import importlib.util
import io
import signal
import struct
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from enhance.errors import EnhanceError
from enhance.io import ImageData, decode_image

FORMATS = ("png", "jpeg", "tiff", "webp", "bmp", "jp2", "j2k", "dicom")
EXTENSIONS = {"png": ".png", "jpeg": ".jpg", "tiff": ".tif", "webp": ".webp", "bmp": ".bmp", "jp2": ".jp2", "j2k": ".j2k",
              "dicom": ".dcm"}
#: Fuzzed files may declare any size: decode nothing above this (the bomb limit under test).
MAX_PIXELS = 1 << 22
TIME_LIMIT = 5.0  # seconds per input


class Timeout(Exception):
    """An input took longer than the time limit (raised by the alarm, between bytecodes)."""


@dataclass(frozen=True)
class Finding:
    """An input that broke the contract."""

    fmt: str
    kind: str  # 'exception' | 'timeout' | 'bad image' | 'multi-line error'
    detail: str
    data: bytes

    def key(self) -> str:
        """What makes two findings the same bug: the kind and the last frame of the traceback."""
        return f"{self.fmt} {self.kind} {self.detail.splitlines()[-1][:120] if self.detail else ''}"


# --------------------------------------------------------------------------- seeds
def _rng_image(h: int, w: int, c: int, dtype: type = np.uint8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    top = 255 if dtype == np.uint8 else 65535
    return rng.integers(0, top + 1, (h, w, c)).astype(dtype)


def _pil(arr: np.ndarray, fmt: str, **kwargs: object) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr).save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def _jpeg2000(arr: np.ndarray, codec: str, bits: int | None = None) -> bytes:
    import imagecodecs

    return bytes(imagecodecs.jpeg2k_encode(arr, level=0, codecformat=codec, bitspersample=bits))


def _tiff(arr: np.ndarray, **kwargs: object) -> bytes:
    import tifffile

    buf = io.BytesIO()
    tifffile.imwrite(buf, arr, **kwargs)  # type: ignore[arg-type]
    return buf.getvalue()


def _png16(arr: np.ndarray) -> bytes:
    from enhance.io.png import write_png

    buf = io.BytesIO()
    write_png(buf, arr)
    return buf.getvalue()


def _pydicom_file(name: str) -> bytes | None:
    spec = importlib.util.find_spec("pydicom")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "data" / "test_files" / name
    return path.read_bytes() if path.is_file() else None


def seeds() -> dict[str, list[bytes]]:
    """Small valid files of every format and of the variants each reader branches on."""
    rgb, gray = _rng_image(12, 10, 3), _rng_image(12, 10, 1, seed=1)
    rgba, g16 = _rng_image(9, 8, 4, seed=2), _rng_image(9, 8, 1, np.uint16, seed=3)
    out: dict[str, list[bytes]] = {
        "png": [_pil(rgb, "PNG"), _pil(gray, "PNG"), _pil(rgba, "PNG"), _png16(g16), _png16(_rng_image(5, 6, 4, np.uint16)),
                _pil(rgb, "PNG", optimize=True, bits=4)],
        "jpeg": [_pil(rgb, "JPEG", quality=80), _pil(gray, "JPEG"), _pil(rgb, "JPEG", progressive=True)],
        "webp": [_pil(rgb, "WEBP"), _pil(rgba, "WEBP", lossless=True)],
        "bmp": [_pil(rgb, "BMP"), _pil(gray, "BMP")],
        "jp2": [_jpeg2000(rgb, "jp2"), _jpeg2000(rgba, "jp2"), _jpeg2000(g16[:, :, 0], "jp2"),
                _jpeg2000(_rng_image(6, 7, 1, np.uint16, seed=5)[:, :, 0] >> 4, "jp2", bits=12)],
        "j2k": [_jpeg2000(rgb, "j2k"), _jpeg2000(gray[:, :, 0], "j2k")],
        "tiff": [
            _pil(rgb, "TIFF"), _pil(rgb, "TIFF", compression="tiff_lzw"),
            _tiff(g16[:, :, 0]), _tiff(_rng_image(8, 8, 3, np.uint16), photometric="rgb", tile=(16, 16)),
            _tiff(np.random.default_rng(4).normal(0, 9, (7, 6)).astype(np.float32), compression="zlib"),
            _tiff(np.arange(42, dtype=np.int32).reshape(6, 7) * 1000, bigtiff=True),
            _tiff(_rng_image(3, 5, 4, np.uint16)[:, :, :3].transpose(2, 0, 1).copy(), photometric="minisblack"),
        ],
        "dicom": [],
    }
    for name in ("MR_small_RLE.dcm", "SC_rgb_small_odd.dcm", "SC_rgb_rle_2frame.dcm", "rtdose_1frame.dcm",
                 "MR_small_jpeg_ls_lossless.dcm", "JPEGLSNearLossless_08.dcm", "SC_rgb_small_odd_jpeg.dcm"):
        data = _pydicom_file(name)
        if data is not None:
            out["dicom"].append(data)
    return out


# --------------------------------------------------------------------------- mutations
_INTERESTING = [0, 1, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0xFFFFFFFF]


def mutate(data: bytes, rng: np.random.Generator, corpus: list[bytes]) -> bytes:
    """One to four of: flip bits, set bytes, write an 'interesting' integer (sizes, offsets,
    counts), delete / duplicate / insert a chunk, splice another seed, truncate. Header bytes are
    favoured: that is where sizes and offsets live."""
    buf = bytearray(data)
    for _ in range(int(rng.integers(1, 5))):
        if not buf:
            buf = bytearray(rng.integers(0, 256, 16, dtype=np.uint8).tobytes())
        n = len(buf)
        pos = int(rng.integers(0, min(n, 512))) if rng.random() < 0.6 else int(rng.integers(0, n))
        op = int(rng.integers(0, 8))
        if op == 0:
            buf[pos] ^= 1 << int(rng.integers(0, 8))
        elif op == 1:
            buf[pos] = int(rng.integers(0, 256))
        elif op == 2:
            value = int(_INTERESTING[int(rng.integers(0, len(_INTERESTING)))])
            width, order = (2, 4)[int(rng.integers(0, 2))], "<>"[int(rng.integers(0, 2))]
            packed = struct.pack(order + ("H" if width == 2 else "I"), value & ((1 << (8 * width)) - 1))
            buf[pos : pos + width] = packed
        elif op == 3:
            del buf[pos : pos + int(rng.integers(1, 64))]
        elif op == 4:
            chunk = buf[pos : pos + int(rng.integers(1, 64))]
            buf[pos:pos] = chunk
        elif op == 5:
            buf[pos:pos] = rng.integers(0, 256, int(rng.integers(1, 32)), dtype=np.uint8).tobytes()
        elif op == 6 and corpus:
            other = corpus[int(rng.integers(0, len(corpus)))]
            cut = int(rng.integers(0, len(other) + 1))
            buf = buf[:pos] + bytearray(other[cut:])
        else:
            del buf[int(rng.integers(0, n + 1)) :]
    return bytes(buf)


# --------------------------------------------------------------------------- the check
def _alarm(_signum: int, _frame: object) -> None:
    raise Timeout


def check_image(image: ImageData) -> str | None:
    """What is wrong with a decoded image, or None."""
    for pixels, alpha in image.frames():
        if not isinstance(pixels, np.ndarray) or pixels.dtype != np.float32 or pixels.ndim != 3:
            return f"pixels {type(pixels).__name__} {getattr(pixels, 'dtype', None)} {getattr(pixels, 'shape', None)}"
        if pixels.shape[2] not in (1, 3) or pixels.shape != image.pixels.shape or 0 in pixels.shape:
            return f"frame shape {pixels.shape} (first {image.pixels.shape})"
        if not np.isfinite(pixels).all() or pixels.min() < 0 or pixels.max() > 1:
            return "pixels outside [0, 1] or not finite"
        if alpha is not None and (alpha.shape != pixels.shape[:2] or not np.isfinite(alpha).all()):
            return f"alpha {alpha.shape} for pixels {pixels.shape}"
    if image.height * image.width * image.frame_count > MAX_PIXELS:
        return f"decoded {image.width}x{image.height}x{image.frame_count}, above the pixel limit"
    return None


def run_one(data: bytes, fmt: str, time_limit: float | None = TIME_LIMIT) -> Finding | None:
    """Decode ``data`` as a ``fmt`` file; a Finding if the contract is broken. ``time_limit=None``
    sets no alarm (under libFuzzer, whose own ``-timeout`` uses SIGALRM)."""
    if time_limit is None:
        return _decode(data, fmt)
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, time_limit)
    start = time.perf_counter()
    try:
        found = _decode(data, fmt)
    except Timeout:
        found = Finding(fmt, "timeout", f"over {time_limit} s", data)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    elapsed = time.perf_counter() - start
    if found is None and elapsed > time_limit:  # inside a C decoder, which the alarm cannot stop
        found = Finding(fmt, "timeout", f"{elapsed:.1f} s", data)
    return found


def _decode(data: bytes, fmt: str) -> Finding | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = decode_image(data, "fuzz" + EXTENSIONS[fmt], max_pixels=MAX_PIXELS)
    except Timeout:
        raise
    except EnhanceError as exc:
        text = str(exc)
        return Finding(fmt, "multi-line error", text, data) if "\n" in text or not text.strip() else None
    except KeyboardInterrupt:
        raise
    except BaseException:  # noqa: BLE001 - the very thing we look for (a Rust panic is a BaseException)
        return Finding(fmt, "exception", traceback.format_exc(limit=-3), data)
    problem = check_image(image)
    return None if problem is None else Finding(fmt, "bad image", problem, data)


def fuzz(fmt: str, seconds: float, seed: int = 0, *, on_finding: Callable[[Finding], None] | None = None,
         max_runs: int | None = None) -> tuple[int, list[Finding]]:
    """Mutation-fuzz ``fmt`` for ``seconds`` (or ``max_runs`` inputs) from its seeds; (runs, findings)."""
    rng = np.random.default_rng(seed)
    corpus = seeds()[fmt]
    findings: list[Finding] = []
    runs, end = 0, time.perf_counter() + seconds
    for data in corpus:  # the seeds themselves must read
        runs += 1
        found = run_one(data, fmt)
        if found is not None:
            findings.append(found)
    while time.perf_counter() < end and (max_runs is None or runs < max_runs):
        parent = corpus[int(rng.integers(0, len(corpus)))]
        data = mutate(parent, rng, corpus)
        runs += 1
        found = run_one(data, fmt)
        if found is not None:
            findings.append(found)
            if on_finding is not None:
                on_finding(found)
    return runs, findings
