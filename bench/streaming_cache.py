"""Benchmark: the streaming feature cache on 70,000 JPEG files at 224 x 224, peak memory bounded.

Fashion-MNIST (60,000 train + 10,000 test images) is written once as 224 x 224 RGB JPEG files
in class folders (`train/<class>/`, `test/<class>/`; upscaled, real files on disk). Then, in
one process:

1. kerasft's cache build: `kft.data.from_folder` decodes and resizes in parallel and
   `FeatureCache.stream` computes the frozen backbone's features at the cut phase 2 trains
   from, batch by batch, into memory-mapped disk shards. Peak RSS is sampled throughout;
   collecting the raw uint8 images first would take 60,000 x 224 x 224 x 3 = 9.0 GB (10.5 GB
   with the test set).
2. The baseline: `keras.utils.image_dataset_from_directory` feeding the same frozen backbone
   prefix (`predict` over its batches), on the first `--baseline-images` training files;
   images/s of both are compared.
3. `kft.fine_tune` phase 1 and phase 2 train from the shards (the runner finds every row by
   its content hash), then the 10,000 test images are scored.

Target: peak RSS of the cache build <= 4 GB. Prints one JSON line.

    python bench/streaming_cache.py [--images-dir DIR] [--epochs 1 1] [--unfreeze-blocks 2]
"""

from __future__ import annotations

import os
import time
from multiprocessing import Pool
from pathlib import Path

import _common as c

CLASSES = [
    "t_shirt", "trouser", "pullover", "dress", "coat",
    "sandal", "shirt", "sneaker", "bag", "ankle_boot",
]  # fmt: skip


def _write_chunk(job):
    import numpy as np
    from PIL import Image

    root, split, start, images, labels = job
    for offset, (pixels, label) in enumerate(zip(images, labels, strict=True)):
        path = Path(root) / split / CLASSES[label] / f"{start + offset:05d}.jpg"
        picture = Image.fromarray(np.asarray(pixels)).resize((224, 224), Image.BICUBIC)
        picture.convert("RGB").save(path, quality=90)
    return len(images)


def write_jpegs(root: Path) -> float:
    """Write the 70,000 JPEG files once (a marker file says they are complete)."""
    done = root / ".complete"
    if done.exists():
        return 0.0
    import keras

    start = time.perf_counter()
    (x, y), (xt, yt) = keras.datasets.fashion_mnist.load_data()
    jobs = []
    for split, images, labels in (("train", x, y), ("test", xt, yt)):
        for name in CLASSES:
            (root / split / name).mkdir(parents=True, exist_ok=True)
        for i in range(0, len(images), 2000):
            jobs.append((str(root), split, i, images[i : i + 2000], labels[i : i + 2000]))
    with Pool(os.cpu_count()) as pool:
        written = sum(pool.imap_unordered(_write_chunk, jobs))
    assert written == 70_000, written
    done.write_text("70000\n")
    return time.perf_counter() - start


def main() -> dict:
    p = c.add_record_flag(c.argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    p.add_argument(
        "--images-dir",
        default=os.path.expanduser("~/.cache/kerasft/bench/fashion_mnist_224_jpeg"),
        help="where the JPEG files are written (once) and read from",
    )
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--epochs", type=int, nargs=2, default=[1, 1])
    p.add_argument("--unfreeze-blocks", type=int, default=2)
    p.add_argument("--baseline-images", type=int, default=10_000)
    p.add_argument("--val-split", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    root = Path(args.images_dir)
    write_s = write_jpegs(root)

    import tempfile

    import keras
    import numpy as np
    import tensorflow as tf

    import kerasft as kft
    from kerasft.backbones.blocks import block_map
    from kerasft.builder import get_backbone
    from kerasft.cache import CachedRunner, FeatureCache, ModelCut

    kft.weights.import_mobilenet_imagenet(verbose=False)
    keras.utils.set_random_seed(args.seed)
    data = kft.data.from_folder(
        root / "train",
        image_size=224,
        batch_size=args.batch_size,
        validation_split=args.val_split,
        seed=args.seed,
        cache=False,  # as `kerasft fit` loads folders: nothing held in memory
    )
    n_train = sum(data.info.split_counts["train"].values())
    model = kft.build("mobilenet", 10, input_shape=(224, 224, 3), image_size=224)
    names = list(block_map(get_backbone(model)))
    cut = ModelCut(model, after_block=names[len(names) - args.unfreeze_blocks - 1])
    cache_dir = Path(tempfile.mkdtemp(prefix="kerasft-stream-bench-"))
    cache = FeatureCache(cut, "disk", root=cache_dir, verbose=1)

    # 1. kerasft: one streaming pass, features into disk shards.
    base_rss = c.rss()
    with c.PeakRSS() as build_rss, c.Clock() as build:
        rows, _, _ = cache.stream(data.train.as_numpy_iterator(), total=n_train)
    shard_bytes = sum(f.stat().st_size for f in cache_dir.rglob("*.npy"))

    # 2. The baseline: Keras's folder loader feeding the same frozen prefix.
    subset = Path(tempfile.mkdtemp(prefix="kerasft-stream-baseline-"))
    per_class = args.baseline_images // len(CLASSES)
    for name in CLASSES:
        (subset / name).mkdir()
        for f in sorted((root / "train" / name).iterdir())[:per_class]:
            (subset / name / f.name).symlink_to(f)
    prefix = cut.prefix
    baseline_ds = keras.utils.image_dataset_from_directory(
        subset, image_size=(224, 224), batch_size=args.batch_size, shuffle=False
    ).prefetch(tf.data.AUTOTUNE)
    with c.PeakRSS() as baseline_rss, c.Clock() as baseline:
        seen = 0
        for x, _ in baseline_ds:
            prefix.predict_on_batch(x)
            seen += int(x.shape[0])

    # 3. Both phases train from the shards; then the official test set.
    runner = CachedRunner(mode="disk", cache_dir=cache_dir, verbose=1)
    with c.PeakRSS() as train_rss, c.Clock() as training:
        history = kft.fine_tune(
            model,
            data.train,
            data.val,
            epochs=tuple(args.epochs),
            unfreeze_blocks=args.unfreeze_blocks,
            cache=runner,
            verbose=2,
        )
    test = kft.data.from_folder(
        root / "test", image_size=224, batch_size=256, shuffle=False, cache=False
    ).train
    correct = total = 0
    with c.Clock() as scoring:
        for x, y in test.as_numpy_iterator():
            correct += int(np.sum(np.argmax(model.predict_on_batch(x), -1) == y))
            total += len(y)
    gb = 1e9
    return c.emit(
        {
            "bench": "streaming_cache",
            "images": n_train,
            "val_images": sum(data.info.split_counts["val"].values()),
            "image_size": 224,
            "cut": cut.name,
            "feature_shape": list(cut.feature_shape),
            "raw_uint8_gb": n_train * 224 * 224 * 3 / gb,
            "cache_build_s": build.seconds,
            "cache_build_images_per_s": n_train / build.seconds,
            "cache_build_peak_rss_gb": build_rss.peak / gb,
            "rss_before_build_gb": base_rss / gb,
            "shards_gb": shard_bytes / gb,
            "rows": len(rows),
            "baseline_images": seen,
            "baseline_images_per_s": seen / baseline.seconds,
            "baseline_peak_rss_gb": baseline_rss.peak / gb,
            "speedup_vs_baseline": (n_train / build.seconds) / (seen / baseline.seconds),
            "train_s": training.seconds,
            "train_peak_rss_gb": train_rss.peak / gb,
            "phases": dict(runner.report),
            "val_accuracy": history.history.get("val_accuracy"),
            "test_accuracy": correct / total,
            "test_images": total,
            "score_s": scoring.seconds,
            "write_jpegs_s": write_s,
            "target": "cache build peak RSS <= 4 GB",
            "met": build_rss.peak <= 4 * gb,
        },
        args,
    )


if __name__ == "__main__":
    main()
