"""The picture of the napari widget in docs/: a viewer with the example photo, upscaled x2 by the dock widget.

    QT_QPA_PLATFORM=offscreen xvfb-run -a python docs/napari_screenshot.py [--out docs/napari_widget.png]

Headless: Qt's offscreen platform draws the window, an X display (Xvfb) gives the canvas OpenGL.
Runs the shipped model on the CPU (a second or two); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "napari_widget.png")
    ap.add_argument("--width", type=int, default=1100, help="window width in pixels")
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    import napari
    import numpy as np
    from PIL import Image

    from enhance.napari.widget import EnhanceWidget

    photo = np.asarray(Image.open(REPO / "examples" / "astronaut_small.png").convert("RGB"))
    viewer = napari.Viewer(show=False, title="enhance in napari")
    viewer.window.resize(args.width, 700)
    viewer.add_image(photo, name="astronaut_small", rgb=True)
    widget = EnhanceWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Enhance", area="right")
    widget.task.setCurrentText("upscale")
    widget.scale.setCurrentText("2")
    widget.device.setCurrentText("cpu")
    widget.run(threaded=False)
    viewer.layers["astronaut_small"].visible = False  # the result on top, the original in the list
    viewer.reset_view()
    shot = viewer.screenshot(canvas_only=False, flash=False)
    viewer.close()
    img = Image.fromarray(shot).convert("RGB")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    img.save(args.out, optimize=True)
    print(f"{args.out}: {img.width}x{img.height}, {args.out.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
