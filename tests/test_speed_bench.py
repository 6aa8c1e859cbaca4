"""The benchmark scripts run end to end (tiny sizes, random weights), print their JSON and record
it with the machine and commit; the README's tables are the ones generated from the records."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kerasft import config

BENCH = Path(__file__).resolve().parents[1] / "bench"
TINY = [
    "--train-samples",
    "64",
    "--val-samples",
    "32",
    "--test-samples",
    "64",
    "--image-size",
    "32",
    "--batch-size",
    "32",
    "--weights",
    "none",
]


@pytest.fixture
def bench(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(BENCH))
    record = tmp_path / "results.jsonl"

    def run(name, *args, capsys):
        import importlib

        module = importlib.import_module(name)
        monkeypatch.setattr(sys, "argv", [name, *TINY, "--record", str(record), *args])
        result = module.main()
        line = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("{")][-1]
        assert json.loads(line) == result
        # The same line is recorded, with what it was measured on and the arguments.
        recorded = json.loads(record.read_text().splitlines()[-1])
        assert {k: recorded[k] for k in result} == result
        assert recorded["args"]["train_samples"] == 64 and recorded["args"]["weights"] == "none"
        assert recorded["machine"]["cpus"] == os.cpu_count() and recorded["machine"]["cpu"]
        assert recorded["versions"]["tensorflow"].startswith("2.")
        head = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=BENCH, capture_output=True, text=True
        ).stdout.strip()
        assert recorded["commit"].split("-")[0] == head
        return result

    return run


def test_head_phase_bench(bench, capsys):
    result = bench("head_phase", "--epochs", "2", capsys=capsys)
    assert result["bench"] == "head_phase" and result["kerasft_s"] > 0 and result["keras_s"] > 0
    assert result["ratio"] == pytest.approx(result["keras_s"] / result["kerasft_s"], rel=1e-3)
    assert 0 <= result["kerasft_acc"] <= 1 and "load_avg_1m" in result


def test_partial_phase2_bench(bench, capsys):
    result = bench("partial_phase2", "--epochs", "1", capsys=capsys)
    assert result["same_trainable_weights"] and result["kerasft_epoch_s"] > 0
    assert result["kerasft_cache_build_s"] > 0


def test_time_to_90_reports_an_unreached_target_as_not_reached_within_the_cap(bench, capsys):
    # A target no run can reach: kerasft runs its whole recipe, the guide stops at the cap.
    result = bench(
        "time_to_90",
        "--target",
        "1.01",
        "--cap-factor",
        "0.5",
        "--guide-max-epochs",
        "3",
        capsys=capsys,
    )
    assert not result["kerasft_reached"] and not result["keras_reached"]
    assert result["ratio_is_lower_bound"] and not result["passed"]
    assert result["keras_not_reached_within_s"] == result["keras_s"]
    # The cap stopped the guide (not its 2 + 3 epochs): no epoch began after the cap passed.
    cap = 0.5 * result["kerasft_s"]
    curve = result["keras_curve"]
    assert len(curve) < 5 and all(point["t"] <= cap for point in curve[:-1])
    assert result["keras_s"] > cap
    assert result["guide_image_size"] == result["image_size"] == 32
    # One validation point per epoch of the default recipe.
    assert len(result["kerasft_curve"]) == sum(config.DEFAULTS["epochs"])


@pytest.mark.slow
def test_ft_step_reports_median_and_spread_of_paired_rounds(bench, capsys):
    result = bench("ft_step", "--rounds", "3", capsys=capsys)
    rounds = result["rounds"]
    paired = sorted(a / b for a, b in zip(rounds["kerasft_same_work"], rounds["keras"]))
    assert result["ratio"] == pytest.approx(paired[1], rel=1e-3)  # the median of three
    spread = result["ratio_spread"]
    assert spread["min"] == pytest.approx(paired[0], rel=1e-3)
    assert spread["max"] == pytest.approx(paired[2], rel=1e-3)
    effect = abs(result["ratio"] - 1)
    assert result["spread_exceeds_effect"] == (paired[2] - paired[0] > 2 * effect)


def test_main_job_runs_the_guide_for_kerasft_s_training_time(bench, capsys):
    result = bench("main_job", "--epochs", "1", "1", capsys=capsys)
    assert result["test_samples"] == 64 and result["train_samples"] == 64
    # The guide got the same training budget: stopped within a batch and a validation pass.
    assert result["keras_s"] >= result["kerasft_train_s"] * 0.95
    errors = (1 - result["keras_test_accuracy"]) / (1 - result["test_accuracy"])
    assert result["ratio"] == pytest.approx(errors, rel=1e-2)


def test_readme_tables_are_the_ones_generated_from_the_recorded_runs(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    import report

    readme = report.README.read_text()
    assert report.render(readme, report.tables(report.load())) == readme, (
        "README.md's benchmark tables are stale: run python bench/report.py --write"
    )


def test_report_uses_the_newest_matching_real_run_only(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    import report

    def record(ratio, weights="imagenet", train_samples=10_000):
        return {
            "bench": "partial_phase2",
            "kerasft_epoch_s": 1.0,
            "keras_epoch_s": ratio,
            "ratio": ratio,
            "kerasft_cache_build_s": 3.0,
            "args": {"train_samples": train_samples, "image_size": 96, "weights": weights},
            "machine": {"cpu": "Some CPU", "cpus": 2, "load_avg_1m_at_start": 0.1},
            "commit": "abc",
            "date": "2026-12-01T00:00:00+00:00",
        }

    records = [record(2.5), record(7.0, weights="none"), record(9.0, train_samples=64)]
    table = report.tables(records)["performance"]
    row = next(line for line in table.splitlines() if "partial_phase2" in line)
    assert "| 2.50x |" in row and "`abc`" in row  # not the random-weights or small run
    assert report.NONE in next(line for line in table.splitlines() if "head_phase" in line)


def test_cached_phase2_splits_a_step_into_pipeline_and_train_step(bench, capsys):
    result = bench("cached_phase2", "--steps", "2", "--rounds", "2", capsys=capsys)
    before = result["variants"]["numpy_function gather (before)"]
    assert set(before) == {"pipeline", "train_step", "fit", "fit_rounds"}
    assert len(before["fit_rounds"]) == 2  # the variants' fits took turns, twice
    parts = [before["pipeline"], before["train_step"], before["fit"]]
    assert all(part["s_per_batch"] > 0 and part["cpu_pct"] >= 0 for part in parts)
    assert "fast kernels (the runner now)" in result["variants"] and result["runner_speedup"] > 0
    assert result["fastest"] in result["variants"] and result["speedup"] >= 1.0


def test_phase2_epoch_times_the_runner_before_and_now(bench, capsys):
    import kerasft.cache.runner as cached_runner
    from kerasft.cache.runner import build_before_fit
    from kerasft.data.pipeline import untuned

    result = bench("phase2_epoch", "--epochs", "1", "2", "--rounds", "1", capsys=capsys)
    before, now = result["sides"]["before"], result["sides"]["now"]
    # Phase 2 ran twice per side (epochs 1 + 2), each epoch timed; both sides cached it.
    assert len(before["epochs"]) == len(now["epochs"]) == 2
    assert before["runner"].startswith("cached at") and now["runner"].startswith("cached at")
    assert all(e["s"] >= e["batches_s"] > 0 for e in before["epochs"] + now["epochs"])
    assert result["speedup"] == round(before["median_epoch_s"] / now["median_epoch_s"], 3)
    # The bench put the runner back as it was.
    assert cached_runner.untuned is untuned
    assert cached_runner.build_before_fit is build_before_fit


def test_quick_start_bench_runs_the_readme_block(monkeypatch, tmp_path, capsys):
    """The block it times is README.md's Quick start, only shrunk by the flags given."""
    monkeypatch.syspath_prepend(str(BENCH))
    monkeypatch.chdir(tmp_path)  # the bench moves into its own folder; put the cwd back
    monkeypatch.setenv("KERASFT_CACHE", str(tmp_path / "cache"))
    import quick_start

    readme = (BENCH.parent / "README.md").read_text()
    assert quick_start.snippet() in readme and "kft.fine_tune(model," in quick_start.snippet()
    record = tmp_path / "results.jsonl"
    argv = ["quick_start", "--train-samples", "64", "--epochs", "1", "1", "--image-size", "32",
            "--weights", "none", "--baseline", "off", "--record", str(record)]  # fmt: skip
    monkeypatch.setattr(sys, "argv", argv)
    result = quick_start.main()
    assert result["train_samples"] == 64 and result["epochs"] == 2 and result["image_size"] == 32
    assert all(how.startswith("cached at") for how in result["runner"].values())
    assert json.loads(record.read_text().splitlines()[-1])["args"]["baseline"] == "off"


def test_streaming_cache_bench_on_a_small_folder(
    monkeypatch, tmp_path, capsys, fashion_mnist, imagenet_mobilenet
):
    monkeypatch.syspath_prepend(str(BENCH))
    import importlib

    module = importlib.import_module("streaming_cache")
    # A small stand-in for the 70,000 files, written by the bench's own writer.
    images = tmp_path / "jpeg"
    (x, y), (xt, yt), _ = fashion_mnist
    for split in ("train", "test"):
        for name in module.CLASSES:
            (images / split / name).mkdir(parents=True)
    module._write_chunk((str(images), "train", 0, x[:120], y[:120]))
    module._write_chunk((str(images), "test", 0, xt[:40], yt[:40]))
    (images / ".complete").write_text("160\n")
    record = tmp_path / "results.jsonl"
    argv = ["streaming_cache", "--images-dir", str(images), "--baseline-images", "20",
            "--batch-size", "32", "--record", str(record)]  # fmt: skip
    monkeypatch.setattr(sys, "argv", argv)
    result = module.main()
    assert result["bench"] == "streaming_cache" and result["rows"] == result["images"]
    assert result["images"] + result["val_images"] == 120 and result["val_images"] > 0
    assert result["phases"][1].startswith("cached at kft_head_pool")
    assert result["phases"][2] == "cached at block_11 (14, 14, 512)"
    assert result["cache_build_peak_rss_gb"] >= result["rss_before_build_gb"] > 0
    assert result["baseline_images"] == 20 and result["test_images"] == 40
    assert result["shards_gb"] > result["images"] * 14 * 14 * 512 * 2 / 1e9 * 0.99
    recorded = json.loads(record.read_text().splitlines()[-1])
    assert recorded["args"]["baseline_images"] == 20 and recorded["machine"]["cpus"]


def test_report_audio_rows_read_each_set_of_one_record(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    import report

    def one(ours, base):
        return {
            "clip_seconds": 2.0,
            "test_clips": 48,
            "kerasft": {"test_accuracy": ours, "test_macro_f1": ours - 0.01, "wall_s": 90.0,
                        "phase_1_s": 60.0, "phase_2_s": 20.0, "phase_2_clips_per_s": 40.0},
            "baseline_mfcc_lr": {"test_accuracy": base, "test_macro_f1": base, "train_s": 3.0,
                                 "C": 1.0},
        }  # fmt: skip

    record = {
        "bench": "audio",
        "sets": {"drums": one(0.9, 0.875), "spoken_languages": one(0.98, 0.7)},
        "args": {"data": ["drums", "spoken_languages"], "set": []},
        "machine": {"cpu": "Some CPU", "cpus": 2, "load_avg_1m_at_start": 0.1},
        "commit": "abc",
        "date": "2026-12-01T00:00:00+00:00",
    }
    pilot = {**record, "args": {"data": ["drums"], "set": ["epochs=[2,1]"]}, "commit": "pilot"}
    rows = report.tables([record, pilot])["audio"].splitlines()[2:]
    drums, languages = rows
    assert "--data drums`" in drums and "| 90.00% / 0.890 in 90 s" in drums
    assert "| 87.50% / 0.875 in 3 s (C=1) | +2.50 pt / +0.015 |" in drums and "`abc`" in drums
    assert "| 98.00% / 0.970" in languages and "+28.00 pt / +0.270" in languages


def test_audio_bench_mfcc_statistics_ignore_padding_and_tell_timbres_apart(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    import audio
    import numpy as np

    t = np.arange(16000) / 16000
    low, high = np.sin(2 * np.pi * 300 * t), np.sin(2 * np.pi * 3000 * t)
    padded = np.concatenate([low, np.zeros(16000)])  # the same tone, then a second of silence
    waves = np.stack([np.concatenate([low, low]), padded, np.concatenate([high, high])])
    features = audio.mfcc_features(waves.astype("float32"))
    assert features.shape == (3, 4 * audio.N_MFCC + 1)
    mfcc_means = features[:, : audio.N_MFCC]
    # Silent frames are left out of the statistics: padding barely moves the means ...
    assert (
        np.abs(mfcc_means[0] - mfcc_means[1]).max()
        < 0.1 * np.abs(mfcc_means[0] - mfcc_means[2]).max()
    )
    # ... and shows in the active fraction (the last column) instead.
    assert features[0, -1] == 1.0 and 0.4 < features[1, -1] < 0.6
