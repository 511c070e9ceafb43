"""An example ``enhance`` plugin: a tiny x2 nearest-neighbour "upscaler".

Installing this distribution (``pip install examples/plugin``) registers the entry point
``example = "enhance_plugin_example:models"`` in the group ``enhance.models``; ``enhance models``
then lists ``example-x2-nearest`` and ``enhance upscale -x 2 --model example-x2-nearest`` runs it.

A plugin ships its weights as safetensors with their sha256 (``enhance`` refuses unverified
weights); ``make_weights.py`` next to ``pyproject.toml`` regenerates the file and prints the sum.
"""

from __future__ import annotations

from pathlib import Path

from enhance.spec import ModelSpec
from enhance_plugin_example.net import NearestX2

WEIGHTS = Path(__file__).with_name("nearest_x2.safetensors")
SHA256 = "db02c46212f7d9b92ffe9a72123ae175870b4b1a969b9ee2ce5ccc95120f95cf"


def models() -> list[ModelSpec]:
    """The plugin's models (called by ``enhance`` through the entry point)."""
    return [
        ModelSpec(
            name="example-x2-nearest",
            task="upscale",
            scale=2,
            build=NearestX2,
            weights=WEIGHTS,
            sha256=SHA256,
            licence="MIT",
            training_data="none (fixed weights: nearest-neighbour copy)",
            description="example plugin: x2 nearest-neighbour upscaling as a 1x1 conv + pixel shuffle",
            variant="default",
            tile_overlap=4,
            source="builtin",  # the registry replaces this with plugin:<entry point name>
        )
    ]
