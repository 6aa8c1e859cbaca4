"""What a search leaves behind: results table (CSV, Markdown), plots, TensorBoard HParams,
the one-factor sweep report, the best configuration as a `kerasft fit` YAML and best model.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

FIRST_COLUMNS = ("trial", "status", "objective")


def _clean(values: dict) -> dict:
    return {k: v for k, v in values.items() if not k.startswith("tuner/")}


def trial_rows(oracle, objective: str) -> list[dict[str, Any]]:
    """One row per trial, in start order: id, status, objective, every hyperparameter, reason."""
    rows = []
    order = list(getattr(oracle, "start_order", [])) or sorted(oracle.trials)
    for trial_id in order:
        trial = oracle.trials[trial_id]
        score = None
        if trial.metrics.exists(objective):
            score = trial.metrics.get_best_value(objective)
        status = str(trial.status)
        reason = ""
        if trial.message:
            lines = [line for line in str(trial.message).strip().splitlines() if line.strip()]
            reason = lines[-1] if lines else ""
        rows.append(
            {
                "trial": trial_id,
                "status": status,
                "objective": None if score is None else float(score),
                **_clean(trial.hyperparameters.values),
                "reason": reason,
            }
        )
    return rows


def sort_rows(rows: list[dict], direction: str) -> list[dict]:
    def key(row):
        score = row["objective"]
        if score is None or (isinstance(score, float) and math.isnan(score)):
            return (1, 0.0)
        return (0, -score if direction == "max" else score)

    return sorted(rows, key=key)


def _columns(rows: list[dict]) -> list[str]:
    columns = list(FIRST_COLUMNS)
    for row in rows:
        for key in row:
            if key not in columns and key != "reason":
                columns.append(key)
    return [*columns, "reason"]


def write_table(rows: list[dict], directory: str | os.PathLike, direction: str) -> list[dict]:
    """`results.csv` and `results.md`, best trial first; returns the sorted rows."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rows = sort_rows(rows, direction)
    columns = _columns(rows)
    with open(directory / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns})
    with open(directory / "results.md", "w") as f:
        f.write("| " + " | ".join(columns) + " |\n")
        f.write("|" + "---|" * len(columns) + "\n")
        for row in rows:
            f.write("| " + " | ".join(_fmt(row.get(c, "")) for c in columns) + " |\n")
    return rows


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "/") if value is not None else ""


def plot_progress(rows: Sequence[dict], path: str | os.PathLike, direction: str, name: str):
    """Objective per trial (start order) and the best-so-far curve, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs, ys, best, best_so_far = [], [], [], None
    for i, row in enumerate(rows):
        score = row["objective"]
        if score is None:
            continue
        better = best_so_far is None or (
            score > best_so_far if direction == "max" else score < best_so_far
        )
        best_so_far = score if better else best_so_far
        xs.append(i)
        ys.append(score)
        best.append(best_so_far)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(xs, ys, "o", label="trial")
    ax.step(xs, best, where="post", label="best so far")
    ax.set_xlabel("trial (start order)")
    ax.set_ylabel(name)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def sweep_report(rows: Sequence[dict], directory: str | os.PathLike, name: str) -> dict:
    """Effect of each hyperparameter alone: `sweep.md` and `sweep_<param>.png` per parameter.

    Returns `{param: [(value, objective), ...]}`, the base configuration included.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory = Path(directory)
    base = next((r for r in rows if r.get("sweep/parameter") == "base"), None)
    effects: dict[str, list] = {}
    for row in rows:
        param = row.get("sweep/parameter")
        if not param or param == "base":
            continue
        effects.setdefault(param, []).append((row.get(param), row["objective"]))
    lines = [f"| parameter | value | {name} | change vs base |", "|---|---|---|---|"]
    base_score = base["objective"] if base else None
    for param, points in effects.items():
        if base is not None and base.get(param) is not None:
            points.append((base.get(param), base_score))
        points.sort(key=lambda p: (str(type(p[0])), p[0] if p[0] is not None else 0))
        for value, score in points:
            delta = "" if score is None or base_score is None else f"{score - base_score:+.4g}"
            lines.append(f"| {param} | {_fmt(value)} | {_fmt(score)} | {delta} |")
        fig, ax = plt.subplots(figsize=(4, 3))
        labels = [_fmt(v) for v, _ in points]
        scores = [float("nan") if s is None else s for _, s in points]
        ax.plot(range(len(points)), scores, "o-")
        ax.set_xticks(range(len(points)), labels, rotation=30)
        ax.set_xlabel(param)
        ax.set_ylabel(name)
        if base_score is not None:
            ax.axhline(base_score, color="gray", ls="--", lw=1, label="base")
            ax.legend()
        fig.tight_layout()
        fig.savefig(directory / f"sweep_{param.replace('/', '_')}.png", dpi=80)
        plt.close(fig)
    (directory / "sweep.md").write_text("\n".join(lines) + "\n")
    return effects


def write_hparams(rows: Sequence[dict], directory: str | os.PathLike, name: str) -> None:
    """TensorBoard HParams dashboard: one run per trial under `directory/<trial>`."""
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp_api

    params: dict[str, set] = {}
    for row in rows:
        for key, value in row.items():
            if key in (*FIRST_COLUMNS, "reason") or value is None:
                continue
            params.setdefault(key, set()).add(value if not isinstance(value, list) else str(value))
    hparams = {}
    for key, values in params.items():
        kinds = {type(v) for v in values}
        if kinds <= {int, float}:
            hparams[key] = hp_api.HParam(
                key, hp_api.RealInterval(float(min(values)), float(max(values)))
            )
        else:
            hparams[key] = hp_api.HParam(key, hp_api.Discrete(sorted(str(v) for v in values)))
    directory = Path(directory)
    with tf.summary.create_file_writer(str(directory)).as_default():
        hp_api.hparams_config(
            hparams=list(hparams.values()), metrics=[hp_api.Metric(name, display_name=name)]
        )
    for row in rows:
        values = {}
        for key, param in hparams.items():
            value = row.get(key)
            if value is None:
                continue  # a conditional parameter that does not apply to this trial
            values[param] = str(value) if isinstance(param.domain, hp_api.Discrete) else value
        with tf.summary.create_file_writer(str(directory / f"trial_{row['trial']}")).as_default():
            hp_api.hparams(values, trial_id=str(row["trial"]))
            if row["objective"] is not None:
                tf.summary.scalar(name, row["objective"], step=0)
