"""Plugins: the example plugin is discovered through its entry point; broken plugins are skipped.

Installing ``examples/plugin`` with pip would be slow and change the environment, so each test
puts a fake ``*.dist-info`` (METADATA + entry_points.txt) on ``sys.path``, which is all that
``importlib.metadata`` needs to see an installed distribution.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import write_fake_distribution
from enhance import registry
from enhance.cli import app
from enhance.engine import Enhancer
from enhance.registry import PluginWarning

PLUGIN = Path(__file__).resolve().parent.parent / "examples" / "plugin"


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """An empty 'site-packages' on sys.path with the example plugin's source importable."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(PLUGIN / "src"))
    monkeypatch.syspath_prepend(str(folder))
    registry.default_registry.cache_clear()
    yield folder
    registry.default_registry.cache_clear()
    for name in [m for m in sys.modules if m.startswith(("enhance_plugin_example", "broken_plugin"))]:
        del sys.modules[name]


def install_example(site: Path) -> None:
    entry = tomllib.loads((PLUGIN / "pyproject.toml").read_text())["project"]["entry-points"]["enhance.models"]
    write_fake_distribution(site, "enhance-plugin-example", entry)


def install_broken(site: Path) -> None:
    (site / "broken_plugin.py").write_text("raise RuntimeError('this plugin is broken')\n")
    (site / "wrong_plugin.py").write_text("def models():\n    return [42]\n")
    write_fake_distribution(
        site, "enhance-broken", {"broken": "broken_plugin:models", "wrong": "wrong_plugin:models"}
    )


def test_example_plugin_pyproject() -> None:
    meta = tomllib.loads((PLUGIN / "pyproject.toml").read_text())
    assert meta["project"]["name"] == "enhance-plugin-example"
    assert meta["project"]["entry-points"]["enhance.models"] == {"example": "enhance_plugin_example:models"}


def test_example_plugin_is_discovered_and_runs(site: Path) -> None:
    install_example(site)
    reg = registry.default_registry()
    spec = reg.get("example-x2-nearest")
    assert spec.source == "plugin:example" and spec.scale == 2
    img = np.random.default_rng(0).random((5, 7, 3)).astype(np.float32)
    out = Enhancer(spec, device="cpu", tile=0).enhance_rgb(img)
    assert np.allclose(out, img.repeat(2, 0).repeat(2, 1), atol=1e-6)  # nearest neighbour


def test_example_weights_are_reproducible(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(PLUGIN / "src"))
    import enhance_plugin_example
    from enhance_plugin_example.net import nearest_weights

    from enhance.weightstore import save_weights, sha256_file

    assert save_weights(nearest_weights(), tmp_path / "w.safetensors") == enhance_plugin_example.SHA256
    assert sha256_file(enhance_plugin_example.WEIGHTS) == enhance_plugin_example.SHA256


def test_broken_plugins_are_skipped_with_a_warning(site: Path) -> None:
    install_example(site)
    install_broken(site)
    with pytest.warns(PluginWarning) as caught:
        reg = registry.default_registry()
    messages = " | ".join(str(w.message) for w in caught)
    assert "'broken'" in messages and "this plugin is broken" in messages
    assert "'wrong'" in messages and "not ModelSpec" in messages
    assert "example-x2-nearest" in reg


def test_cli_models_with_broken_plugin(site: Path) -> None:
    install_example(site)
    install_broken(site)
    result = CliRunner().invoke(app, ["models"])
    assert result.exit_code == 0, result.output
    assert "example-x2-nearest" in result.stdout
    warnings_shown = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings_shown) == 2 and "this plugin is broken" in result.stderr
    assert "Traceback" not in result.output


def test_cli_upscale_with_plugin_model(site: Path, tmp_path: Path) -> None:
    from PIL import Image

    install_example(site)
    src = tmp_path / "a.png"
    Image.fromarray(np.arange(48, dtype=np.uint8).reshape(4, 4, 3) * 5).save(src)
    result = CliRunner().invoke(app, ["upscale", str(src), "-x", "2", "--model", "example-x2-nearest"])
    assert result.exit_code == 0, result.output
    out = np.asarray(Image.open(tmp_path / "a_x2.png"))
    assert np.array_equal(out, np.asarray(Image.open(src)).repeat(2, 0).repeat(2, 1))
