"""The napari plugin: the widget's layers match what ``enhance``'s API gives, on a headless viewer.

Qt runs on the offscreen platform; napari's canvas also needs an OpenGL context, which pytest-xvfb
provides through Xvfb (the tests skip, saying so, where neither exists).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
napari = pytest.importorskip("napari")
pytest.importorskip("pytestqt")

import enhance  # noqa: E402
from conftest import smooth_rgb  # noqa: E402
from enhance.napari.reader import get_reader  # noqa: E402
from enhance.napari.work import geometry  # noqa: E402

CT = Path(__import__("pydicom").__file__).parent / "data" / "test_files" / "CT_small.dcm"


def test_the_manifest_names_the_widget_and_the_reader() -> None:
    from npe2 import PluginManifest

    manifest = PluginManifest.from_distribution("enhance")
    assert [w.display_name for w in manifest.contributions.widgets or []] == ["Enhance"]
    assert [r.command for r in manifest.contributions.readers or []] == ["enhance.read_dicom"]


def test_geometry_keeps_the_outer_edge_of_the_image() -> None:
    scale, translate = geometry([3.0, 1.5, 2.0], [0.0, 10.0, 20.0], 4)
    assert scale == [3.0, 0.375, 0.5]
    # the first pixel's outer edge: 10 - 1.5 / 2 before, the same after
    assert translate[1] - scale[1] / 2 == pytest.approx(10 - 0.75)
    assert translate[2] - scale[2] / 2 == pytest.approx(20 - 1.0)
    assert translate[0] == 0.0


def test_the_reader_opens_dicom_with_its_pixel_spacing(tmp_path: Path) -> None:
    assert get_reader(str(tmp_path / "photo.png")) is None
    reader = get_reader(str(CT))
    assert reader is not None
    [(data, meta, kind)] = reader(str(CT))
    ds = __import__("pydicom").dcmread(CT)
    assert kind == "image" and data.shape == (ds.Rows, ds.Columns) and data.dtype == np.uint16
    assert meta["scale"] == [float(v) for v in ds.PixelSpacing]
    folder = tmp_path / "series"
    folder.mkdir()
    for k in range(3):
        shutil.copy(CT, folder / f"slice{k}.dcm")
    [(stack, meta, _)] = get_reader(str(folder))(str(folder))  # type: ignore[misc]
    assert stack.shape == (3, ds.Rows, ds.Columns) and len(meta["scale"]) == 3


# --------------------------------------------------------------------------- the widget in a viewer
@pytest.fixture
def viewer(request: pytest.FixtureRequest, tiny_registry: Any) -> Any:
    from napari._vispy.utils.gl import get_gl_extensions

    try:
        get_gl_extensions()
    except AttributeError:  # PyOpenGL got no context: no X display for Qt's offscreen platform
        pytest.skip("no OpenGL context: install Xvfb (apt-get install xvfb); pytest-xvfb then starts it")
    # requested only now: napari's fixture, once set up, fails its teardown on a test skipped in setup
    return request.getfixturevalue("make_napari_viewer")()


@pytest.fixture
def widget(viewer: Any) -> Any:
    from enhance.napari.widget import EnhanceWidget

    w = EnhanceWidget(viewer)
    viewer.window.add_dock_widget(w, name="Enhance")
    return w


def _choose(w: Any, **values: Any) -> None:
    for name, value in values.items():
        control = getattr(w, name)
        if hasattr(control, "setCurrentText"):
            assert control.findText(str(value)) >= 0, (name, value)
            control.setCurrentText(str(value))
        elif hasattr(control, "setChecked"):
            control.setChecked(value)
        else:
            control.setValue(value)


def test_upscale_overlays_the_original_and_matches_the_api(viewer: Any, widget: Any) -> None:
    image = smooth_rgb(24, 32)
    viewer.add_image(image, name="photo", rgb=True, scale=(1.5, 2.0), translate=(10.0, 20.0))
    _choose(widget, image="photo", task="upscale", scale="2", device="cpu")
    assert widget.model.findText("tiny-sr-x2-gan") >= 0 and widget.model.findText("tiny-sr-x4-gan") < 0
    layer = widget.run(threaded=False)
    assert layer is not None and layer.name == "photo (upscale x2)"
    assert layer.data.shape == (48, 64, 3) and layer.data.dtype == np.uint8 and layer.rgb
    assert list(layer.scale) == [0.75, 1.0]
    assert list(layer.translate) == pytest.approx([10 - 0.375, 20 - 0.5])
    np.testing.assert_array_equal(layer.data, enhance.upscale(image, 2, device="cpu"))
    assert layer.metadata["enhance"]["models"] == ["tiny-sr-x2-gan"]
    assert widget.bar.value() == widget.bar.maximum()


def test_denoise_every_slice_of_a_stack_in_the_worker_thread(viewer: Any, widget: Any, qtbot: Any) -> None:
    stack = np.stack([smooth_rgb(20, 28, seed=k)[..., 0].astype(np.uint16) * 257 for k in range(3)])
    viewer.add_image(stack, name="stack", scale=(2.0, 0.5, 0.5))
    _choose(widget, image="stack", task="denoise", model="tiny-denoise", sigma=20.0, device="cpu")
    with qtbot.waitSignal(widget.finished, timeout=60_000) as done:
        widget.run()
    layer = done.args[0]
    assert layer.data.shape == stack.shape and layer.data.dtype == np.uint16
    assert list(layer.scale) == [2.0, 0.5, 0.5] and list(layer.translate) == [0.0, 0.0, 0.0]
    for k in range(3):
        np.testing.assert_array_equal(layer.data[k], enhance.denoise(stack[k], sigma=20, model="tiny-denoise",
                                                                     device="cpu"))
    qtbot.waitUntil(lambda: widget.run_button.isEnabled(), timeout=10_000)


def test_inpaint_with_a_labels_or_a_shapes_layer_as_the_mask(viewer: Any, widget: Any) -> None:
    image = smooth_rgb(32, 32)
    viewer.add_image(image, name="photo", rgb=True)
    labels = np.zeros((32, 32), np.int32)
    labels[10:14, 4:28] = 1
    viewer.add_labels(labels, name="scratch")
    _choose(widget, image="photo", task="inpaint", mask_layer="scratch", device="cpu")
    layer = widget.run(threaded=False)
    np.testing.assert_array_equal(layer.data, enhance.inpaint(image, labels > 0, device="cpu"))
    viewer.add_shapes([np.array([[5, 5], [5, 20], [12, 20], [12, 5]])], shape_type="polygon", name="box")
    _choose(widget, mask_layer="box")
    layer = widget.run(threaded=False)
    box = viewer.layers["box"].to_labels(labels_shape=(32, 32)) > 0
    assert box[8, 10] and not box[20, 10]
    np.testing.assert_array_equal(layer.data, enhance.inpaint(image, box, device="cpu"))


def test_restore_and_errors_in_the_widget(viewer: Any, widget: Any) -> None:
    image = smooth_rgb(24, 24)
    viewer.add_image(image, name="scan", rgb=True)
    _choose(widget, image="scan", task="restore", detect=False, device="cpu")
    layer = widget.run(threaded=False)
    np.testing.assert_array_equal(layer.data, enhance.restore(image, detect=False, device="cpu"))
    _choose(widget, task="inpaint", mask_layer="none")
    assert widget.run(threaded=False) is None
    assert widget.status.text() == "error: inpainting needs a mask layer (Labels or Shapes) that marks something"


def test_cancel_adds_no_layer(viewer: Any, widget: Any, qtbot: Any) -> None:
    viewer.add_image(np.stack([smooth_rgb(64, 64, seed=k)[..., 1] for k in range(6)]), name="stack")
    _choose(widget, image="stack", task="denoise", model="tiny-denoise", tile=32, device="cpu")
    widget.progressed.connect(lambda done, total: widget.cancel())  # here: at the first tile
    assert widget.run(threaded=False) is None and widget.status.text() == "cancelled"
    assert len(viewer.layers) == 1
    widget.progressed.disconnect()
    widget.progressed.connect(widget._show_progress)
    widget.run()
    widget.cancel()  # in the thread: before its first tile is done
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    assert widget.last_error == "cancelled" and len(viewer.layers) == 1


def test_napari_opens_dicom_through_the_plugin(viewer: Any, tmp_path: Path) -> None:
    folder = tmp_path / "series"
    folder.mkdir()
    for k in range(2):
        shutil.copy(CT, folder / f"slice{k}.dcm")
    [layer] = viewer.open(str(folder), plugin="enhance")
    assert layer.data.shape[0] == 2 and layer.data.dtype == np.uint16
    assert layer.scale[1] == pytest.approx(float(__import__("pydicom").dcmread(CT).PixelSpacing[0]))


def test_ct_values_keep_their_units() -> None:
    from enhance.napari.work import to_unit

    hu = np.array([[-1000, 0], [40, 3000]], np.int16)
    unit, back = to_unit(hu)
    assert unit.dtype == np.float32 and unit.min() == 0 and unit.max() == 1
    np.testing.assert_array_equal(back(unit), hu)
    half = np.array([[0.0, 0.5]], np.float16)
    assert to_unit(half)[0].dtype == np.float32  # float16 is not a dtype the library takes
