"""The README's "Your own recordings" section runs as written, command by command, on real audio.

The commands are read from README.md at test time and run in order through
`kerasft.cli.main.main` in a temporary folder, against musicnn's real weights and the recording
sets `make assets` prepared; `clips/` is linked from real KLettres clips of three languages.
Flags appended to fit the suite's budget (argparse keeps the last value) shorten training and
nothing else; the import and prepare lines find their results in place and return at once.
"""

from __future__ import annotations

import json
import shlex

from audio_corpora import prepared
from readme_sections import commands, section

from kerasft.cli.main import main

SECTION = section("Your own recordings")
COMMANDS = commands(SECTION)
SHORTER = {
    "fit --data spoken_languages": [
        "--epochs",
        "6",
        "1",
        "--train-samples",
        "400",
        "--set",
        "verbose=0",
    ],
    "fit --data clips/": ["--epochs", "3", "1", "--set", "verbose=0"],
}


def test_the_section_lists_the_commands_it_documents():
    assert COMMANDS[:3] == [
        "kerasft weights import musicnn",
        "kerasft data prepare spoken_languages",
        "kerasft data prepare prompts --languages en",
    ]
    assert "kerasft export runs/clips --format tflite" in COMMANDS


def test_readme_audio_commands_run_in_order(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    source = prepared("spoken_languages")
    prepared("prompts")
    for language in ("de", "en", "fr"):
        (tmp_path / "clips" / language).mkdir(parents=True)
        for path in sorted((source / language).glob("*.ogg"))[:20]:
            (tmp_path / "clips" / language / path.name).symlink_to(path)
    for command in COMMANDS:
        argv = shlex.split(command)[1:]
        extra = next((v for k, v in SHORTER.items() if " ".join(argv).startswith(k)), [])
        assert main(argv + extra) == 0, command
        out = capsys.readouterr().out
        if argv[0] == "export":
            assert "input float32 waveforms N x 24000" in out and "agreement" in out
    languages = json.loads((tmp_path / "runs/languages/metrics.json").read_text())
    assert languages["clip_samples"] == 48000 and len(languages["class_names"]) == 20
    # 20 classes (chance 0.05), 400 clips, 6 + 1 epochs; measured 0.42 (the full recipe: 0.98)
    assert languages["test_accuracy"] > 0.3
    clips = json.loads((tmp_path / "runs/clips/metrics.json").read_text())
    assert clips["clip_samples"] == 24000 and clips["class_names"] == ["de", "en", "fr"]
    assert (tmp_path / "runs/languages/evaluation/report.md").is_file()
    assert (tmp_path / "runs/clips/model.tflite").is_file()
