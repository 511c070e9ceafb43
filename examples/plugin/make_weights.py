"""Regenerate ``src/enhance_plugin_example/nearest_x2.safetensors`` and print its sha256.

    python examples/plugin/make_weights.py [--out FILE]

The sum must match ``SHA256`` in ``src/enhance_plugin_example/__init__.py``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE / "src"))

from enhance.weightstore import save_weights  # noqa: E402
from enhance_plugin_example.net import nearest_weights  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description="write the example plugin's weights")
    default = HERE / "src" / "enhance_plugin_example" / "nearest_x2.safetensors"
    parser.add_argument("--out", type=Path, default=default)
    args = parser.parse_args()
    print(save_weights(nearest_weights(), args.out))


if __name__ == "__main__":
    main()
