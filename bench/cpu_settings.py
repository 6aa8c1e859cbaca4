"""Measure TensorFlow CPU settings on this machine: oneDNN on/off, intra-/inter-op threads.

Each setting runs in a fresh process (TensorFlow fixes them at start-up) and times the main
job's two kinds of work: the frozen MobileNet forward pass that builds the feature cache,
and a training step of the part phase 2 trains (blocks 8-13 and the head, 64 px).

    python bench/cpu_settings.py            # prints one JSON line per setting, then the best
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

SETTINGS = [
    {"onednn": "1", "intra": 0, "inter": 0},
    {"onednn": "0", "intra": 0, "inter": 0},
    {"onednn": "1", "intra": 1, "inter": 1},
    {"onednn": "1", "intra": 2, "inter": 1},
    {"onednn": "1", "intra": 2, "inter": 2},
]


def probe() -> dict:
    import keras
    import numpy as np

    import kerasft as kft
    from kerasft.cache import ModelCut

    model = kft.build("mobilenet", 10, input_shape=(28, 28, 1), image_size=64)
    kft.unfreeze(model, 6)
    cut = ModelCut(model, after_block="block_7")
    x = np.random.default_rng(0).integers(0, 255, (1024, 28, 28, 1)).astype("uint8")
    cut.prefix.predict(x[:256], batch_size=256, verbose=0)
    start = time.perf_counter()
    features = cut.prefix.predict(x, batch_size=256, verbose=0)
    forward = len(x) / (time.perf_counter() - start)
    runner = cut.suffix
    runner.compile(keras.optimizers.Adam(1e-4), "categorical_crossentropy")
    y = np.eye(10, dtype="float32")[np.arange(len(x)) % 10]
    runner.fit(features[:256], y[:256], batch_size=128, verbose=0)
    start = time.perf_counter()
    runner.fit(features, y, batch_size=128, verbose=0)
    train = len(x) / (time.perf_counter() - start)
    return {"forward_img_s": round(forward, 1), "train_img_s": round(train, 1)}


def main() -> int:
    if "--probe" in sys.argv:
        print(json.dumps(probe()))
        return 0
    results = []
    for setting in SETTINGS:
        env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS=setting["onednn"], TF_CPP_MIN_LOG_LEVEL="2")
        for key, var in (("intra", "TF_NUM_INTRAOP_THREADS"), ("inter", "TF_NUM_INTEROP_THREADS")):
            env.pop(var, None)
            if setting[key]:
                env[var] = str(setting[key])
        out = subprocess.run(
            [sys.executable, __file__, "--probe"], env=env, capture_output=True, text=True
        )
        line = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
        result = {
            **setting,
            **(json.loads(line[-1]) if line else {"error": out.stderr[-500:]}),
            "load_avg_1m": round(os.getloadavg()[0], 2),
        }
        results.append(result)
        print(json.dumps(result), flush=True)
    ok = [r for r in results if "train_img_s" in r]
    if ok:
        best = max(ok, key=lambda r: r["train_img_s"])
        print(json.dumps({"bench": "cpu_settings", "best_for_training": best}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
