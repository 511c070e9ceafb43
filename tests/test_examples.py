"""Every script in examples/ runs (in a subprocess, against the tiny test models) and exits 0.

The subprocess sees the tiny models as an installed plugin (``tiny_models_plugin`` in conftest.py
puts a fake dist-info on its PYTHONPATH), and each script is pointed at one with ``--model``.
Scripts write only below the test's temporary folder (their working directory).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

#: Extra arguments per script; a new script runs with none until it is listed here.
ARGS: dict[str, list[str]] = {
    "api_upscale.py": ["--model", "tiny-sr-x2-gan", "--out", "up.png", "--device", "cpu"],
    "batch_denoise.py": ["--model", "tiny-denoise", "--out", "den", "--device", "cpu"],
    "make_example_images.py": ["--out", "made"],
}
SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py"))


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_runs(script: str, tmp_path: Path, tiny_models_plugin: Path) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tiny_models_plugin), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *ARGS.get(script, [])],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    check = CHECKS.get(script)
    if check:
        check(tmp_path)


def _check_upscale(tmp: Path) -> None:
    with Image.open(tmp / "up.png") as im:
        assert im.size == (256, 256) and im.mode == "RGB"


def _check_denoise(tmp: Path) -> None:
    assert sorted(p.name for p in (tmp / "den").iterdir()) == ["astronaut_small_denoised.png", "camera_16bit_denoised.png"]


def _check_images(tmp: Path) -> None:
    for name in ("astronaut_small.png", "camera_16bit.png"):
        made, shipped = (np.asarray(Image.open(d / name)) for d in (tmp / "made", EXAMPLES))
        assert made.dtype == shipped.dtype and np.array_equal(made, shipped), name


CHECKS = {"api_upscale.py": _check_upscale, "batch_denoise.py": _check_denoise, "make_example_images.py": _check_images}


def test_every_script_is_configured() -> None:
    assert set(SCRIPTS) == set(ARGS), "add new example scripts to ARGS (and CHECKS)"
