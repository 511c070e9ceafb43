"""The napari dock widget: pick an image layer, a task, a model and its settings, run, get a new layer.

The work (:func:`enhance.napari.work.enhance_layer`) runs in a napari worker thread so the viewer
stays responsive; tile progress comes back through a Qt signal (queued to the GUI thread) and
Cancel stops the work at the next tile. The result is a new layer: upscaled layers get a smaller
``scale`` and a shifted ``translate`` so they lie exactly over the original.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtCore import Signal
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from enhance.api import list_models
from enhance.engine import MIN_TILE
from enhance.errors import EnhanceError
from enhance.napari.work import TASKS, Cancelled, Outcome, Settings, WidgetTask, enhance_layer, geometry

if TYPE_CHECKING:
    import napari

AUTO = "auto (by image)"


class EnhanceWidget(QWidget):  # type: ignore[misc]
    """Upscale, denoise, inpaint (mask from a Labels or Shapes layer) or restore an image layer."""

    #: tiles done, tiles total (emitted from the worker thread)
    progressed = Signal(int, int)
    #: the new layer, once it is in the viewer
    finished = Signal(object)

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self._cancel = threading.Event()
        self.worker: Any = None
        self.last_error: str | None = None

        self.image = QComboBox()
        self.task = QComboBox()
        self.task.addItems(list(TASKS))
        self.scale = QComboBox()
        self.model = QComboBox()
        self.mask_layer = QComboBox()
        self.strength = QDoubleSpinBox()
        self.strength.setRange(0.0, 5.0)
        self.strength.setSingleStep(0.1)
        self.strength.setValue(1.0)
        self.strength.setToolTip("Denoising: below 1 keeps part of the noise (0.5: half), above 1 cleans harder on strong noise")
        self.sigma = QDoubleSpinBox()
        self.sigma.setRange(0.0, 255.0)
        self.sigma.setSpecialValueText("estimate")  # 0 = estimate the noise level, then x strength
        self.sigma.setToolTip("Denoising: noise level on 0-255; 'estimate' measures it")
        self.tile = QSpinBox()
        self.tile.setRange(MIN_TILE - 1, 8192)
        self.tile.setSpecialValueText("auto")  # the minimum stands for 'from free memory'
        self.tile.setValue(MIN_TILE - 1)
        self.tile.setToolTip("Input pixels per tile side: big images run tile by tile")
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "cuda"])
        self.detect = QCheckBox("find scratches and dust")
        self.detect.setChecked(True)
        self.run_button = QPushButton("Run")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.status = QLabel("")
        self.status.setWordWrap(True)

        form = QFormLayout()
        form.addRow("image", self.image)
        form.addRow("task", self.task)
        form.addRow("scale", self.scale)
        form.addRow("model", self.model)
        form.addRow("mask", self.mask_layer)
        form.addRow("strength", self.strength)
        form.addRow("sigma", self.sigma)
        form.addRow("tile", self.tile)
        form.addRow("device", self.device)
        form.addRow("", self.detect)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        box = QVBoxLayout(self)
        box.addLayout(form)
        box.addLayout(buttons)
        box.addWidget(self.bar)
        box.addWidget(self.status)
        box.addStretch(1)

        self.task.currentTextChanged.connect(self._task_changed)
        self.scale.currentTextChanged.connect(lambda _: self._fill_models())
        self.run_button.clicked.connect(lambda: self.run())
        self.cancel_button.clicked.connect(self.cancel)
        self.progressed.connect(self._show_progress)
        for event in (self.viewer.layers.events.inserted, self.viewer.layers.events.removed):
            event.connect(lambda _: self._fill_layers())
        self._fill_layers()
        self._task_changed(self.task.currentText())

    # ------------------------------------------------------------------ choices
    def _fill_layers(self) -> None:
        from napari.layers import Image, Labels, Shapes

        keep_image, keep_mask = self.image.currentText(), self.mask_layer.currentText()
        self.image.clear()
        self.image.addItems([layer.name for layer in self.viewer.layers if isinstance(layer, Image)])
        self.mask_layer.clear()
        self.mask_layer.addItem("none")
        self.mask_layer.addItems([layer.name for layer in self.viewer.layers if isinstance(layer, (Labels, Shapes))])
        for combo, keep in ((self.image, keep_image), (self.mask_layer, keep_mask)):
            if combo.findText(keep) >= 0:
                combo.setCurrentText(keep)

    def _task_changed(self, task: str) -> None:
        self.scale.blockSignals(True)
        self.scale.clear()
        self.scale.addItems(["2", "4"] if task == "upscale" else ["none", "2", "4"] if task == "restore" else ["-"])
        self.scale.blockSignals(False)
        self.scale.setEnabled(task in ("upscale", "restore"))
        self.mask_layer.setEnabled(task in ("inpaint", "restore"))
        self.detect.setEnabled(task == "restore")
        self.strength.setEnabled(task in ("denoise", "restore"))
        self.sigma.setEnabled(task in ("denoise", "restore"))
        self._fill_models()

    def _fill_models(self) -> None:
        task = self.task.currentText()
        self.model.clear()
        self.model.addItem(AUTO)
        if task == "restore":  # restore chains the default model of each step
            self.model.setEnabled(False)
            return
        self.model.setEnabled(True)
        scale = self._scale()
        for spec in list_models(task):  # type: ignore[arg-type]
            if task != "upscale" or spec.scale == scale:
                self.model.addItem(spec.name)

    def _scale(self) -> int:
        text = self.scale.currentText()
        return int(text) if text.isdigit() else 0

    def settings(self) -> Settings:
        """The choices on screen."""
        task: WidgetTask = self.task.currentText()  # type: ignore[assignment]
        model = self.model.currentText()
        return Settings(
            task=task,
            model=None if model in ("", AUTO) else model,
            scale=self._scale(),
            strength=self.strength.value(),
            sigma=self.sigma.value() or None,
            tile="auto" if self.tile.value() < MIN_TILE else self.tile.value(),
            device=self.device.currentText(),
            detect=self.detect.isChecked(),
        )

    # ------------------------------------------------------------------ running
    def _mask_data(self, shape: tuple[int, ...]) -> np.ndarray | None:
        """The chosen Labels layer's data, or the chosen Shapes drawn as a mask of ``shape``."""
        from napari.layers import Shapes

        name = self.mask_layer.currentText()
        if not self.mask_layer.isEnabled() or name in ("", "none"):
            return None
        layer = self.viewer.layers[name]
        if isinstance(layer, Shapes):
            dims = shape[-layer.ndim :] if layer.ndim <= len(shape) else shape
            return np.asarray(layer.to_labels(labels_shape=dims)) > 0
        return np.asarray(layer.data)

    def run(self, *, threaded: bool = True) -> Any:
        """Run on the chosen layer: in a worker thread (returns the worker), or here and now
        (``threaded=False``, returns the new layer or None)."""
        name = self.image.currentText()
        if not name:
            self._fail("open an image first")
            return None
        layer = self.viewer.layers[name]
        data = np.asarray(layer.data)
        settings = self.settings()
        try:
            mask = self._mask_data(data.shape[:-1] if layer.rgb else data.shape)
        except (EnhanceError, ValueError) as exc:
            self._fail(str(exc))
            return None
        self._cancel.clear()
        self.last_error = None
        self.bar.setValue(0)
        self.status.setText(f"{settings.task}: {name} ...")
        args = (data, settings)
        kwargs = {"rgb": layer.rgb, "mask": mask, "progress": self.progressed.emit, "cancel": self._cancel}
        if not threaded:
            try:
                return self._add(layer, settings, enhance_layer(*args, **kwargs))
            except EnhanceError as exc:
                self._failed(exc)
                return None
        from napari.qt.threading import create_worker

        # errors are ours to show (one line in the widget): with an 'errored' handler given here,
        # the worker does not also re-raise them in the GUI thread
        handlers = {"returned": lambda outcome: self._add(layer, settings, outcome), "errored": self._failed,
                    "finished": self._idle}
        self.worker = worker = create_worker(enhance_layer, *args, **kwargs, _connect=handlers, _start_thread=False)
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        worker.start()
        return worker

    def cancel(self) -> None:
        """Stop the running job at its next tile; no layer is added."""
        self._cancel.set()
        self.status.setText("cancelling ...")

    def _show_progress(self, done: int, total: int) -> None:
        self.bar.setValue(int(1000 * done / max(total, 1)))

    def _add(self, layer: Any, settings: Settings, outcome: Outcome) -> Any:
        scale, translate = geometry(layer.scale, layer.translate, outcome.factor)
        label = settings.task + (f" x{outcome.factor}" if outcome.factor > 1 else "")
        kwargs: dict[str, Any] = {
            "name": f"{layer.name} ({label})",
            "scale": scale,
            "translate": translate,
            "rgb": layer.rgb,
            "metadata": {"enhance": {"task": settings.task, "models": outcome.models, "factor": outcome.factor}},
        }
        if not layer.rgb:
            kwargs["colormap"] = layer.colormap.name
            kwargs["contrast_limits"] = layer.contrast_limits
        new = self.viewer.add_image(outcome.data, **kwargs)
        self.bar.setValue(1000)
        self.status.setText(f"done: {new.name} ({', '.join(outcome.models) or 'no model'})")
        self.finished.emit(new)
        return new

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, Cancelled):
            self.last_error = "cancelled"
            self.status.setText("cancelled")
            self.bar.setValue(0)
        elif isinstance(exc, EnhanceError):
            self._fail(str(exc))
        else:  # a bug: one line in the widget, not a traceback dialog
            self._fail(f"internal error: {type(exc).__name__}: {exc}")

    def _fail(self, message: str) -> None:
        self.last_error = message
        self.status.setText(f"error: {message}")

    def _idle(self) -> None:
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.worker = None


__all__ = ["EnhanceWidget"]
