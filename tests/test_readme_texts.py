"""The README's "Your own texts" section runs as written, command by command, on real texts.

The commands are read from README.md at test time and run in order through
`kerasft.cli.main.main` in a temporary folder, against the real MiniLM weights and the
corpora `make assets` prepared (BBC News, Debian's descriptions); `texts.csv` is written from
real BBC articles. Flags appended to fit the suite's budget (argparse keeps the last value)
shorten training and nothing else.
"""

from __future__ import annotations

import csv
import json
import shlex

import pytest
from readme_sections import commands, section

from kerasft.backbones.text_presets import TEXT_BACKBONES
from kerasft.cli.main import main
from kerasft.paths import kerasft_data_dir

SECTION = section("Your own texts")
COMMANDS = commands(SECTION)
FAST = [
    "--train-samples",
    "150",
    "--val-samples",
    "50",
    "--sequence-length",
    "32",
    "--set",
    "verbose=0",
]
SHORTER = {
    "fit --data bbc_news": [*FAST, "--epochs", "2", "1"],
    "fit --data texts.csv": [*FAST, "--epochs", "2", "0"],
    "fit --data debian_descriptions": [*FAST, "--epochs", "1", "0", "--test-split", "0.02"],
}


@pytest.fixture(scope="module")
def assets():
    missing = [
        str(p)
        for p in (
            TEXT_BACKBONES["minilm"].path / "model.safetensors",
            kerasft_data_dir() / "bbc_news" / "info.json",
            kerasft_data_dir() / "debian_descriptions" / "texts.csv",
        )
        if not p.exists()
    ]
    if missing:  # never fetched here: the suite uses no network
        pytest.fail(f"missing {missing}: run `make assets` first.")


def test_the_section_lists_the_commands_it_documents():
    assert COMMANDS[:3] == [
        "kerasft weights import minilm",
        "kerasft data prepare bbc_news",
        "kerasft data prepare debian_descriptions",
    ]
    assert any(c.startswith("kerasft fit --data texts.csv") for c in COMMANDS)


def test_readme_text_commands_run_in_order(assets, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    bbc = kerasft_data_dir() / "bbc_news"
    with open("texts.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["body", "topic"])
        for topic in ("business", "sports", "tech"):
            for path in sorted((bbc / topic).glob("*.txt"))[:70]:
                writer.writerow([path.read_text(encoding="utf-8"), topic])
    for command in COMMANDS:
        argv = shlex.split(command)[1:]
        extra = next((v for k, v in SHORTER.items() if " ".join(argv).startswith(k)), [])
        assert main(argv + extra) == 0, command
        capsys.readouterr()
    metrics = json.loads((tmp_path / "runs/bbc/metrics.json").read_text())
    assert metrics["train_samples"] == 150 and metrics["sequence_length"] == 32
    assert metrics["test_accuracy"] > 0.7  # 5 classes; chance is 0.2
    report = json.loads((tmp_path / "runs/bbc/evaluation/report.json").read_text())
    assert report["accuracy"] == pytest.approx(metrics["test_accuracy"])
    assert len(report["top_losses"]) == 16 and "text" in report["top_losses"][0]
    texts = json.loads((tmp_path / "runs/texts/data.json").read_text())
    assert texts["class_names"] == ["business", "sports", "tech"] and texts["modality"] == "text"
    debian = json.loads((tmp_path / "runs/debian/metrics.json").read_text())
    assert len(debian["class_names"]) == 30 and debian["test_samples"] > 700
    assert debian["test_accuracy"] > 1 / 30
