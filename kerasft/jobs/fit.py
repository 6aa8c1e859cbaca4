"""The `kerasft fit` job: build, fine-tune, score on the test set, write a run directory."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np

from kerasft import config as config_module
from kerasft import lora as lora_module
from kerasft import model_file
from kerasft.backbones.log_mel import SAMPLE_RATE
from kerasft.builder import build
from kerasft.errors import KerasftError
from kerasft.jobs.datasets import JobData, job_data, kind
from kerasft.jobs.model import build_kwargs
from kerasft.jobs.recipe import fine_tune_kwargs
from kerasft.jobs.run_dir import new_run_dir, unfinished_run, write_json
from kerasft.training.fine_tune import fine_tune
from kerasft.training.warm_start import warm_start


def _log(message: str) -> None:
    print(f"[kerasft fit] {message}", flush=True)


def _verbosity(verbose):
    # Keras's "auto" draws a progress bar even into a log file; one line per epoch reads better.
    if verbose == "auto":
        return 1 if sys.stdout.isatty() else 2
    return verbose


def _build(cfg: dict[str, Any], data: JobData) -> keras.Model:
    if data.modality == "text":
        return _build_text(cfg, data)
    if data.modality == "audio":
        return _build_audio(cfg, data)
    model = build(
        cfg["backbone"],
        len(data.class_names),
        task="multilabel" if data.multilabel else "multiclass",
        input_shape=data.image_shape,
        **build_kwargs(cfg),
    )
    _log(
        f"model: {cfg['backbone']} ({cfg['weights'] or 'random init'}), "
        f"{data.image_shape[0]} px input, {cfg['image_size']} px backbone; "
        f"phases {cfg['epochs'][0]} + {cfg['epochs'][1]} epochs"
    )
    return model


# What each modality's data is, and the backbone to use for it, for the mismatch errors.
_HOLDS = {
    "image": "images",
    "text": "texts",
    "audio": "audio clips",
}
_USE = {
    "image": "an image backbone (`kerasft backbones`)",
    "text": "a text backbone: backbone: minilm (after `kerasft weights import minilm`) or the "
    "path of a KerasHub / Hugging Face BERT folder",
    "audio": "an audio backbone: backbone: musicnn (after `kerasft weights import musicnn`)",
}
_GIVE = {
    "image": "image data (a folder of image class folders, a CSV of image paths, keras:NAME)",
    "text": "text data (a folder of .txt class folders, a CSV with a {text_col!r} column: "
    "--text-col NAME)",
    "audio": "audio data (a folder of .wav/.flac/.ogg class folders, a CSV of audio paths, "
    "drums, spoken_languages or prompts)",
}


def check_backbone(cfg: dict[str, Any], source: str) -> None:
    """Refuse a backbone of another modality than the data, before any data loads.

    Args:
        cfg: a resolved job config.
        source: `kind(cfg["data"])`.
    """
    from kerasft.backbones.modalities import backbone_modality, source_modality

    if cfg["from_run"]:
        return
    data, net = source_modality(source), backbone_modality(cfg["backbone"])
    if data == net:
        return
    raise KerasftError(
        f"backbone={cfg['backbone']!r} is {'an' if net != 'text' else 'a'} {net} backbone, but "
        f"data={cfg['data']!r} holds {_HOLDS[data]}. Use {_USE[data]}, or give "
        f"{_GIVE[net].format(text_col=cfg['text_col'])}."
    )


def _build_audio(cfg: dict[str, Any], data: JobData) -> keras.Model:
    model = build(
        cfg["backbone"],
        len(data.class_names),
        task="multilabel" if data.multilabel else "multiclass",
        input_shape=data.image_shape,  # (samples,): the clip length the loader fixed
        **build_kwargs(cfg),
    )
    seconds = data.image_shape[0] / SAMPLE_RATE
    _log(
        f"model: {cfg['backbone']} ({cfg['weights'] or 'random init'}), {seconds:g} s clips at "
        f"{SAMPLE_RATE // 1000} kHz{'' if cfg['clip_seconds'] else ' (95th percentile of the durations)'}; "
        f"augmentation {cfg['augmentation'] or 'none'}; "
        f"phases {cfg['epochs'][0]} + {cfg['epochs'][1]} epochs"
    )
    return model


def _build_text(cfg: dict[str, Any], data: JobData) -> keras.Model:
    model = build(
        cfg["backbone"],
        len(data.class_names),
        task="multilabel" if data.multilabel else "multiclass",
        texts=data.train[0],  # sequence_length: null picks it from these
        **build_kwargs(cfg),
    )
    length = model.get_layer("kft_tokenizer").sequence_length
    _log(
        f"model: {cfg['backbone']} ({cfg['weights'] or 'random init'}), {length} tokens per "
        f"text{'' if cfg['sequence_length'] else ' (95th percentile of the training texts)'}; "
        f"phases {cfg['epochs'][0]} + {cfg['epochs'][1]} epochs"
    )
    return model


def _describe(data: JobData) -> str:
    counts = ", ".join(f"{n} {split}" for split, n in data.counts.items())
    skipped = f"; {len(data.skipped)} unreadable files skipped" if data.skipped else ""
    if data.modality == "text":
        what = "texts"
    elif data.modality == "audio":
        what = f"clips of {data.image_shape[0] / SAMPLE_RATE:g} s"
    else:
        what = f"images of shape {data.image_shape}"
    return f"data {data.source}: {counts} {what}, {len(data.class_names)} classes{skipped}"


ADAPTERS = "adapters.weights.h5"


def _save_lora(model: keras.Model, run_dir: Path) -> dict[str, Any]:
    """Save the LoRA adapters (and the head) beside model.keras; describe them."""
    path = lora_module.save_adapters(model, run_dir / ADAPTERS)
    layers = lora_module.lora_layers(model)
    record = {
        "rank": lora_module.lora_rank(model),
        "layers": len(layers),
        "adapter_parameters": int(
            sum(int(np.prod(v.shape)) for layer in layers for v in lora_module.adapters(layer))
        ),
        "file": path.name,
        "file_bytes": path.stat().st_size,
    }
    _log(
        f"LoRA rank {record['rank']} on {record['layers']} layers: "
        f"{record['adapter_parameters']:,} adapter parameters, {path.name} "
        f"({record['file_bytes'] / 1e6:.2f} MB)"
    )
    return record


def score(model: keras.Model, test, multilabel: bool = False) -> dict[str, Any]:
    """Test accuracy of `model` on `(x, y)` arrays or a batched `(images, labels)` dataset.

    Single-label data also gets `test_macro_f1` (F1 averaged over the classes the test split
    holds). For multilabel data `test_accuracy` is the share of images whose every label is
    right, `test_binary_accuracy` the share of right labels.
    """
    if test is None:
        return {"test_accuracy": None, "test_samples": 0}
    from kerasft.evaluation.predict import iter_batches, predict_batch

    chunks, truth = [], []
    for x, y in iter_batches(model, test, batch_size=256, labels=True):
        chunks.append(predict_batch(model, x))
        truth.append(np.asarray(y))
    probs, labels = np.concatenate(chunks), np.concatenate(truth)
    if multilabel:
        right = (probs >= 0.5) == (labels >= 0.5)
        return {
            "test_accuracy": float(np.mean(right.all(axis=-1))),
            "test_binary_accuracy": float(np.mean(right)),
            "test_samples": int(len(labels)),
        }
    from kerasft.evaluation.metrics import confusion_matrix, precision_recall_f1

    truth, predicted = labels.reshape(-1).astype("int64"), np.argmax(probs, axis=-1)
    cm = confusion_matrix(truth, predicted, probs.shape[-1])
    tp = np.diag(cm)
    _, _, f1 = precision_recall_f1(tp, cm.sum(axis=0) - tp, cm.sum(axis=1) - tp)
    present = cm.sum(axis=1) > 0  # classes absent from the test split do not count
    return {
        "test_accuracy": float(np.mean(predicted == truth)),
        "test_macro_f1": float(f1[present].mean()) if present.any() else None,
        "test_samples": int(len(labels)),
    }


def run(config: dict[str, Any] | None = None) -> Path:
    """Run the fit job described by `config` (merged over the defaults); return its run dir.

    The run directory holds `config.yaml` (the resolved config), `data.json` (the data
    source, class names, split sizes and skipped files), `tensorboard/`, `history.csv`,
    `model.keras` (carrying its class names, see `kerasft.model_file`) and `metrics.json`
    (test accuracy, per-phase wall times). With `lora_rank`, `adapters.weights.h5` holds
    the adapters and the head alone (`kft.load_adapters`), `model.keras` is the merged
    plain model, and `metrics.json["lora"]` gives the rank and the file's size.
    """
    cfg = config_module.resolve(config)
    recipe = fine_tune_kwargs(cfg)  # a bad ft_schedule or callback fails before any work
    # So do a source that does not exist and a backbone of the other modality.
    check_backbone(cfg, kind(cfg["data"], cfg["path_col"], cfg["text_col"]))
    started = time.perf_counter()
    # The same command after a crash (or Ctrl-C) picks up the killed run where it stopped.
    run_dir = Path(cfg["run_dir"]) if cfg["run_dir"] else unfinished_run(cfg) or new_run_dir()
    if (run_dir / "metrics.json").exists():
        raise KerasftError(
            f"run_dir {os.fspath(run_dir)!r} already holds a finished run (metrics.json). "
            "Pass another --run-dir, or leave it out for a new runs/fit-<time> folder."
        )
    resuming = (run_dir / "config.yaml").exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    cfg["run_dir"] = os.fspath(run_dir)
    config_module.dump(cfg, run_dir / "config.yaml")
    _log(f"{'resuming unfinished run in' if resuming else 'run directory:'} {run_dir}")
    keras.utils.set_random_seed(cfg["seed"])

    t0 = time.perf_counter()
    data = job_data(cfg)
    load_time = time.perf_counter() - t0
    write_json(run_dir / "data.json", data.record())
    _log(_describe(data))
    class_names = data.class_names
    if cfg["from_run"]:
        model = warm_start(cfg["from_run"], class_names, reinit_head=cfg["reinit_head"])
        _log(
            f"warm start from {cfg['from_run']}"
            + (" with a new head" if cfg["reinit_head"] else "")
        )
    else:
        model = _build(cfg, data)
    history = fine_tune(
        model,
        data.train,
        data.val,
        **recipe,
        run_dir=run_dir,
        verbose=_verbosity(cfg["verbose"]),
    )
    lora = _save_lora(model, run_dir) if cfg["lora_rank"] else None
    # With LoRA, model.keras is the merged plain model: it reloads and exports like any other.
    saved = lora_module.merge_lora(model) if lora else model
    model_file.save(saved, run_dir / "model.keras", class_names=class_names, data=data.source)

    t0 = time.perf_counter()
    scores = score(model, data.test, data.multilabel)
    eval_time = time.perf_counter() - t0
    metrics = {
        **scores,
        "train_samples": int(data.counts.get("train", 0)),
        "val_samples": int(data.counts.get("val", 0)),
        "val_accuracy": (history.history.get("val_accuracy") or [None])[-1],
        "epochs": int(len(history.epoch)),
        "wall_time_s": {
            "data": load_time,
            "phase_1": history.phase_wall_times[0] if history.phase_wall_times else 0.0,
            "phase_2": history.phase_wall_times[1] if len(history.phase_wall_times) > 1 else 0.0,
            "evaluate": eval_time,
            "total": time.perf_counter() - started,
        },
        "class_names": class_names,
        "data": data.source,
    }
    if data.modality == "text":
        metrics["sequence_length"] = int(model.get_layer("kft_tokenizer").sequence_length)
    if data.modality == "audio":
        metrics["clip_samples"] = int(data.image_shape[0])
    if lora:
        metrics["lora"] = lora
    write_json(run_dir / "metrics.json", metrics)
    accuracy = metrics["test_accuracy"]
    _log(
        (
            f"test accuracy {accuracy:.4f} on {metrics['test_samples']} {_HOLDS[data.modality]}; "
            if accuracy is not None
            else "no test split (test_split: 0); "
        )
        + f"wall time {metrics['wall_time_s']['total']:.0f} s; results in {run_dir}"
    )
    return run_dir
