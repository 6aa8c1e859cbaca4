"""The data of a job (`kerasft fit`, `tune`, `evaluate`): one `data:` string, any source.

`data` names where the images are:

* `fashion_mnist`, `keras:cifar10`, ...: a Keras dataset (read from local files); train and
  validation are stratified draws of `train_samples`/`val_samples` from its training split,
  the test set is its official test split;
* a folder with one sub-folder per class; `train/`, `val/` (or `validation/`) and `test/`
  sub-trees are used as given when present, else `val_split`/`test_split` are carved out,
  stratified, with the seed;
* a `.csv` file of image paths (relative to the CSV) and labels (`path_col`, `label_col`;
  `label_sep` for several labels per image);
* `tfds:NAME` (or `tfds:NAME:VERSION`): a TFDS dataset prepared in `data_dir`;
* texts: a folder of class folders of `.txt` files, a CSV with a `text_col` column (and no
  `path_col`), or a corpus `kerasft data prepare` wrote (`bbc_news`, `debian_descriptions`);
  `val_split`/`test_split` are carved out, then `train_samples`/`val_samples` (when set) cap
  the training and validation texts with stratified draws;
* audio: a folder of class folders of `.wav`/`.flac`/`.ogg` files, a CSV whose `path_col`
  names audio files, or a recording set `kerasft data prepare` wrote (`drums`,
  `spoken_languages`, `prompts`); clips are resampled to the backbone's rate and cropped or
  padded to `clip_seconds`; splits and caps as for texts.

Files that cannot be read are skipped and listed (`kerasft.data`); an empty class, a single
class, a missing column or a path that does not exist is a `KerasftError` before any training.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kerasft.data.splits import split_indices
from kerasft.errors import KerasftError

# Sub-trees of a folder that is split already, by the split each one is.
SPLIT_FOLDERS = {"train": ("train",), "val": ("val", "validation"), "test": ("test",)}


@dataclass
class JobData:
    """The splits of a job's data and what is known about them.

    Attributes:
        train, val, test: `(images, labels)` arrays (Keras datasets) or batched
            `tf.data.Dataset`s of them (files); `val`/`test` may be None.
        class_names: the class names, in label order.
        source: the data source as recorded, e.g. `keras:fashion_mnist`, `folder:/data/pets`.
        multilabel: labels are multi-hot rows.
        counts: images per split.
        skipped: unreadable files left out, path -> reason.
        image_shape: the shape of one image as the pipelines yield it (`()` for texts,
            `(samples,)` for audio clips).
        modality: "image", "text" or "audio".
    """

    train: Any
    val: Any
    test: Any
    class_names: list[str]
    source: str
    multilabel: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    image_shape: tuple = (None, None, 3)
    modality: str = "image"

    def record(self) -> dict:
        """What the run directory's `data.json` holds."""
        return {
            "modality": self.modality,
            "source": self.source,
            "class_names": list(self.class_names),
            "multilabel": self.multilabel,
            "counts": dict(self.counts),
            "image_shape": list(self.image_shape),
            "skipped": dict(self.skipped),
        }


def kind(spec: str, path_col: str = "path", text_col: str = "text") -> str:
    """Which source `spec` names: "keras", "tfds", "folder", "csv", "text_folder",
    "text_csv", "audio_folder" or "audio_csv"; raise if none.

    Cheap (no TensorFlow, no file read beyond a CSV's header), so a bad `data` is reported
    before any work.

    Args:
        spec: the job's `data` value.
        path_col: the image-path column of a CSV of images.
        text_col: the text column of a CSV of texts.
    """
    from kerasft.data.keras_datasets import ALIASES, DATASETS
    from kerasft.jobs.audio_sources import AUDIO_CORPORA, audio_corpus_path, audio_kind
    from kerasft.jobs.text_sources import CORPORA, corpus_path, text_kind

    if not isinstance(spec, str) or not spec.strip():
        raise KerasftError(f"data={spec!r} must name a dataset, a folder or a CSV file.")
    if spec in CORPORA:
        corpus_path(spec)  # prepared?
        return CORPORA[spec][1]
    if spec in AUDIO_CORPORA and not audio_corpus_path(spec).is_dir():
        raise KerasftError(
            f"data={spec!r} is not prepared yet ({audio_corpus_path(spec)} does not exist). "
            f"Run `kerasft data prepare {spec}` once."
        )
    found = text_kind(spec, path_col, text_col) or audio_kind(spec, path_col)
    if found:
        return found
    if spec.startswith("keras:"):
        name = spec[len("keras:") :]
        if name not in DATASETS and name not in ALIASES:
            from kerasft.errors import unknown_name

            raise unknown_name("data", spec, [f"keras:{n}" for n in DATASETS])
        return "keras"
    if spec.startswith("tfds:"):
        if not spec[len("tfds:") :]:
            raise KerasftError("data='tfds:' needs a dataset name, e.g. data='tfds:tf_flowers'.")
        return "tfds"
    path = Path(spec).expanduser()
    if path.is_dir():
        return "folder"
    if path.is_file():
        if path.suffix.lower() != ".csv":
            raise KerasftError(
                f"data={spec!r} is a file but not a .csv; give a CSV of image paths and labels "
                "or a folder with one sub-folder per class."
            )
        return "csv"
    if spec in DATASETS or spec in ALIASES:
        return "keras"
    raise KerasftError(
        f"data={spec!r}: no such folder or CSV file, and not a Keras dataset "
        f"({', '.join(DATASETS)}). Give a class-folder tree (data/<class>/<image>.jpg), a "
        "CSV of paths and labels, keras:NAME or tfds:NAME."
    )


def job_data(cfg: dict, *, test: bool = True) -> JobData:
    """The splits of `cfg["data"]` for a job, under the config's split keys and seed.

    Args:
        cfg: a resolved `kerasft fit` config (`data`, `data_dir`, `train_samples`,
            `val_samples`, `val_split`, `test_split`, `path_col`, `label_col`,
            `label_sep`, `image_size`, `batch_size`, `seed`).
        test: also return the test split (a search needs none). It is carved out all the
            same, so a search trains on the very images `kerasft fit` does and never sees the
            test images.
    """
    spec = cfg["data"]
    source = kind(spec, cfg["path_col"], cfg["text_col"])
    if source.startswith("text_"):
        return _texts(spec, source, cfg, test)
    if source.startswith("audio_"):
        return _audio(spec, source, cfg, test)
    if source == "keras":
        name = spec.split(":", 1)[1] if spec.startswith("keras:") else spec
        (x, y), v, t, names = job_arrays(
            name, cfg["train_samples"], cfg["val_samples"], cfg["seed"]
        )
        return JobData(
            (x, y),
            v if len(v[0]) else None,
            t if test else None,
            names,
            f"keras:{name}",
            counts={"train": len(y), "val": len(v[1]), "test": len(t[1])},
            image_shape=tuple(x.shape[1:]),
        )
    options = dict(
        image_size=cfg["image_size"],
        batch_size=cfg["batch_size"],
        seed=cfg["seed"],
        # The job decides what to keep in memory (the feature cache); the loader streams.
        cache=False,
    )
    if source == "tfds":
        from kerasft.data import from_tfds

        data = from_tfds(
            spec[len("tfds:") :],
            data_dir=cfg["data_dir"],
            split="train",
            validation_split=cfg["val_split"] or None,
            test_split=cfg["test_split"] or None,
            **options,
        )
        return _from_splits(data, f"tfds:{spec[len('tfds:') :]}", test)
    if source == "csv":
        from kerasft.data import from_csv

        data = from_csv(
            spec,
            path_col=cfg["path_col"],
            label_col=cfg["label_col"],
            label_sep=cfg["label_sep"],
            validation_split=cfg["val_split"] or None,
            test_split=cfg["test_split"] or None,
            **options,
        )
        return _from_splits(data, f"csv:{os.path.abspath(spec)}", test)
    return _folder(spec, cfg, options, test)


def _capped(part, cap: int | None, seed: int, multilabel: bool):
    """A stratified draw of `cap` rows of `(examples, labels)` (all of them when fewer)."""
    texts, labels = part
    if cap is None or cap >= len(texts):
        return part
    strata = labels if not multilabel else np.argmax(labels, axis=-1)
    keep, _, _ = split_indices(strata, validation_split=1 - cap / len(texts), seed=seed)
    keep = np.sort(keep)
    return texts[keep], labels[keep]


def _texts(spec: str, source: str, cfg: dict, test: bool) -> JobData:
    from kerasft.jobs.text_sources import CORPORA, corpus_path

    path = corpus_path(spec) if spec in CORPORA else Path(spec).expanduser()
    splits = dict(
        validation_split=cfg["val_split"] or None,
        test_split=cfg["test_split"] or None,
        seed=cfg["seed"],
        batch_size=cfg["batch_size"],
    )
    if source == "text_folder":
        from kerasft.data import from_text_folder

        data = from_text_folder(path, **splits)
    else:
        from kerasft.data import from_text_csv

        data = from_text_csv(
            path,
            text_col=cfg["text_col"],
            label_col=cfg["label_col"],
            label_sep=cfg["label_sep"],
            **splits,
        )
    label = "corpus" if spec in CORPORA else source.split("_")[1]
    name = spec if spec in CORPORA else os.path.abspath(path)
    return _array_job(data, f"{label}:{name}", cfg, test, modality="text", shape=())


def _audio(spec: str, source: str, cfg: dict, test: bool) -> JobData:
    from kerasft.backbones.audio_presets import AUDIO_BACKBONES
    from kerasft.jobs.audio_sources import AUDIO_CORPORA, audio_corpus_path

    path = audio_corpus_path(spec) if spec in AUDIO_CORPORA else Path(spec).expanduser()
    preset = AUDIO_BACKBONES.get(str(cfg["backbone"]).lower(), AUDIO_BACKBONES["musicnn"])
    options = dict(
        validation_split=cfg["val_split"] or None,
        test_split=cfg["test_split"] or None,
        seed=cfg["seed"],
        batch_size=cfg["batch_size"],
        sample_rate=preset.sample_rate,
        clip_seconds=cfg["clip_seconds"],
        min_seconds=preset.min_seconds,
    )
    if source == "audio_folder":
        from kerasft.data import from_audio_folder

        data = from_audio_folder(path, **options)
    else:
        from kerasft.data import from_audio_csv

        data = from_audio_csv(
            path,
            path_col=cfg["path_col"],
            label_col=cfg["label_col"],
            label_sep=cfg["label_sep"],
            **options,
        )
    label = "recordings" if spec in AUDIO_CORPORA else source.split("_")[1]
    name = spec if spec in AUDIO_CORPORA else os.path.abspath(path)
    samples = int(data.arrays["train"][0].shape[1])
    return _array_job(data, f"{label}:{name}", cfg, test, modality="audio", shape=(samples,))


def _array_job(data, source: str, cfg: dict, test: bool, *, modality: str, shape) -> JobData:
    """A `JobData` of a loader's array splits, train and val capped by the config."""
    info = data.info
    multilabel = bool(info.multilabel)
    parts = {k: v for k, v in data.arrays.items() if v is not None and len(v[0])}
    train = _capped(parts["train"], cfg["train_samples"], cfg["seed"], multilabel)
    val = parts.get("val")
    if val is not None:
        val = _capped(val, cfg["val_samples"] or None, cfg["seed"], multilabel)
    held = parts.get("test")
    counts = {"train": len(train[0]), "val": 0 if val is None else len(val[0])}
    counts["test"] = 0 if held is None else len(held[0])
    return JobData(
        train,
        val,
        held if test else None,
        list(info.class_names),
        source,
        multilabel=multilabel,
        counts=counts,
        skipped=dict(info.skipped),
        image_shape=shape,
        modality=modality,
    )


def _split_folders(root: Path) -> dict[str, Path]:
    found = {}
    for split, names in SPLIT_FOLDERS.items():
        for name in names:
            if (root / name).is_dir():
                found[split] = root / name
                break
    return found


def _folder(spec: str, cfg: dict, options: dict, test: bool) -> JobData:
    from kerasft.data import from_folder

    root = Path(spec).expanduser()
    source = f"folder:{os.path.abspath(root)}"
    given = _split_folders(root)
    if given and "train" not in given:
        raise KerasftError(
            f"{spec!r} has {', '.join(p.name + '/' for p in given.values())} but no train/ "
            "sub-folder; add train/<class>/... or put the class folders directly in it."
        )
    # What has no sub-tree of its own is carved out of the training images.
    carve = {
        "validation_split": None if "val" in given else cfg["val_split"] or None,
        "test_split": None if "test" in given else cfg["test_split"] or None,
    }
    data = from_folder(given.get("train", root), **carve, **options)
    if not given:
        return _from_splits(data, source, test)
    info = data.info
    splits = {"train": data.train, "val": data.val, "test": data.test if test else None}
    counts = {k: int(sum(v.values())) for k, v in info.split_counts.items()}
    skipped = dict(info.skipped)
    for split in ("val", "test"):
        if split in given and splits[split] is None and (split == "val" or test):
            # A held-out tree has the training classes, in the training order and size.
            part = from_folder(
                given[split],
                **{**options, "image_size": info.image_size},
                class_names=info.class_names,
                shuffle=False,
            )
            splits[split] = part.train
            counts[split] = part.info.num_examples
            skipped.update(part.info.skipped)
    return JobData(
        splits["train"],
        splits["val"],
        splits["test"],
        list(info.class_names),
        source,
        counts=counts,
        skipped=skipped,
        image_shape=tuple(info.input_shape),
    )


def _from_splits(data, source: str, test: bool = True) -> JobData:
    info = data.info
    return JobData(
        data.train,
        data.val,
        data.test if test else None,
        list(info.class_names),
        source,
        multilabel=info.multilabel,
        counts={k: int(sum(v.values())) for k, v in info.split_counts.items()},
        skipped=dict(info.skipped),
        image_shape=tuple(info.input_shape),
    )


def job_arrays(name: str, train_samples: int | None, val_samples: int, seed: int):
    """`(train, val, test, class_names)`; train and val are stratified draws from the training set.

    The test set is always the dataset's full official test split.
    """
    from kerasft.data.keras_datasets import load_arrays

    (x, y), (x_test, y_test), class_names = load_arrays(name)
    y, y_test = np.asarray(y).reshape(-1), np.asarray(y_test).reshape(-1)
    if val_samples < 0 or val_samples >= len(y):
        raise KerasftError(
            f"val_samples={val_samples} must be between 0 and {len(y) - 1} for {name!r}."
        )
    rest, val, _ = split_indices(y, validation_split=val_samples / len(y) or None, seed=seed)
    if train_samples is not None:
        if train_samples < 1:
            raise KerasftError(f"train_samples={train_samples} must be at least 1 (or null: all).")
        if train_samples < len(rest):
            keep, _, _ = split_indices(
                y[rest], validation_split=1 - train_samples / len(rest), seed=seed
            )
            rest = rest[keep]
    return (x[rest], y[rest]), (x[val], y[val]), (x_test, y_test), list(class_names)


def held_out(
    spec: str,
    *,
    image_size=None,
    batch_size: int = 64,
    class_names: list[str] | None = None,
    data_dir: str | None = None,
    clip_samples: int | None = None,
):
    """`(test data, class_names)` of a source given for evaluation only.

    A Keras dataset gives its official test split; a folder its `test/` sub-tree when it has
    one, else every image in it; a CSV every row; `tfds:NAME` its "test" split. With
    `class_names` (the model's), folders and CSVs are read in that class order. Audio
    (`clip_samples`: the model's clip length at 16 kHz) is centre-cropped or padded to it.
    """
    source = kind(spec)
    if source.startswith("audio_"):
        return _held_out_audio(spec, source, batch_size, class_names, clip_samples)
    if source == "keras":
        from kerasft.data.keras_datasets import load_arrays

        name = spec.split(":", 1)[1] if spec.startswith("keras:") else spec
        _, (x, y), names = load_arrays(name)
        return (x, y), list(names)
    options = dict(image_size=image_size, batch_size=batch_size, shuffle=False, cache=False)
    if source == "tfds":
        from kerasft.data import from_tfds

        data = from_tfds(spec[len("tfds:") :], data_dir=data_dir, split="test", **options)
    elif source == "csv":
        from kerasft.data import from_csv

        data = from_csv(spec, class_names=class_names, **options)
    else:
        from kerasft.data import from_folder

        root = Path(spec).expanduser()
        folder = root / "test" if (root / "test").is_dir() else root
        data = from_folder(folder, class_names=class_names, **options)
    return data.train, list(data.info.class_names)


def _held_out_audio(spec, source, batch_size, class_names, clip_samples):
    from kerasft.backbones.log_mel import SAMPLE_RATE
    from kerasft.jobs.audio_sources import AUDIO_CORPORA, audio_corpus_path

    options = dict(
        batch_size=batch_size,
        class_names=class_names,
        validation_split=None,
        clip_seconds=clip_samples / SAMPLE_RATE if clip_samples else None,
        shuffle=False,  # centre crops, in file order
    )
    if source == "audio_csv":
        from kerasft.data import from_audio_csv

        data = from_audio_csv(spec, **options)
    else:
        from kerasft.data import from_audio_folder

        root = audio_corpus_path(spec) if spec in AUDIO_CORPORA else Path(spec).expanduser()
        data = from_audio_folder(root / "test" if (root / "test").is_dir() else root, **options)
    return data.arrays["train"], list(data.info.class_names)


def run_test_data(run_dir: Path, batch_size: int = 64):
    """`(test data, class_names)` of a `kerasft fit` run: its own test split, from its config.

    The split is carved again with the run's seed and split keys, so these are the images the
    run's `metrics.json` was scored on.
    """
    from kerasft import config

    cfg = config.resolve(config.read(Path(run_dir) / "config.yaml"), {"batch_size": batch_size})
    data = job_data(cfg)
    if data.test is None:
        raise KerasftError(
            f"the run in {run_dir} kept no test split (test_split: 0); pass --data with "
            "held-out images."
        )
    return data.test, data.class_names
