"""Run every benchmark, each in its own process, and print a summary (`make bench`).

    python bench/run_all.py            # full sizes (about two hours on a 2-core CPU)
    python bench/run_all.py --quick    # small samples, minutes: checks the plumbing only
    python bench/run_all.py head_phase partial_phase2   # a selection

Each benchmark prints one JSON line and appends it, with the machine and the commit, to
bench/results/results.jsonl (quick runs record nothing: they check the plumbing only). The
README's performance table is generated from that file: `python bench/report.py --write`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = [
    "head_phase",
    "ft_step",
    "partial_phase2",
    "time_to_90",
    "main_job",
    "tune_cache",
    "multi_fidelity",
    "quick_start",
    "cached_phase2",
    "phase2_epoch",
    "audio",
    "audio_tags",
]
QUICK = {
    "head_phase": ["--train-samples", "2000", "--val-samples", "500", "--test-samples", "2000"],
    "ft_step": ["--train-samples", "512", "--rounds", "2"],
    "partial_phase2": ["--train-samples", "2000", "--val-samples", "500", "--test-samples", "2000"],
    "time_to_90": [
        "--train-samples",
        "5000",
        "--val-samples",
        "500",
        "--test-samples",
        "2000",
        "--target",
        "0.85",
        "--guide-max-epochs",
        "2",
    ],
    "main_job": ["--train-samples", "5000", "--val-samples", "500", "--test-samples", "2000"],
    "tune_cache": ["--trials", "3", "--samples", "500"],
    "quick_start": ["--train-samples", "2000", "--epochs", "1", "1"],
    "cached_phase2": ["--train-samples", "2000", "--steps", "10"],
    "phase2_epoch": ["--train-samples", "2000", "--rounds", "1"],
    "audio": ["--data", "drums", "--set", "epochs=[2,1]"],
    "audio_tags": ["--clips", "1"],
    "multi_fidelity": [
        "--screen",
        "3",
        "--promote",
        "1",
        "--train-samples",
        "500",
        "--val-samples",
        "100",
        "--test-samples",
        "500",
        "--epochs",
        "1",
        "1",
        "--repeats",
        "1",
    ],
}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", choices=BENCHMARKS + [[]], default=[])
    p.add_argument("--quick", action="store_true", help="small samples (plumbing check)")
    args = p.parse_args()
    results = []
    for name in args.names or BENCHMARKS:
        extra = [*QUICK[name], "--record", "none"] if args.quick else []
        cmd = [sys.executable, str(HERE / f"{name}.py"), *extra]
        print(f"== {name}: {' '.join(cmd[1:])}", flush=True)
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE.parent)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if proc.returncode or not lines:
            print(proc.stdout[-2000:], proc.stderr[-4000:], sep="\n", file=sys.stderr)
            results.append({"bench": name, "error": proc.returncode})
            continue
        result = json.loads(lines[-1])
        print(lines[-1], flush=True)
        results.append(result)
    print("\nbenchmark        kerasft      keras        ratio    passed  load")
    for r in results:
        if "error" in r:
            print(f"{r['bench']:<16} failed (exit {r['error']})")
            continue
        ours = r.get("kerasft_s", r.get("wall_s"))
        plain = r.get("keras_s", "")
        ratio = r.get("ratio", "")
        print(
            f"{r['bench']:<16} {ours!s:<12} {plain!s:<12} {ratio!s:<8} "
            f"{r.get('passed', '')!s:<7} {r.get('load_avg_1m', '')}"
        )
    return int(any("error" in r for r in results))


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(main())
