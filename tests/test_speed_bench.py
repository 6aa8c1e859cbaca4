"""The benchmark scripts run end to end (tiny sizes, random weights) and print their JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

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
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))

    def run(name, *args, capsys):
        import importlib

        module = importlib.import_module(name)
        monkeypatch.setattr(sys, "argv", [name, *TINY, *args])
        result = module.main()
        line = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("{")][-1]
        assert json.loads(line) == result
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
