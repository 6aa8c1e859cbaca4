"""KerasTuner's chief/worker mode through `kerasft tune --chief/--worker` on 127.0.0.1."""

import socket
import subprocess
import time

import yaml
from test_tuning_resume import quiet_env, rows, tiny_config, tune_command


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_chief_and_two_workers_record_every_trial_once(tmp_path):
    config = tmp_path / "tune.yaml"
    config.write_text(
        yaml.safe_dump(
            tiny_config(tmp_path / "runs", max_trials=4, epochs=[1, 1], train_samples=256)
        )
    )
    port = str(free_port())
    chief = [*tune_command(config, "--chief", "--oracle-port", port)]
    workers = [
        [*tune_command(config, "--worker", "--oracle-port", port, "--tuner-id", f"worker{i}")]
        for i in (1, 2)
    ]
    logs = [open(tmp_path / f"{name}.log", "w") for name in ("chief", "worker1", "worker2")]
    procs = []
    try:
        for command, log in zip([chief, *workers], logs):
            procs.append(
                subprocess.Popen(command, env=quiet_env(), stdout=log, stderr=subprocess.STDOUT)
            )
        deadline = time.monotonic() + 150
        for proc in procs:
            proc.wait(max(1.0, deadline - time.monotonic()))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for log in logs:
            log.close()
    output = {p.name: p.read_text()[-2000:] for p in tmp_path.glob("*.log")}
    assert [p.returncode for p in procs] == [0, 0, 0], output
    project = tmp_path / "runs" / "search"
    table = rows(project / "results.csv")
    assert sorted(r["trial"] for r in table) == ["0", "1", "2", "3"], output
    assert {r["status"] for r in table} == {"COMPLETED"}
    # The chief recorded what the workers measured: each trial's objective is the best epoch
    # of the history its worker wrote, and the search learned (chance is 0.10).
    for row in table:
        history = rows(project / f"trial_{row['trial']}" / "run" / "history.csv")
        assert float(row["objective"]) == max(float(r["val_accuracy"]) for r in history)
    assert max(float(r["objective"]) for r in table) > 0.3, table
    # The workers shared the search: each ran at least one trial, and between them they ran
    # each trial exactly once; only the chief wrote results.
    ran = {}
    for name in ("worker1", "worker2"):
        line = next(ln for ln in output[f"{name}.log"].splitlines() if "it ran trials:" in ln)
        listed = line.split("it ran trials:")[1].split(";")[0].strip()
        ran[name] = [] if listed == "none" else listed.split(", ")
    assert all(ran.values()), (ran, output)
    assert sorted(ran["worker1"] + ran["worker2"]) == ["0", "1", "2", "3"], output
    # Each worker printed a progress line for every trial it ran; the chief one for all four.
    for name in ("worker1", "worker2"):
        for trial_id in ran[name]:
            assert f"[kerasft tune {name}] trial {trial_id} COMPLETED" in output[f"{name}.log"]
    assert output["chief.log"].count("[kerasft tune] trial ") == 4, output["chief.log"]
    assert (project / "best_model.keras").stat().st_size > 0
    assert (project / "best_config.yaml").exists()
