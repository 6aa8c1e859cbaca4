"""Preview grids and the `kerasft augment` command."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
from PIL import Image

import kerasft.augment as kaug
from kerasft.cli.main import main


@pytest.fixture(scope="module")
def photos():
    cat = np.asarray(Image.fromarray(skimage.data.chelsea()).resize((48, 32)))
    coffee = np.asarray(Image.fromarray(skimage.data.coffee()).resize((48, 32)))
    return np.stack([cat, coffee])


def test_preview_grid_layout(photos):
    grid = kaug.preview_grid(photos, "heavy", rows=3, cols=4, seed=0, padding=2)
    assert grid.dtype == np.uint8 and grid.shape == (3 * 32 + 4 * 2, 4 * 48 + 5 * 2, 3)
    # The first column is the original; row 3 shows the first image again.
    assert np.array_equal(grid[2:34, 2:50], photos[0])
    assert np.array_equal(grid[2 + 2 * 34 : 2 + 2 * 34 + 32, 2:50], photos[0])
    augmented = grid[2:34, 52:100].astype(int)
    assert np.abs(augmented - photos[0]).mean() > 1
    again = kaug.preview_grid(photos, "heavy", rows=3, cols=4, seed=0, padding=2)
    assert np.array_equal(grid, again)


def test_preview_grid_grayscale(photos):
    gray = photos[..., 0]
    grid = kaug.preview_grid(gray, "none", rows=1, cols=2, padding=0)
    assert grid.shape == (32, 96, 3)
    assert np.array_equal(grid[:, :48, 0], gray[0]) and np.array_equal(grid[:, 48:, 1], gray[0])


def test_save_preview_writes_png(photos, tmp_path):
    path = kaug.save_preview(tmp_path / "sub" / "grid.png", photos, "light", rows=2, cols=3)
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size[0] > image.size[1] > 0


def test_cli_preview_from_a_folder(photos, tmp_path, capsys):
    for name, image in zip(("cat", "coffee"), photos, strict=True):
        (tmp_path / "data" / name).mkdir(parents=True)
        Image.fromarray(image).save(tmp_path / "data" / name / "a.jpg")
    (tmp_path / "data" / "cat" / "broken.jpg").write_bytes(b"\xff\xd8 broken")
    out = tmp_path / "grid.png"
    code = main(
        ["augment", "preview", "--preset", "medium", "--data", str(tmp_path / "data"),
         "--out", str(out), "--rows", "2", "--cols", "3"]
    )  # fmt: skip
    assert code == 0 and "wrote" in capsys.readouterr().out
    with Image.open(out) as image:
        # 2 rows x 3 columns of 32x48 images with 2-pixel gaps, scaled x2 to be legible.
        assert image.size == ((3 * 48 + 4 * 2) * 2, (2 * 32 + 3 * 2) * 2)


def test_cli_preview_fashion_mnist(fashion_mnist, tmp_path):
    out = tmp_path / "fashion.png"
    assert main(["augment", "preview", "--data", "fashion_mnist", "--out", str(out)]) == 0
    grid = np.asarray(Image.open(out))
    assert grid.ndim == 3 and grid.shape[2] == 3 and grid.std() > 10


def test_cli_errors(capsys, tmp_path):
    assert main(["augment", "preview", "--preset", "hevy", "--out", str(tmp_path / "x.png")]) == 2
    assert "Did you mean 'heavy'" in capsys.readouterr().err
    assert main(["augment", "preview", "--data", str(tmp_path / "nope")]) == 2
    assert "neither a path nor a Keras dataset" in capsys.readouterr().err
    assert main(["augment", "list"]) == 0
    assert "RandAugment" in capsys.readouterr().out
