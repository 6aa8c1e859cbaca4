"""The result of `kerasft.evaluate`: metrics plus the writers for JSON, Markdown, PNG and TensorBoard."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from kerasft.evaluation import plots

_SCALARS = ("accuracy", "top_k_accuracy", "hamming_accuracy", "loss", "roc_auc", "ece")


def _excerpt(text: str, limit: int = 160) -> str:
    """One Markdown-table-safe line of at most `limit` characters of `text`."""
    line = " ".join(str(text).split()).replace("|", "\\|")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


class Report:
    """Evaluation metrics of one model on one dataset, with the samples it got most wrong.

    `report["accuracy"]` reads a metric, `report.save(out_dir)` writes `report.json`,
    `report.md`, `confusion_matrix.png`, `top_losses.png` and (when Grad-CAM heatmaps were
    computed) `top_losses_gradcam.png`, whose layer `report["gradcam_layer"]` names.

    Example:

    >>> import numpy as np
    >>> from kerasft.evaluation import metrics
    >>> from kerasft.evaluation.report import Report
    >>> m = metrics.classification_metrics(np.array([0, 1]), np.array([[0.9, 0.1], [0.4, 0.6]]),
    ...                                    task="multiclass")
    >>> report = Report(m)
    >>> report["accuracy"]
    1.0
    >>> "| accuracy | 1.0000 |" in report.to_markdown()
    True

    Attributes:
        metrics: JSON-ready dictionary of every metric (see `metrics.classification_metrics`).
        y_true: labels as class indices (multi-hot rows for multilabel), or None.
        y_prob: the model's probabilities `(N, C)`, or None.
        top_losses: list of dicts (`index`, `loss`, `true`, `predicted`, `probability`),
            highest loss first.
        top_loss_images: the images of `top_losses`, `(K, H, W, C)`, or None.
        top_loss_heatmaps: Grad-CAM heatmaps `(K, H, W)` in [0, 1] for those images, or None.
    """

    def __init__(
        self,
        metrics: dict,
        y_true: np.ndarray | None = None,
        y_prob: np.ndarray | None = None,
        top_losses: list[dict] | None = None,
        top_loss_images: np.ndarray | None = None,
        top_loss_heatmaps: np.ndarray | None = None,
    ):
        self.metrics = dict(metrics)
        self.y_true = y_true
        self.y_prob = y_prob
        self.top_losses = list(top_losses or [])
        self.top_loss_images = top_loss_images
        self.top_loss_heatmaps = top_loss_heatmaps
        self.files: dict[str, Path] = {}

    def __getitem__(self, key: str) -> object:
        return self.metrics[key]

    def __contains__(self, key: str) -> bool:
        return key in self.metrics

    @property
    def task(self) -> str:
        return self.metrics["task"]

    @property
    def class_names(self) -> list[str]:
        return list(self.metrics["class_names"])

    def scalars(self) -> dict[str, float]:
        """The headline numbers (accuracy, top-k, loss, ROC-AUC, ECE, averaged F1) as floats."""
        out = {k: self.metrics[k] for k in _SCALARS if self.metrics.get(k) is not None}
        for avg in ("macro", "micro", "weighted"):
            out[f"{avg}_f1"] = self.metrics[avg]["f1"]
        return out

    def to_dict(self) -> dict:
        """The metrics and top losses as a JSON-ready dictionary (what `report.json` holds)."""
        return {**self.metrics, "top_losses": self.top_losses}

    def to_json(self, indent: int = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def to_markdown(self) -> str:
        """Markdown: headline metrics, per-class table, averages and most confused pairs."""
        m = self.metrics
        lines = [f"# Evaluation report ({m['task']}, {m['num_samples']} samples)", ""]
        lines += ["| metric | value |", "| --- | --- |"]
        for key in _SCALARS:
            if m.get(key) is not None:
                label = f"top-{m['top_k']} accuracy" if key == "top_k_accuracy" else key
                lines.append(f"| {label} | {_fmt(m[key])} |")
        if m.get("roc_auc_micro") is not None:
            lines.append(f"| roc_auc (micro) | {_fmt(m['roc_auc_micro'])} |")
        lines += ["", "| class | precision | recall | F1 | support | ROC-AUC |"]
        lines.append("| --- | --- | --- | --- | --- | --- |")
        for name, row in m["per_class"].items():
            lines.append(
                f"| {name} | {_fmt(row['precision'])} | {_fmt(row['recall'])} | "
                f"{_fmt(row['f1'])} | {row['support']} | {_fmt(row['roc_auc'])} |"
            )
        for avg in ("macro", "micro", "weighted"):
            row = m[avg]
            lines.append(
                f"| **{avg} avg** | {_fmt(row['precision'])} | {_fmt(row['recall'])} | "
                f"{_fmt(row['f1'])} | | |"
            )
        if m.get("most_confused"):
            lines += ["", "## Most confused"]
            if m["task"] == "multilabel":
                lines += [
                    "",
                    "| label | false positives | false negatives |",
                    "| --- | --- | --- |",
                ]
                lines += [
                    f"| {p['label']} | {p['false_positives']} | {p['false_negatives']} |"
                    for p in m["most_confused"]
                ]
            else:
                lines += ["", "| true | predicted | count |", "| --- | --- | --- |"]
                lines += [
                    f"| {p['true']} | {p['predicted']} | {p['count']} |" for p in m["most_confused"]
                ]
        if self.top_losses and "text" in self.top_losses[0]:
            lines += ["", "## Worst-predicted texts", ""]
            lines += ["| index | true | predicted | probability | loss | text |"]
            lines.append("| --- | --- | --- | --- | --- | --- |")
            lines += [
                f"| {t['index']} | {t['true']} | {t['predicted']} | {_fmt(t['probability'])} | "
                f"{_fmt(t['loss'])} | {_excerpt(t['text'])} |"
                for t in self.top_losses
            ]
        elif self.top_losses:
            lines += ["", "## Top losses", "", "| index | true | predicted | probability | loss |"]
            lines.append("| --- | --- | --- | --- | --- |")
            lines += [
                f"| {t['index']} | {t['true']} | {t['predicted']} | {_fmt(t['probability'])} | "
                f"{_fmt(t['loss'])} |"
                for t in self.top_losses
            ]
        if m.get("gradcam_layer"):
            lines += [
                "",
                f"Grad-CAM heatmaps (`top_losses_gradcam.png`) explain `{m['gradcam_layer']}`.",
            ]
        return "\n".join(lines) + "\n"

    def _titles(self) -> list[str]:
        return [
            f"true: {t['true']}\npred: {t['predicted']} ({t['probability']:.2f})"
            for t in self.top_losses
        ]

    def figures(self) -> dict[str, bytes]:
        """PNG bytes of every figure this report can draw, keyed by file name."""
        out = {
            "confusion_matrix.png": plots.confusion_matrix_png(
                np.asarray(self.metrics["confusion_matrix"]), self.class_names
            )
        }
        texts = self.top_losses and "text" in self.top_losses[0]
        if self.top_loss_images is not None and len(self.top_losses) and not texts:
            out["top_losses.png"] = plots.top_losses_png(self.top_loss_images, self._titles())
            if self.top_loss_heatmaps is not None:
                out["top_losses_gradcam.png"] = plots.top_losses_png(
                    self.top_loss_images, self._titles(), heatmaps=self.top_loss_heatmaps
                )
        return out

    def save(self, out_dir: str | Path) -> dict[str, Path]:
        """Write `report.json`, `report.md` and the PNG figures to `out_dir`; returns their paths."""
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        files = {"report.json": out_dir / "report.json", "report.md": out_dir / "report.md"}
        files["report.json"].write_text(self.to_json())
        files["report.md"].write_text(self.to_markdown())
        for name, png in self.figures().items():
            files[name] = out_dir / name
            files[name].write_bytes(png)
        self.files = files
        return files

    def log_to_tensorboard(self, logdir: str | Path, step: int = 0) -> None:
        """Log the headline scalars, the Markdown report and the figures to TensorBoard."""
        import tensorflow as tf

        writer = tf.summary.create_file_writer(str(logdir))
        with writer.as_default():
            for key, value in self.scalars().items():
                tf.summary.scalar(f"evaluation/{key}", value, step=step)
            tf.summary.text("evaluation/report", self.to_markdown(), step=step)
            for name, png in self.figures().items():
                image = tf.image.decode_png(png, channels=4)[None]
                tf.summary.image(f"evaluation/{name.removesuffix('.png')}", image, step=step)
        writer.flush()
        writer.close()

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v:.4f}" for k, v in self.scalars().items() if "f1" not in k)
        return f"Report(task={self.task!r}, n={self.metrics['num_samples']}, {shown})"
