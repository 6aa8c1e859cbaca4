"""The command line as a user meets it: YAML floats, range errors, tune progress, quiet start-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kerasft import config
from kerasft.cli.main import main
from kerasft.cli.quiet import held_back
from kerasft.tuning.backbones import SMALL_CNN

ROOT = Path(__file__).resolve().parents[1]
# Lines `import tensorflow` writes on this machine (the cuInit one only at a device look-up).
NOISE = (
    "All log messages before absl::InitializeLog()",
    "oneDNN custom operations are on",
    "Could not find cuda drivers",
)


def test_yaml_floats_without_a_dot_are_floats(tmp_path):
    path = tmp_path / "job.yaml"
    path.write_text("lr: 3e-4\nft_lr: 1E-5\nl2: 0\nepochs: [1, 0]\ndata: fashion_mnist\n")
    cfg = config.resolve(config.load(path))
    assert cfg["lr"] == 0.0003 and isinstance(cfg["lr"], float)
    assert cfg["ft_lr"] == 1e-5 and cfg["l2"] == 0 and cfg["epochs"] == [1, 0]
    assert config.yaml_load("1e3") == 1000.0 and isinstance(config.yaml_load("1e3"), float)
    assert config.yaml_load("e3") == "e3" and config.yaml_load("1.2.3") == "1.2.3"


def test_set_reads_yaml_floats(capsys):
    from kerasft.cli import fit
    from kerasft.cli.main import build_parser

    args = build_parser().parse_args(["fit", "--set", "lr=3e-4", "--set", "hidden_units=[8]"])
    assert fit.flags_to_config(args) == {"lr": 0.0003, "hidden_units": [8]}


@pytest.mark.parametrize(
    "argv, key, fix",
    [
        (["--batch-size", "0"], "'batch_size' = 0", "an integer >= 1"),
        (["--lr", "-0.1"], "'lr' = -0.1", "a number > 0"),
        (["--set", "ft_lr=0"], "'ft_lr' = 0", "or null"),
        (["--epochs", "2", "-1"], "'epochs' = [2, -1]", "two integers >= 0"),
        (["--set", "dropout=1.0"], "'dropout' = 1.0", "from 0 to below 1"),
        (["--set", "label_smoothing=-0.1"], "'label_smoothing' = -0.1", "from 0 to below 1"),
        (["--set", "l2=-1e-4"], "'l2' = -0.0001", "a number >= 0"),
        (["--image-size", "0"], "'image_size' = 0", "an integer >= 1"),
        (["--train-samples", "0"], "'train_samples' = 0", "(or null: all)"),
        (["--val-samples", "-1"], "'val_samples' = -1", "an integer >= 0"),
        (["--unfreeze-blocks", "-2"], "'unfreeze_blocks' = -2", "or 'all'"),
        (["--set", "ft_warmup=1"], "'ft_warmup' = 1", "to below 1"),
        (["--set", "backup_overhead=0"], "'backup_overhead' = 0", "a share of training time > 0"),
        (["--seed", "-3"], "'seed' = -3", "an integer >= 0"),
        (["--set", "hidden_units=[64, 0]"], "'hidden_units' = [64, 0]", "integers >= 1"),
        (["--backbone", "resnet5"], "Unknown backbone 'resnet5'", "Did you mean 'resnet50'"),
        (["--optimizer", "adma"], "Unknown optimizer 'adma'", "Did you mean 'adam'"),
        (["--augmentation", "meduim"], "Unknown augmentation preset 'meduim'", "'medium'"),
    ],
)
def test_fit_refuses_bad_values_before_any_work(tmp_path, capsys, argv, key, fix):
    run_dir = tmp_path / "never"
    assert main(["fit", *argv, "--run-dir", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kerasft fit: error:") and key in err and fix in err, err
    assert not run_dir.exists()  # refused before the run directory, the data or a model


def test_bad_values_fail_before_tensorflow_loads(tmp_path):
    # A fresh process: an unknown backbone and a range error are both reported without
    # TensorFlow (or the data) ever loading.
    tune_yaml = tmp_path / "tune.yaml"
    tune_yaml.write_text("backbone: mobilenet_v9\nmax_trials: 2\n")
    code = (
        "import sys\n"
        "from kerasft.cli.main import main\n"
        "codes = [main(['fit', '--batch-size', '0']), main(['fit', '--set', 'lr=3e-4', "
        f"'--backbone', 'nope']), main(['tune', {str(tune_yaml)!r}])]\n"
        "print(codes, 'tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert done.stdout.strip() == "[2, 2, 2] False False", done.stdout + done.stderr
    assert "'batch_size' = 0 is out of range" in done.stderr
    assert "Unknown backbone 'nope'" in done.stderr
    assert "tune config key 'backbone': Unknown backbone 'mobilenet_v9'" in done.stderr


def test_tune_prints_a_line_per_trial(tmp_path, capsys):
    directory = tmp_path / "runs"
    tune_yaml = tmp_path / "tune.yaml"
    tune_yaml.write_text(
        yaml.safe_dump(
            {
                "backbone": SMALL_CNN,
                "weights": None,
                "data": "fashion_mnist",
                "train_samples": 64,
                "val_samples": 32,
                "image_size": 32,
                "epochs": [1, 0],
                "batch_size": 32,
                "verbose": 0,
                "tuner": "grid",
                "max_trials": 2,
                "only": ["lr"],
                "directory": str(directory),
            }
        )
        # A user's YAML: 3e-4 must be a float, as in `lr: 3e-4`.
        + "space:\n  lr: [3e-4, 3e-3]\n"
    )
    assert main(["tune", str(tune_yaml)]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("[kerasft tune] trial ")]
    assert len(lines) == 2, out
    first, second = lines
    assert "trial 0 COMPLETED val_accuracy=" in first and "(best " in first
    assert sorted(line.split(" lr=")[1].split()[0] for line in lines) == ["0.0003", "0.003"]
    assert "[##########..........] 1/2" in first and "ETA" in first and "elapsed" in first
    assert "[####################] 2/2" in second and "ETA 0s" in second
    # The best so far of the second line is the better of the two objectives.
    scores = [float(line.split("val_accuracy=")[1].split()[0]) for line in lines]
    assert f"(best {max(scores):.4g})" in second
    # Each trial's folder keeps its line beside KerasTuner's trial.json.
    project = directory / "search"
    for trial_id, line in (("0", first), ("1", second)):
        folder = project / f"trial_{trial_id}"
        assert (folder / "trial.json").exists()
        assert (folder / "progress.log").read_text().strip() == line


def test_held_back_drops_only_start_up_noise(capfd):
    with held_back():
        os.write(2, b"W0000 00:00:1.5 1 port.cc:153] oneDNN custom operations are on. x\n")
        os.write(
            2,
            b"I0000 00:00:1.5 1 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.\n",
        )
        os.write(2, b"E0000 00:00:1.5 1 foo.cc:1] a real error\n")
        print("UserWarning: kept", file=sys.stderr)
    err = capfd.readouterr().err
    assert "a real error" in err and "UserWarning: kept" in err
    assert "oneDNN" not in err and "cuda drivers" not in err


def test_cli_start_up_noise_only_with_verbose(tmp_path):
    # `cache ls` imports TensorFlow (kerasft.cache) and little else.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    command = [sys.executable, "-m", "kerasft"]
    args = ["cache", "ls", "--dir", str(tmp_path)]
    procs = [
        subprocess.Popen(
            [*command, *flags, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        for flags in ([], ["--verbose"])
    ]
    (quiet_out, quiet_err), (loud_out, loud_err) = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert b"No cached features" in quiet_out and b"No cached features" in loud_out
    for line in NOISE:
        assert line.encode() not in quiet_err, quiet_err
        assert line.encode() in loud_err, loud_err
