"""Fuzz campaigns on the bytes -> image reader (``enhance.io.decode_image``), format by format.

    python tests/fuzz_readers.py --seconds 180                # seeded mutations (tests/fuzzing.py)
    python tests/fuzz_readers.py --seconds 180 --atheris      # coverage-guided (pip install -e ".[fuzz]")
    python tests/fuzz_readers.py --formats tiff dicom --out findings/
    python tests/fuzz_readers.py --atheris --runs 1000000 --seconds 36000   # a million per format

Every input must end in an image or a typed EnhanceError with a one-line message, within the
time limit. Inputs that do not are written to ``--out`` (FORMAT-KIND-HASH.bin and a .txt with the
traceback); fixed ones become regression tests in ``tests/data/fuzz/``. The summary (executions
and findings per format) is printed as JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))
fuzzing: Any = None  # tests/fuzzing.py, imported in main() (or under atheris' instrumentation)


def save(finding: Any, out: Path) -> Path:
    digest = hashlib.sha256(finding.data).hexdigest()[:12]
    path = out / f"{finding.fmt}-{finding.kind.replace(' ', '_')}-{digest}.bin"
    path.write_bytes(finding.data)
    path.with_suffix(".txt").write_text(finding.detail + "\n")
    return path


def mutation_campaign(fmt: str, seconds: float, seed: int, out: Path, runs: int | None) -> dict[str, object]:
    keys: dict[str, int] = {}

    def record(found: Any) -> None:
        if found.key() not in keys:
            print(f"  {fmt}: {found.kind}: {found.detail.splitlines()[-1][:150]} -> {save(found, out).name}", flush=True)
        keys[found.key()] = keys.get(found.key(), 0) + 1

    executions, findings = fuzzing.fuzz(fmt, seconds, seed, on_finding=record, max_runs=runs)
    for found in findings[: len(findings) - sum(keys.values())]:  # the seeds' own findings
        record(found)
    return {"executions": executions, "findings": len(findings), "distinct": keys}


def atheris_worker(fmt: str, argv: list[str]) -> None:
    """Run inside a subprocess: libFuzzer drives ``decode_image``; a broken contract raises. The
    readers' Python code (ours, Pillow's, pydicom's, tifffile's) is instrumented for coverage."""
    global fuzzing
    import atheris

    with atheris.instrument_imports(include=["enhance.io", "PIL", "pydicom", "tifffile"]):
        import fuzzing as module
    fuzzing = module

    def one(data: bytes) -> None:
        found = fuzzing.run_one(data, fmt, time_limit=None)  # libFuzzer's -timeout owns SIGALRM
        if found is not None:
            raise RuntimeError(f"{found.kind}: {found.detail}")

    atheris.Setup([sys.argv[0], *argv], one)
    atheris.Fuzz()


def atheris_campaign(fmt: str, seconds: float, seed: int, out: Path, runs: int | None) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as corpus:
        for i, data in enumerate(fuzzing.seeds()[fmt]):
            Path(corpus, f"seed{i}").write_bytes(data)
        args = [f"-max_total_time={int(seconds)}", f"-seed={seed + 1}", f"-timeout={int(fuzzing.TIME_LIMIT) + 5}",
                "-rss_limit_mb=6144", f"-artifact_prefix={out}/{fmt}-", "-print_final_stats=1",
                *([f"-runs={runs}"] if runs else []), corpus]
        env = dict(os.environ, RUST_BACKTRACE="0")
        proc = subprocess.run([sys.executable, __file__, "--atheris-worker", fmt, "--", *args],
                              capture_output=True, text=True, env=env, check=False)
    log = proc.stderr
    executions = next((int(line.rsplit(":", 1)[1]) for line in log.splitlines()
                       if line.startswith("stat::number_of_executed_units")), 0)
    crashed = proc.returncode != 0
    (out / f"{fmt}-atheris.log").write_text(log[-20000:])  # libFuzzer's coverage and speed lines, kept for the report
    if crashed:
        print(f"  {fmt}: atheris stopped (exit {proc.returncode}); see {fmt}-atheris.log", flush=True)
    return {"executions": executions, "findings": int(crashed), "exit": proc.returncode}


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--atheris-worker":
        atheris_worker(sys.argv[2], sys.argv[4:] if sys.argv[3:4] == ["--"] else sys.argv[3:])
        return 0
    global fuzzing
    import fuzzing as module

    fuzzing = module
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--formats", nargs="+", default=list(fuzzing.FORMATS), choices=fuzzing.FORMATS)
    parser.add_argument("--seconds", type=float, default=60.0, help="per format")
    parser.add_argument("--runs", type=int, default=None, help="stop a format after this many executions (and --seconds)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--atheris", action="store_true", help="coverage-guided, with atheris (the fuzz extra)")
    parser.add_argument("--out", type=Path, default=Path("fuzz-findings"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    summary = {}
    for fmt in args.formats:
        start = time.perf_counter()
        campaign = atheris_campaign if args.atheris else mutation_campaign
        result = campaign(fmt, args.seconds, args.seed, args.out, args.runs)
        result["seconds"] = round(time.perf_counter() - start, 1)
        summary[fmt] = result
        print(f"{fmt}: {result['executions']:,} executions, {result['findings']} findings", flush=True)
    print(json.dumps(summary, indent=1))
    return 1 if any(r["findings"] for r in summary.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
