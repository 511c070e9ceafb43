"""``python -m enhance.training {sr,pix2pix,detector} --config FILE.toml [--set key=value ...]``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from enhance.errors import EnhanceError


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``key=value`` pairs; values are parsed as JSON when possible (numbers, lists, booleans)."""
    out: dict[str, Any] = {}
    for item in items:
        key, _, raw = item.partition("=")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


def run(kind: str, config: str | None, overrides: dict[str, Any]) -> dict[str, Any]:
    from .config import Pix2PixConfig, SRConfig, from_dict, load_config
    from .loop import shutdown_distributed

    try:
        if kind == "sr":
            from .sr import SRTrainer

            cfg = load_config(SRConfig, config, overrides) if config else from_dict(SRConfig, overrides)
            return SRTrainer(cfg).fit()
        if kind == "detector":
            from .detector import DetectorConfig, DetectorTrainer

            dcfg = load_config(DetectorConfig, config, overrides) if config else from_dict(DetectorConfig, overrides)
            return DetectorTrainer(dcfg).fit()
        from .pix2pix import Pix2PixTrainer

        pcfg = load_config(Pix2PixConfig, config, overrides) if config else from_dict(Pix2PixConfig, overrides)
        return Pix2PixTrainer(pcfg).fit()
    finally:
        shutdown_distributed()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m enhance.training")
    ap.add_argument("kind", choices=["sr", "pix2pix", "detector"])
    ap.add_argument("--config", help="TOML file (see training/configs/)")
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="override top-level keys")
    args = ap.parse_args(argv)
    try:
        result = run(args.kind, args.config, parse_overrides(args.set))
    except EnhanceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
