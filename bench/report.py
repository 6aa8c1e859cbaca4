"""The README's benchmark tables, generated from the recorded runs in `bench/results/`.

Every benchmark appends its JSON line, with the machine, versions and git commit, to
`bench/results/results.jsonl` (`_common.emit`). Each table row below names a benchmark and
the arguments its run must have had; the row shows the newest recorded run that matches, or
says that none is recorded. The README holds the tables between `<!-- bench:NAME -->` and
`<!-- /bench:NAME -->` lines; the test suite checks they match this script's output.

    python bench/report.py            # print the tables
    python bench/report.py --write    # rewrite them in README.md
    python bench/report.py --check    # exit 1 if README.md's tables are stale
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "results.jsonl"
README = ROOT / "README.md"
NONE = "no recorded run yet"


def pct(value) -> str:
    return "?" if value is None else f"{100 * value:.2f}%"


def _head_phase(r):
    return (
        f"{r['kerasft_s']:.0f} s, test {pct(r['kerasft_acc'])}",
        f"{r['keras_s']:.0f} s, test {pct(r['keras_acc'])}",
        f"{r['ratio']:.1f}x, {r['acc_diff_pt']:+.2f} pt",
    )


def _ft_step(r):
    s = r["ratio_spread"]
    note = "; spread exceeds effect: no difference shown" if r["spread_exceeds_effect"] else ""
    return (
        f"{r['kerasft_img_s']:.1f} img/s",
        f"{r['keras_img_s']:.1f} img/s",
        f"{r['ratio']:.2f} (rounds {s['min']:.2f}..{s['max']:.2f}{note})",
    )


def _partial_phase2(r):
    return (
        f"{r['kerasft_epoch_s']:.1f} s (cache build {r['kerasft_cache_build_s']:.0f} s, once)",
        f"{r['keras_epoch_s']:.1f} s",
        f"{r['ratio']:.2f}x",
    )


def _time_to_90(r):
    ours = f"{r['kerasft_s']:.0f} s (test {pct(r['kerasft_test_acc'])})"
    if not r["kerasft_reached"]:
        ours = f"not reached in {r['kerasft_s']:.0f} s"
    if r["keras_reached"]:
        plain = f"{r['keras_s']:.0f} s (test {pct(r['keras_test_acc'])})"
        ratio = f"{r['ratio']:.2f}x"
    else:
        plain = f"not reached within {r['keras_s']:.0f} s (best val {pct(r['keras_best_val_acc'])})"
        ratio = f">= {r['ratio']:.2f}x (cap)"
    return ours, plain, ratio


def _main_job(r):
    ours = f"{pct(r['test_accuracy'])} in {r['wall_s']:.0f} s"
    if "keras_test_accuracy" not in r:
        return ours, "(not run)", ""
    return (
        ours,
        f"{pct(r['keras_test_accuracy'])} in the same {r['kerasft_train_s']:.0f} s of training",
        f"{r['acc_diff_pt']:+.2f} pt ({r['ratio']:.2f}x the errors)",
    )


def _tune_cache(r):
    noise = "same best within noise" if r["best_within_noise"] else "best differs beyond noise"
    return (
        f"{r['kerasft_s']:.0f} s ({r['kerasft_s_per_trial']:.1f} s a trial), "
        f"best val {r['kerasft_best_val_accuracy']:.3f}",
        f"{r['keras_s']:.0f} s ({r['keras_tuner_s_per_trial']:.0f} s a trial), "
        f"best val {r['keras_tuner_best_val_accuracy']:.3f}",
        f"{r['ratio']:.1f}x, {noise} (+-{r['noise_bound']:.3f})",
    )


def _multi_fidelity(r):
    n = len(r["repeats"])
    return (
        f"{r['kerasft_s']:.0f} s, test {pct(r['multi_fidelity_test_acc_mean'])}",
        f"{r['keras_s']:.0f} s ({r['random_trials_mean']:.1f} full trials), "
        f"test {pct(r['random_test_acc_mean'])}",
        f"test {r['test_acc_diff_pt_mean']:+.2f} +- {r['test_acc_diff_pt_sd']:.2f} pt, "
        f"val {r['val_diff_pt_mean']:+.2f} +- {r['val_diff_pt_sd']:.2f} pt ({n} seeds)",
    )


def _streaming_cache(r):
    return (
        f"{r['cache_build_images_per_s']:.0f} img/s, peak RSS {r['cache_build_peak_rss_gb']:.2f} GB "
        f"(raw images {r['raw_uint8_gb']:.1f} GB; shards {r['shards_gb']:.1f} GB on disk); "
        f"then both phases from the shards, test {pct(r['test_accuracy'])}",
        f"{r['baseline_images_per_s']:.0f} img/s (`image_dataset_from_directory`, "
        f"{r['baseline_images']} files), peak RSS {r['baseline_peak_rss_gb']:.2f} GB",
        f"{r['speedup_vs_baseline']:.2f}x",
    )


def _phase2_epoch(r):
    before, now = r["sides"]["before"], r["sides"]["now"]
    return (
        f"{now['median_epoch_s']:.1f} s at {now['median_cpu_pct']:.0f}% CPU "
        f"(test {pct(now['test_accuracy'][-1])})",
        f"{before['median_epoch_s']:.1f} s at {before['median_cpu_pct']:.0f}% CPU "
        f"(test {pct(before['test_accuracy'][-1])}), the runner before",
        f"{r['speedup']:.2f}x (batches alone {r['batch_speedup']:.2f}x)",
    )


def _quick_start(r):
    ours = f"{pct(r['test_accuracy'])} in {r['kerasft_s']:.0f} s"
    if "keras_test_accuracy" not in r:
        return ours, "(not run)", ""
    return (
        ours,
        f"{pct(r['keras_test_accuracy'])} in the same time",
        f"{r['ratio']:.2f}x the errors",
    )


def _text(r):
    ours, base = r["kerasft"], r["baseline_tfidf_lr"]
    return (
        f"{pct(ours['test_accuracy'])} / {ours['test_macro_f1']:.3f} in {ours['wall_s'] / 60:.1f} "
        f"min (phase 1 with the cache build {ours['phase_1_s']:.0f} s, phase 2 "
        f"{ours['phase_2_s']:.0f} s at {ours['phase_2_texts_per_s']:.1f} texts/s, test "
        f"{ours['test_texts_per_s']:.1f} texts/s; {r['sequence_length']} tokens)",
        f"{pct(base['test_accuracy'])} / {base['test_macro_f1']:.3f} in {base['train_s']:.0f} s "
        f"(C={base['C']:g})",
        f"{(ours['test_accuracy'] - base['test_accuracy']) * 100:+.2f} pt / "
        f"{ours['test_macro_f1'] - base['test_macro_f1']:+.3f}",
    )


def _audio(name):
    """The cells of `name`'s row of an audio record (one record holds both sets)."""

    def cells(r):
        one = r["sets"][name]
        ours, base = one["kerasft"], one["baseline_mfcc_lr"]
        return (
            f"{pct(ours['test_accuracy'])} / {ours['test_macro_f1']:.3f} in "
            f"{ours['wall_s']:.0f} s (phase 1 with the cache build {ours['phase_1_s']:.0f} s, "
            f"phase 2 {ours['phase_2_s']:.0f} s at {ours['phase_2_clips_per_s']:.1f} clips/s; "
            f"{one['test_clips']} test clips of {one['clip_seconds']:g} s)",
            f"{pct(base['test_accuracy'])} / {base['test_macro_f1']:.3f} in "
            f"{base['train_s']:.0f} s (C={base['C']:g})",
            f"{(ours['test_accuracy'] - base['test_accuracy']) * 100:+.2f} pt / "
            f"{ours['test_macro_f1'] - base['test_macro_f1']:+.3f}",
        )

    return cells


# (table, what and command, bench, arguments the run must have had, cells, target)
ROWS = [
    (
        "quick_start",
        "the Quick start block above, 60,000 images (`python bench/quick_start.py`)",
        "quick_start",
        {"train_samples": None, "image_size": None, "epochs": None, "baseline": "on"},
        _quick_start,
        ">= 92% in < 8 min",
    ),
    (
        "performance",
        "head phase, 10 epochs, 10k images at 96 px, cache build included "
        "(`python bench/head_phase.py`)",
        "head_phase",
        {"train_samples": 10_000, "image_size": 96, "epochs": 10},
        _head_phase,
        ">= 8x, +-0.5 pt",
    ),
    (
        "performance",
        "whole backbone unfrozen, training images/s at 96 px, median of 7 alternating rounds "
        "(`python bench/ft_step.py`)",
        "ft_step",
        {"image_size": 96, "rounds": 7},
        _ft_step,
        ">= 0.97",
    ),
    (
        "performance",
        "phase 2, top 2 blocks unfrozen, s per epoch, 10k images at 96 px "
        "(`python bench/partial_phase2.py`)",
        "partial_phase2",
        {"train_samples": 10_000, "image_size": 96},
        _partial_phase2,
        ">= 2x",
    ),
    (
        "performance",
        "the default job's phase 2 on the cached runner, median s per epoch, 20k images at "
        "64 px, now (fast kernels, feature batches without the autotuner, one trace of the first step) vs before, in turns "
        "(`python bench/phase2_epoch.py`)",
        "phase2_epoch",
        {"train_samples": 20_000, "image_size": 64, "rounds": 2},
        _phase2_epoch,
        ">= 1.3x, >= 180% CPU",
    ),
    (
        "performance",
        "time to 90% validation accuracy, 55k images, both at 64 px: the default recipe vs "
        "the guide's (head, then the whole backbone at 1e-5), guide capped at 6x "
        "(`python bench/time_to_90.py`)",
        "time_to_90",
        {"train_samples": 55_000, "image_size": 64, "guide_image_size": None, "cap_factor": 6.0},
        _time_to_90,
        ">= 3x",
    ),
    (
        "performance",
        "the same, the guide at its usual 96 px (`python bench/time_to_90.py "
        "--guide-image-size 96`)",
        "time_to_90",
        {"train_samples": 55_000, "image_size": 64, "guide_image_size": 96, "cap_factor": 6.0},
        _time_to_90,
        ">= 3x",
    ),
    (
        "performance",
        "20-trial head-phase search, 5,000 images at 96 px, 3 epochs a trial, vs plain "
        "KerasTuner (`python bench/tune_cache.py`)",
        "tune_cache",
        {"train_samples": 5000, "trials": 20, "image_size": 96},
        _tune_cache,
        ">= 10x, same best",
    ),
    (
        "performance",
        "the same with 2,000 images (`python bench/tune_cache.py --train-samples 2000`)",
        "tune_cache",
        {"train_samples": 2000, "trials": 20, "image_size": 96},
        _tune_cache,
        "(fixed per-trial costs dominate)",
    ),
    (
        "performance",
        "multi-fidelity search (16 screened on the head phase, 3 promoted to the full recipe; "
        "5,000 images, 64 px) vs random search in the same wall time, both from a cold cache, "
        "3 seeds (`python bench/multi_fidelity.py`)",
        "multi_fidelity",
        {"train_samples": 5000, "screen": 16, "promote": 3, "repeats": 3},
        _multi_fidelity,
        "(report)",
    ),
    (
        "performance",
        "feature-cache build streaming 57,000 JPEG files at 224 px from class folders into disk "
        "shards (MobileNet up to block 11), vs Keras's folder loader feeding the same frozen "
        "layers (`python bench/streaming_cache.py`)",
        "streaming_cache",
        {"epochs": [1, 1], "unfreeze_blocks": 2},
        _streaming_cache,
        "peak RSS <= 4 GB",
    ),
    (
        "main_job",
        "`make demo` / `kerasft fit`'s recipe (`python bench/main_job.py`) vs the guide's "
        "recipe at 64 px given the same training time",
        "main_job",
        {"train_samples": 55_000, "test_samples": 10_000, "train_bn": 1, "baseline": "on"},
        _main_job,
        ">= 93% in <= 600 s",
    ),
]
ROWS.append(
    (
        "text",
        "`kerasft fit --data debian_descriptions`'s default recipe, 30 classes "
        "(`python bench/text.py`)",
        "text",
        {"data": "debian_descriptions", "set": []},
        _text,
        "beat TF-IDF + LR on both; job < 20 min",
    )
)
for _name, _what in (
    ("drums", "8 drum classes, 14 kits"),
    ("spoken_languages", "20 languages, one speaker each"),
):
    ROWS.append(
        (
            "audio",
            f"`kerasft fit --data {_name}`'s default recipe, {_what} (`python bench/audio.py`)",
            "audio",
            {"data": ["drums", "spoken_languages"], "set": []},
            _audio(_name),
            "beat MFCC + LR on both",
        )
    )
HEADERS = {
    "audio": "| run (command) | kerasft: test accuracy / macro-F1, wall time | MFCC statistics "
    "+ LR (same clips) | difference | target | recorded run |",
    "text": "| run (command) | kerasft: test accuracy / macro-F1, wall time | TF-IDF + LR "
    "(same texts) | difference | target | recorded run |",
    "quick_start": "| run (command) | kerasft: test accuracy (10,000 images), wall time "
    "| the guide's recipe | difference | target | recorded run |",
    "performance": "| benchmark (command) | kerasft | plain Keras | ratio | target | recorded run |",
    "main_job": "| run (command) | kerasft: test accuracy (10,000 images), wall time end to end "
    "| the guide's recipe | difference | target | recorded run |",
}


def load(path: Path = RESULTS) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def matches(record: dict, bench: str, wanted: dict) -> bool:
    args = record.get("args", {})
    # The first streaming_cache record named its benchmark "benchmark", the rest "bench".
    if (
        record.get("bench", record.get("benchmark")) != bench
        or str(args.get("weights", "imagenet")).lower() == "none"
    ):
        return False
    return all(args.get(k) == v for k, v in wanted.items())


def tables(records: list[dict]) -> dict[str, str]:
    """Markdown of each table, from the newest matching record of each row."""
    out: dict[str, list[str]] = {}
    for table, label, bench, wanted, cells, target in ROWS:
        lines = out.setdefault(table, [HEADERS[table], "|" + "---|" * 6])
        found = [r for r in records if matches(r, bench, wanted)]
        if not found:
            lines.append(f"| {label} | {NONE} | | | {target} | |")
            continue
        r = found[-1]
        m = r["machine"]
        run = f"{r['date'][:10]}, `{r['commit']}`, {m['cpus']} cores, load {m['load_avg_1m_at_start']}"
        lines.append(f"| {label} | {' | '.join(cells(r))} | {target} | {run} |")
    machines = sorted({r["machine"]["cpu"] for r in records if "machine" in r})
    if machines:
        out["performance"].append("")
        out["performance"].append("Machines of these runs: " + "; ".join(machines) + ".")
    return {name: "\n".join(lines) for name, lines in out.items()}


def render(readme: str, generated: dict[str, str]) -> str:
    for name, table in generated.items():
        pattern = re.compile(rf"(<!-- bench:{name} -->\n).*?(<!-- /bench:{name} -->)", re.S)
        if not pattern.search(readme):
            raise SystemExit(f"README.md has no <!-- bench:{name} --> ... block")
        readme = pattern.sub(lambda m, t=table: m.group(1) + t + "\n" + m.group(2), readme)
    return readme


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--write", action="store_true", help="rewrite the tables in README.md")
    p.add_argument("--check", action="store_true", help="exit 1 if README.md is stale")
    p.add_argument("--results", default=str(RESULTS))
    args = p.parse_args()
    generated = tables(load(Path(args.results)))
    readme = README.read_text()
    new = render(readme, generated)
    if args.check:
        if new != readme:
            print("README.md's benchmark tables are stale: run python bench/report.py --write")
            return 1
        return 0
    if args.write:
        README.write_text(new)
    else:
        print("\n\n".join(generated.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
