"""Benchmark: kerasft's default text job vs TF-IDF + logistic regression, on Debian descriptions.

One process, one split. The text corpus is `kerasft data prepare debian_descriptions` (the long
English descriptions of Debian 12's `main` packages, labeled by Section: about 41,000
documents in 30 classes). kerasft side: the `kerasft fit` job on `data: debian_descriptions`
with the text recipe's defaults (`kerasft.config.TEXT_DEFAULTS`: MiniLM, a stratified
training subset, phase 1 on cached pooled features, phase 2 on the top transformer layers
from cached hidden states), scored on its test split. Baseline: scikit-learn's TF-IDF (word
1-2 grams, sublinear tf) + logistic regression, its C chosen on the job's validation texts,
trained on exactly the job's training texts and scored on the same test texts.

The job starts from a cold feature cache (a fresh `KERASFT_CACHE`; the weights and the corpus
are read where `make assets` put them), so its phase 1 includes the one forward pass over the
texts.

Target: kerasft beats the baseline on accuracy and macro-F1, the whole job under 20 minutes.

    python bench/text.py [--set KEY=VALUE ...] [--record none]
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import _common as c


def baseline(data, seed: int) -> dict:
    """TF-IDF + logistic regression on the job's own splits; C picked on validation."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    (x, y), (xv, yv), (xt, yt) = data.train, data.val, data.test
    start = time.perf_counter()
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    features = vectorizer.fit_transform(list(x))
    best = None
    for C in (1.0, 10.0, 100.0):
        clf = LogisticRegression(C=C, max_iter=3000, random_state=seed)
        clf.fit(features, y)
        score = accuracy_score(yv, clf.predict(vectorizer.transform(list(xv))))
        if best is None or score > best[0]:
            best = (score, C, clf)
    _, C, clf = best
    predicted = clf.predict(vectorizer.transform(list(xt)))
    return {
        "test_accuracy": float(accuracy_score(yt, predicted)),
        "test_macro_f1": float(f1_score(yt, predicted, average="macro")),
        "C": C,
        "features": int(features.shape[1]),
        "train_s": time.perf_counter() - start,
        "test_samples": int(len(yt)),
        "train_samples": int(len(y)),
        "same_texts_as_kerasft": bool(np.array_equal(np.asarray(x), np.asarray(data.train[0]))),
    }


def main() -> dict:
    p = c.add_record_flag(c.argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    p.add_argument("--data", default="debian_descriptions")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key of the job (YAML value), e.g. --set train_samples=2000",
    )
    args = p.parse_args()

    import os

    from kerasft.paths import kerasft_cache_dir, kerasft_data_dir, kerasft_weights_dir

    # A cold feature cache: an earlier run's features of the same texts would be reused.
    os.environ["KERASFT_WEIGHTS"] = str(kerasft_weights_dir())
    os.environ["KERASFT_DATA"] = str(kerasft_data_dir())
    os.environ["KERASFT_CACHE"] = tempfile.mkdtemp(prefix="kerasft-text-bench-cache-")
    assert kerasft_cache_dir() != kerasft_weights_dir().parent

    from kerasft import config
    from kerasft.jobs import fit
    from kerasft.jobs.datasets import job_data

    overrides = {"data": args.data, "verbose": 2}
    for item in args.set:
        key, _, value = item.partition("=")
        overrides[key] = config.yaml_load(value)
    run_dir = Path(tempfile.mkdtemp(prefix="kerasft-text-bench-")) / "run"
    overrides["run_dir"] = str(run_dir)
    cfg = config.resolve(overrides)

    with c.Clock() as job:
        fit.run(dict(overrides))
    metrics = json.loads((run_dir / "metrics.json").read_text())
    data = job_data(cfg)  # the very splits the job trained and was scored on
    base = baseline(data, cfg["seed"])
    walls = metrics["wall_time_s"]
    n_train, n_val = metrics["train_samples"], metrics["val_samples"]
    from kerasft.paths import kerasft_data_dir

    info_path = kerasft_data_dir() / args.data / "info.json"
    info = json.loads(info_path.read_text()) if info_path.is_file() else {}
    ours = {
        "test_accuracy": metrics["test_accuracy"],
        "test_macro_f1": metrics["test_macro_f1"],
        "wall_s": job.seconds,
        "phase_1_s": walls["phase_1"],
        "phase_2_s": walls["phase_2"],
        "evaluate_s": walls["evaluate"],
        # Phase 1 includes the one forward pass that caches the phase-2 hidden states.
        "phase_1_texts_per_s": (n_train + n_val) / walls["phase_1"],
        "phase_2_texts_per_s": n_train * cfg["epochs"][1] / max(walls["phase_2"], 1e-9),
        "test_texts_per_s": metrics["test_samples"] / max(walls["evaluate"], 1e-9),
    }
    return c.emit(
        {
            "bench": "text",
            "data": args.data,
            "release": info.get("release"),
            "config": {
                k: cfg[k]
                for k in (
                    "backbone",
                    "train_samples",
                    "val_samples",
                    "epochs",
                    "lr",
                    "ft_lr",
                    "unfreeze_blocks",
                    "batch_size",
                    "sequence_length",
                )
            },
            "sequence_length": metrics.get("sequence_length"),
            "train_texts": n_train,
            "val_texts": n_val,
            "test_texts": metrics["test_samples"],
            "classes": len(metrics["class_names"]),
            "kerasft": ours,
            "baseline_tfidf_lr": base,
            "target": "kerasft beats TF-IDF + LR on accuracy and macro-F1; job < 20 min",
            "met": ours["test_accuracy"] > base["test_accuracy"]
            and ours["test_macro_f1"] > base["test_macro_f1"]
            and job.seconds < 1200,
        },
        args,
    )


if __name__ == "__main__":
    main()
