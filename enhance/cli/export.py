"""The ``export`` command: a model to ONNX, optionally pruned, int8-quantized or fp16."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from enhance.cli.report import error, plugin_warnings, stderr_console
from enhance.errors import EnhanceError


def _check_ratio(value: Optional[float]) -> Optional[float]:
    if value is not None and not 0.0 < value < 1.0:
        raise typer.BadParameter("must be between 0 and 1 (the fraction of channels to remove)")
    return value


def export(
    model: Annotated[str, typer.Argument(help="Model name (see 'enhance models').", show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output .onnx file.", show_default=False)],
    int8: Annotated[bool, typer.Option("--int8", help="Static int8 quantization (QDQ) for the CPU.")] = False,
    calib: Annotated[
        Optional[Path],
        typer.Option(
            "--calib", exists=True, file_okay=False,
            help="Folder of images for int8 calibration and the pruning fine-tune (default: built-in photos).",
        ),
    ] = None,
    fp16: Annotated[bool, typer.Option("--fp16", help="float16 weights for GPUs (float32 inputs and outputs).")] = False,
    prune: Annotated[
        Optional[float],
        typer.Option("--prune", callback=_check_ratio, help="Remove this fraction of channels (e.g. 0.4), then fine-tune."),
    ] = None,
    finetune_steps: Annotated[int, typer.Option("--finetune-steps", min=0, help="Distillation steps after pruning.")] = 300,
    opset: Annotated[int, typer.Option("--opset", min=11, max=21, help="ONNX opset.")] = 17,
) -> None:
    """Export a model to ONNX, check it against PyTorch and print the error."""
    if int8 and fp16:
        raise typer.BadParameter("choose --int8 (CPU) or --fp16 (GPU), not both", param_hint="'--int8' / '--fp16'")
    if calib is not None and not (int8 or prune is not None):
        raise typer.BadParameter("--calib is only used with --int8 or --prune", param_hint="'--calib'")
    console = stderr_console()
    try:
        with plugin_warnings(console):
            _export(model, output, int8, calib, fp16, prune, finetune_steps, opset)
    except EnhanceError as exc:
        error(console, str(exc))
        raise typer.Exit(code=1) from None
    except (OSError, ValueError, RuntimeError) as exc:
        error(console, f"{output}: {(str(exc).strip().splitlines() or [type(exc).__name__])[0]}")
        raise typer.Exit(code=1) from None


def _export(
    model: str, output: Path, int8: bool, calib: Optional[Path], fp16: bool,
    prune: Optional[float], finetune_steps: int, opset: int,
) -> None:
    import tempfile

    from enhance.api import spec_by_name
    from enhance.exporters.calib import mean_psnr, tile_pairs
    from enhance.exporters.onnx_export import compare, export_onnx, input_channels, sample_inputs
    from enhance.onnx_backend import OrtRunner
    from enhance.registry import build_model

    spec = spec_by_name(model)
    net = build_model(spec).eval()
    say = typer.echo
    if prune is not None:
        from enhance.exporters.prune import prune_and_finetune

        net, rep = prune_and_finetune(net, spec, prune, finetune_steps, calib_dir=calib)
        say(
            f"pruned {prune:.0%} of channels: params {rep.params_before:,} -> {rep.params_after:,}, "
            f"MACs/64px tile {rep.macs_before / 1e9:.2f} G -> {rep.macs_after / 1e9:.2f} G "
            f"(-{rep.mac_reduction:.0%}); PSNR {rep.psnr_before:.2f} -> {rep.psnr_pruned:.2f} (pruned) "
            f"-> {rep.psnr_after:.2f} dB after {rep.steps} fine-tune steps"
        )
    channels = input_channels(spec)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = output if not (int8 or fp16) else Path(tmp) / "fp32.onnx"
        export_onnx(net, fp32, opset=opset, channels=channels)
        err = compare(net, fp32)
        say(f"fp32 ONNX: max abs error vs PyTorch {err:.2e}")
        if err > 1e-4:
            raise EnhanceError(f"{output}: ONNX output differs from PyTorch by {err:.2e} (> 1e-4)")
        if int8 or fp16:
            from enhance.exporters.quantize import convert_fp16, quantize_int8

            if int8:  # calibrated on photos: judge it on a photo crop, as the Enhancer returns it
                quantize_int8(fp32, output, spec, calib_dir=calib)
                photo = sample_inputs(spec, sizes=(64,))[-1:]
                err = compare(net, output, photo, clamp=True)
                say(f"int8 ONNX: max abs error vs PyTorch {err:.2e} (photo crop, output clamped to [0, 1])")
                pairs = tile_pairs(spec, 8, 64, seed=12345)
                ref = "PyTorch, pruned" if prune is not None else "PyTorch"
                before = mean_psnr(net, pairs)
                after = mean_psnr(OrtRunner(spec, output, "cpu"), pairs)
                say(f"PSNR on built-in photo tiles: {before:.2f} dB ({ref}) -> {after:.2f} dB (int8), {after - before:+.2f} dB")
            else:
                convert_fp16(fp32, output)
                say(f"fp16 ONNX: max abs error vs PyTorch {compare(net, output):.2e}")
    from enhance.exporters.onnx_export import stamp_metadata

    precision = "int8" if int8 else "fp16" if fp16 else "fp32"
    stamp_metadata(output, spec, precision=precision, **({"pruned": f"{prune:g}"} if prune is not None else {}))
    usage = f"enhance {spec.task} IMAGE" + (" --mask MASK" if spec.task == "inpaint" else "") + f" --onnx {output}"
    say(f"wrote {output} (run it with: {usage})")


def register(app: typer.Typer) -> None:
    """Add ``export`` to ``app``."""
    app.command("export")(export)
