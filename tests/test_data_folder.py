"""from_folder on real photos (scikit-image) and digits (scikit-learn), with broken files."""

from __future__ import annotations

import io
import shutil
import time

import numpy as np
import pytest
import skimage.data
from PIL import Image
from sklearn.datasets import load_digits

import kerasft.data as kdata
from kerasft.data.images import check_image, check_images, load_image
from kerasft.errors import KerasftError

BROKEN = ("cats/truncated.jpg", "coffee/text.png", "digits/empty.jpg")
CONVERTED = ("cats/cmyk.jpg",)  # PIL converts it; TensorFlow would misread CMYK
ODD_BUT_NATIVE = ("coffee/palette.png", "coffee/gray16.png", "cats/rgba.png", "digits/gray.gif")


def _photo_variants(photo: np.ndarray, count: int) -> list[np.ndarray]:
    return [np.roll(photo, 17 * i, axis=1) for i in range(count)]


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    for name in ("cats", "coffee", "digits"):
        (root / name).mkdir()
    # Downscaled real photos keep the test fast and the JPEGs realistic.
    cat = np.asarray(Image.fromarray(skimage.data.chelsea()).resize((90, 60)))
    coffee = np.asarray(Image.fromarray(skimage.data.coffee()).resize((90, 60)))
    for i, image in enumerate(_photo_variants(cat, 6)):
        Image.fromarray(image).save(root / f"cats/cat{i}.jpg", quality=90)
    for i, image in enumerate(_photo_variants(coffee, 6)):
        Image.fromarray(image).save(root / f"coffee/coffee{i}.png")
    digits = load_digits()
    for i in range(6):
        pixels = (digits.images[i] * 255 / 16).astype(np.uint8)
        Image.fromarray(pixels).resize((32, 32)).save(root / f"digits/digit{i}.bmp")

    jpeg = io.BytesIO()
    Image.fromarray(cat).save(jpeg, format="JPEG", quality=90)
    (root / "cats/truncated.jpg").write_bytes(jpeg.getvalue()[: len(jpeg.getvalue()) // 2])
    (root / "coffee/text.png").write_text("this is not a PNG, only named like one\n")
    (root / "digits/empty.jpg").write_bytes(b"")
    Image.fromarray(cat).convert("CMYK").save(root / "cats/cmyk.jpg", quality=95)
    Image.fromarray(coffee).convert("P", palette=Image.ADAPTIVE).save(root / "coffee/palette.png")
    gray16 = coffee[..., 1].astype(np.uint16) * 257
    Image.fromarray(gray16).save(root / "coffee/gray16.png")
    assert Image.open(root / "coffee/gray16.png").mode == "I;16"
    Image.fromarray(cat).convert("RGBA").save(root / "cats/rgba.png")
    Image.fromarray((digits.images[7] * 255 / 16).astype(np.uint8)).resize((32, 32)).save(
        root / "digits/gray.gif"
    )
    (root / "digits/notes.txt").write_text("ignored: not an image extension")
    return root


def _all_examples(dataset):
    images, labels = [], []
    for x, y in dataset:
        images.append(x.numpy())
        labels.append(y.numpy())
    return np.concatenate(images), np.concatenate(labels)


def test_check_image_sorts_files(tree):
    status = {p: check_image(tree / p).status for p in BROKEN + CONVERTED + ODD_BUT_NATIVE}
    assert {p for p, s in status.items() if s == "broken"} == set(BROKEN)
    assert {p for p, s in status.items() if s == "converted"} == set(CONVERTED)
    assert check_image(tree / "cats/truncated.jpg").reason.startswith("image file is truncated")
    assert check_image(tree / "coffee/text.png").reason == "not an image file"
    assert check_image(tree / "digits/empty.jpg").reason == "empty file"
    # Threads keep the order of the paths.
    paths = [str(p) for p in sorted(tree.rglob("*.*"))] * 2
    assert [c.path for c in check_images(paths, num_threads=4)] == paths


def test_from_folder_skips_exactly_the_broken_files_with_one_warning(tree):
    with pytest.warns(kdata.SkippedFilesWarning) as record:
        data = kdata.from_folder(tree, image_size=(24, 24), batch_size=5, shuffle=False)
    assert len(record) == 1
    message = str(record[0].message)
    assert "skipped 3 unreadable" in message
    for path in BROKEN:
        assert path.split("/")[1] in message
    assert set(data.info.skipped) == {str(tree / p) for p in BROKEN}
    assert set(data.info.converted) >= {str(tree / p) for p in CONVERTED}

    info = data.info
    assert info.class_names == ["cats", "coffee", "digits"]
    assert info.class_counts == {"cats": 8, "coffee": 8, "digits": 7}
    assert info.num_examples == 23 and info.image_size == (24, 24) and info.channels == 3
    images, labels = _all_examples(data.train)
    assert images.shape == (23, 24, 24, 3) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [8, 8, 7]
    assert data.val is None and data.test is None


def test_converted_and_odd_images_load_as_sane_rgb(tree):
    with pytest.warns(kdata.SkippedFilesWarning):
        data = kdata.from_folder(tree, image_size=(60, 90), batch_size=64, shuffle=False)
    images, _ = _all_examples(data.train)
    # Unshuffled, the order is the sorted file order of each class folder.
    order = [p for c in ("cats", "coffee", "digits") for p in sorted((tree / c).iterdir())]
    order = [p for p in order if p.suffix != ".txt" and str(p) not in data.info.skipped]
    by_name = {f"{p.parent.name}/{p.name}": images[i] for i, p in enumerate(order)}
    reference = load_image(tree / "cats/cat0.jpg").astype(float)
    cmyk = by_name["cats/cmyk.jpg"].astype(float)
    # CMYK comes back as the same photo in RGB (JPEG noise aside), not inverted or gray.
    assert np.abs(cmyk - reference).mean() < 8
    coffee = np.asarray(Image.open(tree / "coffee/coffee0.png").convert("RGB"), dtype=float)
    gray16 = by_name["coffee/gray16.png"].astype(float)
    # 16-bit is scaled down (>> 8), not clipped to white: it matches the green channel.
    assert np.abs(gray16[..., 0] - coffee[..., 1]).max() <= 1
    assert np.array_equal(gray16[..., 0], gray16[..., 2])
    palette = by_name["coffee/palette.png"].astype(float)
    assert np.abs(palette - coffee).mean() < 10
    rgba = by_name["cats/rgba.png"].astype(float)
    assert np.abs(rgba - reference).mean() < 8
    gif = by_name["digits/gray.gif"]
    assert gif.std() > 20 and np.array_equal(gif[..., 0], gif[..., 1])


def test_default_size_is_the_most_common_and_splits_are_stratified(tree):
    with pytest.warns(kdata.SkippedFilesWarning):
        data = kdata.from_folder(tree, validation_split=0.25, seed=3, batch_size=4)
    assert data.info.image_size == (60, 90)
    assert data.info.split_counts["val"] == {"cats": 2, "coffee": 2, "digits": 2}
    val_images, val_labels = _all_examples(data.val)
    assert val_images.shape[1:] == (60, 90, 3)
    assert np.bincount(val_labels).tolist() == [2, 2, 2]
    train_images, _ = _all_examples(data.train)
    assert len(train_images) == 17
    assert data.class_weights()[2] == pytest.approx(17 / (3 * 5))


def test_class_names_select_and_order_folders(tree):
    with pytest.warns(kdata.SkippedFilesWarning):
        data = kdata.from_folder(tree, image_size=16, class_names=["digits", "cats"])
    assert data.info.class_names == ["digits", "cats"]
    assert data.info.class_counts == {"digits": 7, "cats": 8}
    with pytest.raises(KerasftError, match="Did you mean 'cats'"):
        kdata.from_folder(tree, class_names=["catz", "digits"])


def test_folder_errors_are_clear(tmp_path, tree):
    with pytest.raises(KerasftError, match="does not exist"):
        kdata.from_folder(tmp_path / "nowhere")
    loose = tmp_path / "loose"
    loose.mkdir()
    shutil.copy(tree / "cats/cat0.jpg", loose / "a.jpg")
    with pytest.raises(KerasftError, match="no class sub-folders.*1 loose"):
        kdata.from_folder(loose)
    one = tmp_path / "one"
    (one / "only").mkdir(parents=True)
    shutil.copy(tree / "cats/cat0.jpg", one / "only/a.jpg")
    with pytest.raises(KerasftError, match="only one class folder"):
        kdata.from_folder(one)
    (one / "empty").mkdir()
    (one / "empty/readme.txt").write_text("no images here")
    with pytest.raises(KerasftError, match=r"\['empty'\].*hold no image files"):
        kdata.from_folder(one)
    broken_only = tmp_path / "broken_only"
    (broken_only / "good").mkdir(parents=True)
    (broken_only / "bad").mkdir()
    shutil.copy(tree / "cats/cat0.jpg", broken_only / "good/a.jpg")
    shutil.copy(tree / "digits/empty.jpg", broken_only / "bad/a.jpg")
    with pytest.raises(KerasftError, match=r"\['bad'\] have no readable images"):
        with pytest.warns(kdata.SkippedFilesWarning):
            kdata.from_folder(broken_only)


def test_scan_is_quick(tree):
    paths = [str(p) for p in tree.rglob("*.*")] * 10
    start = time.perf_counter()
    checks = check_images(paths)
    elapsed = time.perf_counter() - start
    assert len(checks) == len(paths)
    assert elapsed < 10, f"checking {len(paths)} small files took {elapsed:.1f}s"
