"""Benchmark: kerasft's default audio job vs MFCC statistics + logistic regression, on two sets.

One process, one split per data set. The sets are `kerasft data prepare drums` (about 480
one-shot drum samples of Hydrogen's 14 kits in 8 classes) and `kerasft data prepare
spoken_languages` (about 1,800 letters and syllables spoken in 20 languages, one speaker
each). kerasft side: the `kerasft fit` job on `data: <name>` with the audio recipe's defaults
(`kerasft.config.AUDIO_DEFAULTS`: musicnn, phase 1 on cached pooled features, phase 2 on the
top blocks), scored on its test split. Baseline: 30 MFCCs (tf.signal on `LogMel`'s mel power,
the same front end as musicnn's) and their first differences, each summarised by its mean and
standard deviation over the clip's non-silent frames, standardised, then scikit-learn's
logistic regression with C chosen on the job's validation clips, trained on exactly the job's
training clips and scored on the same test clips.

Each job starts from a cold feature cache (a fresh `KERASFT_CACHE`; the weights and the sets
are read where `make assets` and `make bench` put them), so its phase 1 includes the forward
pass over the clips.

Target: kerasft beats the baseline on accuracy and macro-F1 on both sets.

    python bench/audio.py [--data drums spoken_languages] [--set KEY=VALUE ...] [--record none]
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import _common as c

DATA = ["drums", "spoken_languages"]
N_MFCC = 30
# log(mel + floor): the floor keeps silent frames finite; frames whose mel energy stays
# below SILENCE (padding, decayed tails) carry no timbre and would swamp the statistics.
FLOOR = 1e-6
SILENCE = 1e-4


def mfcc_features(waves, batch_size: int = 64):
    """Per-clip MFCC and delta means and standard deviations over non-silent frames."""
    import numpy as np
    import tensorflow as tf

    from kerasft.backbones.log_mel import LogMel

    mel_power = LogMel(log_scale=0)
    rows = []
    for start in range(0, len(waves), batch_size):
        mel = mel_power(waves[start : start + batch_size])
        mfcc = tf.signal.mfccs_from_log_mel_spectrograms(tf.math.log(mel + FLOOR))
        mfcc = np.asarray(mfcc)[..., :N_MFCC]
        energy = np.asarray(tf.reduce_sum(mel, axis=-1))
        for coeffs, frame_energy in zip(mfcc, energy):
            active = frame_energy > SILENCE * frame_energy.max()
            coeffs = coeffs[active] if active.sum() >= 2 else coeffs
            delta = np.diff(coeffs, axis=0)
            rows.append(
                np.concatenate(
                    [coeffs.mean(0), coeffs.std(0), delta.mean(0), delta.std(0), [active.mean()]]
                )
            )
    return np.stack(rows).astype("float32")


def baseline(data, seed: int) -> dict:
    """MFCC statistics + logistic regression on the job's own splits; C picked on validation."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.preprocessing import StandardScaler

    (x, y), (xv, yv), (xt, yt) = data.train, data.val, data.test
    start = time.perf_counter()
    features, features_val, features_test = (mfcc_features(np.asarray(w)) for w in (x, xv, xt))
    features_s = time.perf_counter() - start
    scaler = StandardScaler().fit(features)
    features, features_val, features_test = (
        scaler.transform(f) for f in (features, features_val, features_test)
    )
    best = None
    for C in (0.01, 0.1, 1.0, 10.0, 100.0):
        clf = LogisticRegression(C=C, max_iter=5000, random_state=seed)
        clf.fit(features, y)
        score = accuracy_score(yv, clf.predict(features_val))
        if best is None or score > best[0]:
            best = (score, C, clf)
    _, C, clf = best
    predicted = clf.predict(features_test)
    return {
        "test_accuracy": float(accuracy_score(yt, predicted)),
        "test_macro_f1": float(f1_score(yt, predicted, average="macro")),
        "C": C,
        "features": int(features.shape[1]),
        "features_s": features_s,
        "train_s": time.perf_counter() - start,
        "test_samples": int(len(yt)),
        "train_samples": int(len(y)),
    }


def parse_settings(settings: list[str]) -> dict:
    """`--set KEY=VALUE` items as config overrides (YAML values)."""
    from kerasft import config

    return {
        key: config.yaml_load(value) for key, _, value in (item.partition("=") for item in settings)
    }


def one(name: str, settings: list[str]) -> dict:
    """The default job on `name` from a cold cache, then the baseline on its very splits."""
    import os

    from kerasft import config
    from kerasft.jobs import fit
    from kerasft.jobs.datasets import job_data

    os.environ["KERASFT_CACHE"] = tempfile.mkdtemp(prefix=f"kerasft-audio-bench-cache-{name}-")
    overrides = {"data": name, "verbose": 2, **parse_settings(settings)}
    run_dir = Path(tempfile.mkdtemp(prefix=f"kerasft-audio-bench-{name}-")) / "run"
    overrides["run_dir"] = str(run_dir)
    cfg = config.resolve(overrides)

    with c.Clock() as job:
        fit.run(dict(overrides))
    metrics = json.loads((run_dir / "metrics.json").read_text())
    data = job_data(cfg)  # the very splits the job trained and was scored on
    base = baseline(data, cfg["seed"])
    walls = metrics["wall_time_s"]
    n_train, n_val = metrics["train_samples"], metrics["val_samples"]
    ours = {
        "test_accuracy": metrics["test_accuracy"],
        "test_macro_f1": metrics["test_macro_f1"],
        "wall_s": job.seconds,
        "data_s": walls["data"],
        # Phase 1 includes the one forward pass that caches the phase-2 inputs.
        "phase_1_s": walls["phase_1"],
        "phase_2_s": walls["phase_2"],
        "evaluate_s": walls["evaluate"],
        "phase_1_clips_per_s": (n_train + n_val) / max(walls["phase_1"], 1e-9),
        "phase_2_clips_per_s": n_train * cfg["epochs"][1] / max(walls["phase_2"], 1e-9),
    }
    same_sizes = bool(
        base["train_samples"] == n_train and base["test_samples"] == metrics["test_samples"]
    )
    return {
        "clip_seconds": metrics["clip_samples"] / 16000,
        "train_clips": n_train,
        "val_clips": n_val,
        "test_clips": metrics["test_samples"],
        "classes": len(metrics["class_names"]),
        "kerasft": ours,
        "baseline_mfcc_lr": base,
        "same_split_sizes_as_kerasft": same_sizes,
        "met": ours["test_accuracy"] > base["test_accuracy"]
        and ours["test_macro_f1"] > base["test_macro_f1"],
    }


def main() -> dict:
    p = c.add_record_flag(c.argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    p.add_argument("--data", nargs="+", default=DATA, help="audio sets, default: both")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key of every job (YAML value), e.g. --set epochs=[2,1]",
    )
    args = p.parse_args()

    import os

    from kerasft.paths import kerasft_data_dir, kerasft_weights_dir

    # Each job gets a cold feature cache (`one`); weights and sets stay where they are.
    os.environ["KERASFT_WEIGHTS"] = str(kerasft_weights_dir())
    os.environ["KERASFT_DATA"] = str(kerasft_data_dir())

    from kerasft import config

    cfg = config.resolve({"data": args.data[0], **parse_settings(args.set)})
    sets = {name: one(name, args.set) for name in args.data}
    return c.emit(
        {
            "bench": "audio",
            "data": list(args.data),
            "config": {
                k: cfg[k]
                for k in ("backbone", "epochs", "lr", "ft_lr", "unfreeze_blocks", "batch_size")
            },
            "sets": sets,
            "wall_s": sum(s["kerasft"]["wall_s"] for s in sets.values()),
            "target": "kerasft beats MFCC statistics + LR on accuracy and macro-F1 on both sets",
            "met": all(s["met"] for s in sets.values()),
        },
        args,
    )


if __name__ == "__main__":
    main()
