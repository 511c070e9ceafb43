"""The README stays true: its model table is the registry's, its Python snippets run, its first
command works."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import enhance
from enhance.cli.models import markdown_table
from enhance.registry import default_registry

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_model_table_matches_the_registry_and_manifest() -> None:
    m = re.search(r"<!-- models:begin[^>]*-->\n(.*?)<!-- models:end -->", README, re.S)
    assert m, "README lost its model table markers"
    expected = markdown_table(enhance.list_models(), default_registry())
    assert m.group(1) == expected, "regenerate the table with `enhance models --markdown`"


def test_python_snippets_run(tmp_path: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    assert blocks
    env = {**os.environ, "ENHANCE_CACHE": str(tmp_path / "cache")}
    for code in blocks:
        res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env,
                             timeout=300)
        assert res.returncode == 0, f"README snippet failed:\n{code}\n{res.stderr[-2000:]}"


def test_the_first_command_works(tmp_path: Path) -> None:
    first = re.search(r"```sh\n(.*?)\n```", README, re.S)
    assert first and first.group(1).startswith("pip install . && enhance upscale ")
    args = first.group(1).split("&& ", 1)[1].split()
    out = tmp_path / "out.png"
    args[args.index("-o") + 1] = str(out)
    exe = Path(sys.executable).with_name("enhance")
    if not exe.exists():
        pytest.skip("the enhance script is not installed next to this Python")
    res = subprocess.run([str(exe), *args[1:]], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert out.is_file() and out.stat().st_size > 0
