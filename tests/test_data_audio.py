"""Audio loaders: synthesized WAV/FLAC/OGG clips in tmp folders, and the prepared real corpora."""

from __future__ import annotations

import csv
import warnings

import numpy as np
import pytest
import soundfile
from audio_corpora import peak_hz, prepared, tone

import kerasft.data as kdata
from kerasft.data.audio import clip_seconds_for, fit_length
from kerasft.data.audio_files import read_audio, read_audios
from kerasft.errors import KerasftError

RATE = 16000


def _ramp(seconds: float, start: float = -0.9) -> np.ndarray:
    # Distinct, exactly representable values: where a crop starts can be read off its first value.
    n = round(seconds * RATE)
    return (start + np.arange(n) / 2**16).astype(np.float32)


def _write(path, wave, rate=RATE, **kwargs):
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, wave, rate, **kwargs)
    return path


def test_files_are_resampled_to_mono_16k_and_keep_their_tone(tmp_path):
    wav = _write(tmp_path / "a.wav", tone(440, 1.0, 8000), 8000)
    stereo = np.stack([tone(1000, 0.5, 44100), np.zeros(22050, np.float32)], axis=1)
    flac = _write(tmp_path / "b.flac", stereo, 44100)
    ogg = _write(tmp_path / "c.ogg", tone(2000, 0.8, 22050), 22050, format="OGG", subtype="VORBIS")
    a, b, c = (read_audio(p) for p in (wav, flac, ogg))
    assert a.dtype == np.float32 and a.shape == (16000,)
    assert b.shape == (8000,) and c.shape == (12800,)
    assert abs(peak_hz(a, RATE) - 440) < 2
    assert abs(peak_hz(b, RATE) - 1000) < 3
    assert abs(peak_hz(c, RATE) - 2000) < 3
    # The channels are averaged: a 0.5 sine beside silence peaks at 0.25.
    assert 0.23 < np.abs(b[1000:-1000]).max() < 0.26
    assert read_audio(wav, sample_rate=8000).shape == (8000,)


def test_unreadable_empty_and_zero_length_files_are_skipped_with_one_warning(tmp_path):
    for cls in ("low", "high"):
        for i in range(3):
            _write(tmp_path / cls / f"{i}.wav", tone(300 if cls == "low" else 3000, 0.5, RATE))
    (tmp_path / "low" / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEnot audio at all")
    (tmp_path / "low" / "empty.flac").write_bytes(b"")
    _write(tmp_path / "high" / "zero.wav", np.zeros(0, np.float32))
    with pytest.warns(kdata.SkippedFilesWarning) as caught:
        data = kdata.from_audio_folder(tmp_path, validation_split=None)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "skipped 3 unreadable or empty audio file(s)" in message
    for name in ("corrupt.wav", "empty.flac", "zero.wav"):
        assert name in message
    reasons = {p.rsplit("/", 1)[-1]: r for p, r in data.info.skipped.items()}
    assert set(reasons) == {"corrupt.wav", "empty.flac", "zero.wav"}
    assert reasons["empty.flac"] == "empty file (0 bytes)"
    assert reasons["zero.wav"] == "no audio samples (zero length)"
    assert data.info.num_examples == 6 and data.info.class_counts == {"high": 3, "low": 3}


def test_a_folder_without_readable_audio_is_an_error_naming_it(tmp_path):
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        (tmp_path / cls / "x.wav").write_bytes(b"garbage")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kdata.SkippedFilesWarning)
        with pytest.raises(KerasftError, match=f"no readable audio in folder '{tmp_path}'"):
            kdata.from_audio_folder(tmp_path)


def test_default_clip_length_is_the_95th_percentile_rounded_up_and_bounded():
    assert clip_seconds_for([1.0] * 19 + [1.2]) == 1.5  # p95 = 1.01 -> 1.5
    assert clip_seconds_for([2.0] * 20) == 2.0  # already a multiple of 0.5
    assert clip_seconds_for([0.2] * 20) == 1.0  # min_seconds
    assert clip_seconds_for([0.2] * 20, min_seconds=0.5) == 0.5
    assert clip_seconds_for([30.0] * 20) == 10.0  # at most 10 s
    assert clip_seconds_for([30.0], clip_seconds=12) == 12.0  # given: used as is
    with pytest.raises(KerasftError, match="clip_seconds=0"):
        clip_seconds_for([1.0], clip_seconds=0)


def test_short_clips_are_padded_at_the_end_and_eval_crops_take_the_middle(tmp_path):
    short, long = _ramp(0.5), _ramp(3.0, start=0.1)
    for cls, wave in (("short", short), ("long", long)):
        for i in range(4):
            _write(tmp_path / cls / f"{i}.wav", wave, subtype="FLOAT")
    data = kdata.from_audio_folder(tmp_path, validation_split=0.5, clip_seconds=1.0, seed=3)
    assert data.info.modality == "audio" and data.info.sample_rate == RATE
    assert data.info.clip_seconds == 1.0 and data.info.input_shape == (RATE,)
    x, y = data.arrays["val"]
    assert x.dtype == np.float32 and x.shape == (4, RATE)
    names = np.array(data.info.class_names)[y]
    for wave, name in zip(x, names):
        if name == "short":
            np.testing.assert_array_equal(wave[:8000], short)
            assert not wave[8000:].any()
        else:
            middle = (len(long) - RATE) // 2
            np.testing.assert_array_equal(wave, long[middle : middle + RATE])
    assert fit_length(np.arange(7.0), 4).tolist() == [1.0, 2.0, 3.0, 4.0]


def test_training_crops_are_random_but_seeded(tmp_path):
    long = _ramp(4.0, start=0.1)
    for cls in ("a", "b"):
        for i in range(8):
            _write(tmp_path / cls / f"{i}.wav", long, subtype="FLOAT")
    load = lambda seed: kdata.from_audio_folder(  # noqa: E731
        tmp_path, validation_split=None, clip_seconds=1.0, seed=seed
    )
    first, again, other = load(1), load(1), load(2)
    x = first.arrays["train"][0]
    np.testing.assert_array_equal(x, again.arrays["train"][0])
    starts = np.round((x[:, 0] - 0.1) * 2**16).astype(int)
    np.testing.assert_array_equal(x, np.stack([long[s : s + RATE] for s in starts]))
    centre = (len(long) - RATE) // 2
    assert len(set(starts.tolist())) > 8 and (starts != centre).sum() >= 15
    assert not np.array_equal(x, other.arrays["train"][0])


def test_splits_are_stratified_and_the_datasets_match_the_arrays(tmp_path):
    for k, cls in enumerate(("c0", "c1", "c2")):
        for i in range(10):
            _write(tmp_path / cls / f"{i}.wav", tone(200 * (k + 1) + i, 0.25, RATE))
    data = kdata.from_audio_folder(
        tmp_path, validation_split=0.2, test_split=0.1, batch_size=4, seed=0
    )
    info = data.info
    assert info.split_counts["val"] == {"c0": 2, "c1": 2, "c2": 2}
    assert info.split_counts["test"] == {"c0": 1, "c1": 1, "c2": 1}
    assert info.split_counts["train"] == {"c0": 7, "c1": 7, "c2": 7}
    assert info.clip_seconds == 1.0  # 0.25 s clips: min_seconds
    seen = np.concatenate([b.numpy() for b, _ in data.val])
    labels = np.concatenate([lab.numpy() for _, lab in data.val])
    np.testing.assert_array_equal(seen, data.arrays["val"][0])
    np.testing.assert_array_equal(labels, data.arrays["val"][1])
    waves, batch_labels = next(iter(data.train))
    assert waves.dtype.name == "float32" and waves.shape == (4, RATE)
    assert batch_labels.dtype.name == "int64"
    assert "audio clips of 1 s at 16000 Hz" in str(info)
    assert kdata.DatasetInfo.from_config(info.get_config()) == info


def test_csv_paths_are_relative_to_the_csv_and_bad_columns_are_named(tmp_path):
    rows = []
    for k, cls in enumerate(("hum", "beep")):
        for i in range(4):
            rel = f"clips/{cls}{i}.flac"
            _write(tmp_path / rel, tone(150 if k == 0 else 2500, 0.4, 44100), 44100)
            rows.append({"file": rel, "kind": cls})
    rows.append({"file": "clips/missing.wav", "kind": "hum"})
    table = tmp_path / "clips.csv"
    with open(table, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["file", "kind"])
        writer.writeheader()
        writer.writerows(rows)
    with pytest.warns(kdata.SkippedFilesWarning, match="missing.wav"):
        data = kdata.from_audio_csv(table, path_col="file", label_col="kind", validation_split=None)
    assert data.info.class_names == ["beep", "hum"] and data.info.num_examples == 8
    assert data.info.source == f"csv:{table}"
    x, y = data.arrays["train"]
    hums = x[y == 1]
    assert all(abs(peak_hz(w[:6400], RATE) - 150) < 5 for w in hums)
    with pytest.raises(KerasftError, match="path_col='path' is not a column.*Columns: file, kind"):
        kdata.from_audio_csv(table)
    with pytest.raises(KerasftError, match="'label'.*file, kind"):
        kdata.from_audio_csv(table, path_col="file")


def test_read_audios_reports_a_bad_sample_rate():
    with pytest.raises(KerasftError, match="sample_rate=0"):
        read_audios([], sample_rate=0)


# --- The real corpora `make assets` prepares ---


def test_real_spoken_languages_load_with_their_language_names(tmp_path):
    folder = prepared("spoken_languages")
    languages = ["de", "fr", "ru"]
    rows = []
    for language in languages:
        clips = sorted((folder / language).glob("*.ogg"))
        assert len(clips) >= 10, (language, len(clips))
        rows += [(f"{language}/{c.name}", language) for c in clips[:10]]
    table = tmp_path / "ten_each.csv"
    with open(table, "w", newline="") as handle:
        csv.writer(handle).writerows([("path", "label"), *rows])
    with warnings.catch_warnings():
        warnings.simplefilter("error", kdata.SkippedFilesWarning)  # the real clips all read
        data = kdata.from_audio_csv(table, root=folder, validation_split=0.2, seed=0)
    info = data.info
    assert info.class_names == languages and info.class_counts == dict.fromkeys(languages, 10)
    assert info.split_counts["val"] == dict.fromkeys(languages, 2)
    assert 1.0 <= info.clip_seconds <= 10.0 and info.clip_seconds % 0.5 == 0
    x, _ = data.arrays["train"]
    assert x.shape == (24, info.clip_samples) and x.dtype == np.float32
    # Real speech, not silence: every clip has energy.
    assert (np.abs(x).max(axis=1) > 0.01).all()


def test_real_english_prompts_resample_from_8k(tmp_path):
    folder = prepared("prompts")
    clips = sorted((folder / "en").glob("*.wav"))
    assert len(clips) >= 500
    long = [c for c in clips if soundfile.info(c).duration >= 3.0]
    assert long, "the tagging test needs an English prompt of at least 3 s"
    frames = soundfile.info(long[0]).frames
    assert soundfile.info(long[0]).samplerate == 8000
    assert read_audio(long[0]).shape == (2 * frames,)
    digits = sorted((folder / "en").glob("digits_*.wav"))[:10]
    letters = sorted((folder / "en").glob("letters_*.wav"))[:10]
    rows = [(c.name, "digit") for c in digits] + [(c.name, "letter") for c in letters]
    table = tmp_path / "en.csv"
    with open(table, "w", newline="") as handle:
        csv.writer(handle).writerows([("path", "label"), *rows])
    data = kdata.from_audio_csv(table, root=folder / "en", validation_split=None, clip_seconds=2)
    assert data.info.class_counts == {"digit": 10, "letter": 10}
    assert data.arrays["train"][0].shape == (20, 32000)


def test_data_info_describes_an_audio_folder(tmp_path, capsys):
    from kerasft.cli.main import main

    for cls in ("a", "b"):
        for i in range(2):
            _write(tmp_path / cls / f"{i}.ogg", tone(500, 1.2, 22050), 22050, format="OGG")
    assert main(["data", "info", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "4 examples, 2 classes, audio clips of 1.5 s at 16000 Hz" in out
