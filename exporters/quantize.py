"""Post-training quantization of exported models.

- :func:`quantize_int8`: static int8 in the QDQ format for the CPU (per-channel weights, MinMax
  activation ranges calibrated on representative tiles, see :mod:`enhance.exporters.calib`). The
  first convolutions (fed by the raw image) and the last one (writing the output; CompactSR's
  upconv) can be kept in float (``exclude_sensitive``). Measured on the shipped models, that buys
  no quality back for SR or denoising (Set5 x4 PSNR-Y -0.072 dB kept in float vs -0.071 dB all
  int8 for sr-x4-fidelity; CBSD68 sigma 25 -0.106 vs -0.103 dB for the denoiser) but costs speed on
  an idle 2-core machine (sr-x4-fidelity, 256 px input: 5.75 vs 7.12 output MP/s), so it is off for
  them; it is on for inpainting, where it does help (see :func:`quantize_int8`).
- :func:`convert_fp16`: float16 weights and activations for GPUs, float32 inputs and outputs.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

from enhance.spec import ModelSpec

from .calib import tile_pairs
from .graph_opt import rewrite_file, save_atomic, shape_skips_dequantize
from .onnx_export import INPUT_NAME, ExportError


def sensitive_convs(onnx_path: str | Path) -> list[str]:
    """Names of the Conv nodes fed by the graph input, and of the last Conv (in graph order)."""
    import onnx

    graph = onnx.load(str(onnx_path)).graph
    inputs = {i.name for i in graph.input}
    convs = [n for n in graph.node if n.op_type == "Conv"]
    if not convs:
        return []
    first = [n.name for n in convs if n.input and n.input[0] in inputs]
    names = first + [convs[-1].name]
    return list(dict.fromkeys(names))


class TileReader:
    """An ONNX Runtime ``CalibrationDataReader`` over a list of ``(1, C, h, w)`` float32 arrays."""

    def __init__(self, tiles: list[np.ndarray], input_name: str = INPUT_NAME) -> None:
        self._tiles = tiles
        self._name = input_name
        self._i = 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self._i >= len(self._tiles):
            return None
        self._i += 1
        return {self._name: self._tiles[self._i - 1]}

    def rewind(self) -> None:
        self._i = 0


def calibration_tiles(
    spec: ModelSpec, calib_dir: str | Path | None = None, n: int = 32, size: int = 64, seed: int = 0
) -> list[np.ndarray]:
    """Network inputs for calibration: LR tiles (SR), noisy tiles + sigma map, or image + mask."""
    return [p.input.numpy().astype(np.float32) for p in tile_pairs(spec, n, size, calib_dir, seed)]


def quantize_int8(
    onnx_path: str | Path,
    out_path: str | Path,
    spec: ModelSpec,
    *,
    calib_dir: str | Path | None = None,
    n_tiles: int = 32,
    tile: int | None = None,
    exclude_sensitive: bool | None = None,
) -> Path:
    """Static int8 QDQ quantization of ``onnx_path`` into ``out_path`` (per-channel weights).

    ``tile`` (calibration tile side) and ``exclude_sensitive`` default per model: 64 px and every conv
    quantized, except for inpainting models (a mask input), calibrated on 128 px tiles, so that their
    holes are more than a few pixels wide, with the first and last convs kept in float. Measured on
    the shipped inpaint model, hole PSNR against PyTorch: Kodak24 (6 images) strokes / boxes /
    scratches -0.48 / -0.65 / -0.08 dB with the general defaults, -0.28 / -0.29 / -0.05 with these;
    CBSD68 (10 images) -0.09 / -0.30 / -0.08 and -0.06 / -0.28 / -0.04.
    """
    masked = spec.condition == "mask"
    tile = tile or (128 if masked else 64)
    exclude_sensitive = masked if exclude_sensitive is None else exclude_sensitive
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class _Reader(TileReader, CalibrationDataReader):
        pass

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tiles = calibration_tiles(spec, calib_dir, n_tiles, tile)
    exclude = sensitive_convs(onnx_path) if exclude_sensitive else []
    staged = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    with tempfile.TemporaryDirectory() as tmp:
        prep = Path(tmp) / "prep.onnx"
        try:
            # ORT's symbolic shape inference does not finish on these dynamic graphs and then litters
            # the working directory (sym_shape_infer_temp.onnx + a .data file); ONNX's own suffices.
            quant_pre_process(str(onnx_path), str(prep), skip_symbolic_shape=True)
            rewrite_file(prep)  # a file exported by an older version may still hold slow PRelus
            quantize_static(
                str(prep),
                str(staged),
                _Reader(tiles),
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                nodes_to_exclude=exclude,
                calibration_providers=["CPUExecutionProvider"],
                extra_options={"CalibTensorRangeSymmetric": False},
            )
            rewrite_file(staged, lambda m: {"shape": shape_skips_dequantize(m)})
            staged.replace(out_path)
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ExportError(f"{out_path}: int8 quantization failed ({first})") from exc
        finally:
            if staged.exists():
                staged.unlink()
    return out_path


def convert_fp16(onnx_path: str | Path, out_path: str | Path) -> Path:
    """float16 copy of ``onnx_path`` for GPUs (inputs and outputs stay float32)."""
    import onnx
    from onnxconverter_common import float16

    model = onnx.load(str(onnx_path))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "float32 number ... will be truncated": tiny weights, expected
            half = float16.convert_float_to_float16(model, keep_io_types=True)
        onnx.checker.check_model(half)
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ExportError(f"{out_path}: fp16 conversion failed ({first})") from exc
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    return save_atomic(half, out_path)
