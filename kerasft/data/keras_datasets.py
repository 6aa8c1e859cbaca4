"""The Keras datasets by name (fashion_mnist, mnist, cifar10, cifar100), from local files only.

`keras.datasets.*.load_data()` downloads whatever is not in the Keras cache, and without a
network that hangs or fails deep inside urllib. kerasft looks for the files first and never
lets Keras download unless asked (`download=True`). Fashion-MNIST can come from Debian's
`dataset-fashion-mnist` package (`/usr/share/datasets/fashion-mnist/`): `ensure_local` copies
its four idx files into the Keras cache, where `keras.datasets.fashion_mnist` finds them.

Example:

```python
from kerasft.data import keras_datasets
keras_datasets.ensure_local("fashion_mnist")            # True once the files are in place
(x, y), (x_test, y_test), names = keras_datasets.load_arrays("fashion_mnist")
data = kft.data.from_keras("fashion_mnist", image_size=32, channels=3, validation_split=0.1)
```
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from kerasft import compat, paths
from kerasft.data.data_splits import DataSplits
from kerasft.data.splits import DEFAULT_SEED
from kerasft.errors import KerasftError, unknown_name

# Where Debian's dataset-fashion-mnist package puts the files.
SYSTEM_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_FILES = (
    "train-labels-idx1-ubyte.gz",
    "train-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
)
CIFAR100_CLASSES = (
    "apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus "
    "butterfly camel can castle caterpillar cattle chair chimpanzee clock cloud cockroach couch "
    "crab crocodile cup dinosaur dolphin elephant flatfish forest fox girl hamster house "
    "kangaroo keyboard lamp lawn_mower leopard lion lizard lobster man maple_tree motorcycle "
    "mountain mouse mushroom oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree "
    "plain plate poppy porcupine possum rabbit raccoon ray road rocket rose sea seal shark shrew "
    "skunk skyscraper snail snake spider squirrel streetcar sunflower sweet_pepper table tank "
    "telephone television tiger tractor train trout tulip turtle wardrobe whale willow_tree wolf "
    "woman worm"
).split()


@dataclass(frozen=True)
class _KerasDataset:
    files: tuple[str, ...]  # relative to the datasets dir: what Keras checks before downloading
    class_names: tuple[str, ...]
    archive: str | None = None  # the original download name a user may have copied in
    how_to_get: str = ""


DATASETS = {
    "fashion_mnist": _KerasDataset(
        tuple(f"fashion-mnist/{f}" for f in FASHION_MNIST_FILES),
        (
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        how_to_get=(
            "install Debian's package (apt-get install dataset-fashion-mnist) and run "
            "`kerasft data prepare fashion_mnist`, or copy the four idx .gz files into "
            "{dir}/fashion-mnist/"
        ),
    ),
    "mnist": _KerasDataset(
        ("mnist.npz",),
        tuple(str(i) for i in range(10)),
        how_to_get="copy mnist.npz into {dir}/",
    ),
    "cifar10": _KerasDataset(
        ("cifar-10-batches-py-target_archive",),
        (
            "airplane",
            "automobile",
            "bird",
            "cat",
            "deer",
            "dog",
            "frog",
            "horse",
            "ship",
            "truck",
        ),
        archive="cifar-10-python.tar.gz",
        how_to_get="copy cifar-10-python.tar.gz into {dir}/ and run `kerasft data prepare cifar10`",
    ),
    "cifar100": _KerasDataset(
        ("cifar-100-python-target_archive",),
        tuple(CIFAR100_CLASSES),
        archive="cifar-100-python.tar.gz",
        how_to_get="copy cifar-100-python.tar.gz into {dir}/ and run `kerasft data prepare cifar100`",
    ),
}
ALIASES = {
    "fashion-mnist": "fashion_mnist",
    "fashionmnist": "fashion_mnist",
    "cifar-10": "cifar10",
    "cifar-100": "cifar100",
}


def _name(name: str) -> str:
    key = str(name).strip().lower()
    key = ALIASES.get(key, key)
    if key not in DATASETS:
        raise unknown_name("Keras dataset", str(name), DATASETS)
    return key


def _keras_datasets_dirs() -> list[Path]:
    """Where kerasft keeps Keras data, and where the imported Keras will look (if different).

    Keras reads `KERAS_HOME` once, when imported, and falls back to /tmp/.keras when its home
    is not writable, so the two can differ.
    """
    dirs = [paths.keras_datasets_dir()]
    home = compat.keras_home()
    if home is not None:
        home = os.path.expanduser(home)
    else:
        # What Keras will read when it is imported; importing it here would cost seconds.
        home = os.path.expanduser(os.environ.get("KERAS_HOME", os.path.join("~", ".keras")))
    if not os.access(home, os.W_OK):
        home = os.path.join("/tmp", ".keras")
    keras_dir = Path(home) / "datasets"
    if keras_dir.resolve() != dirs[0].resolve():
        dirs.append(keras_dir)
    return dirs


def _present(spec: _KerasDataset, directory: Path) -> bool:
    return all((directory / f).is_file() and (directory / f).stat().st_size > 0 for f in spec.files)


def ensure_local(name: str) -> bool:
    """Put the dataset's files where Keras looks, from local copies; True if they are there.

    Never downloads. Fashion-MNIST is copied from Debian's `/usr/share/datasets/fashion-mnist/`
    (or from the kerasft cache dir into the imported Keras's, when they differ); CIFAR archives
    already copied into the datasets dir under their original download name are linked to the
    name Keras expects. Idempotent: files already in place are left alone.

    Args:
        name: 'fashion_mnist', 'mnist', 'cifar10' or 'cifar100'.
    """
    spec = DATASETS[_name(name)]
    targets = _keras_datasets_dirs()
    sources = [d for d in targets if _present(spec, d)]
    for target in targets:
        if _present(spec, target):
            continue
        if sources:
            _copy(spec.files, sources[0], target)
        elif _name(name) == "fashion_mnist" and all(
            (SYSTEM_FASHION_MNIST / f).is_file() for f in FASHION_MNIST_FILES
        ):
            _copy(FASHION_MNIST_FILES, SYSTEM_FASHION_MNIST, target / "fashion-mnist")
        elif spec.archive:
            archive = next(
                (d / spec.archive for d in targets if (d / spec.archive).is_file()), None
            )
            if archive is not None:
                (target / spec.files[0]).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(archive, target / spec.files[0])
        if _present(spec, target):
            sources.append(target)
    return all(_present(spec, d) for d in targets)


def _copy(files, source: Path, target: Path) -> None:
    for f in files:
        destination = target / f
        destination.parent.mkdir(parents=True, exist_ok=True)
        # Copy to a temporary name first so an interrupted copy never looks complete.
        partial = destination.with_name(destination.name + ".partial")
        shutil.copyfile(source / f, partial)
        os.replace(partial, destination)


def class_names(name: str) -> list[str]:
    """The class names of a Keras dataset, in label order."""
    return list(DATASETS[_name(name)].class_names)


def load_arrays(name: str, download: bool = False):
    """`((x_train, y_train), (x_test, y_test), class_names)` of a Keras dataset.

    Uses local files only (see `ensure_local`) unless `download=True`, in which case Keras may
    download what is missing. Labels are flattened to (N,).

    Args:
        name: 'fashion_mnist', 'mnist', 'cifar10' or 'cifar100'.
        download: let Keras download missing files (needs a network).

    Raises:
        KerasftError: when the files are not on this machine, saying how to get them.
    """
    import numpy as np

    key = _name(name)
    spec = DATASETS[key]
    if not ensure_local(key) and not download:
        directory = paths.keras_datasets_dir()
        raise KerasftError(
            f"Keras dataset {key!r} is not on this machine (looked for "
            f"{', '.join(str(d / f) for d in _keras_datasets_dirs() for f in spec.files)}), "
            "and kerasft does not download at load time. To get it: "
            + spec.how_to_get.format(dir=directory)
            + f'; or on a machine with network run `python -c "import keras; '
            f'keras.datasets.{key}.load_data()"` and copy {directory} here '
            "(or pass download=True)."
        )
    import keras

    (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, key).load_data()
    return (
        (x_train, np.asarray(y_train).reshape(-1)),
        (x_test, np.asarray(y_test).reshape(-1)),
        list(spec.class_names),
    )


def from_keras(
    name: str,
    image_size: tuple[int, int] | int | None = None,
    batch_size: int = 32,
    validation_split: float | None = None,
    seed: int | None = DEFAULT_SEED,
    *,
    channels: int | None = None,
    limit: int | None = None,
    download: bool = False,
    **options,
) -> DataSplits:
    """Load a Keras dataset by name: `.train` (and `.val` when `validation_split` is given)
    from its training set, `.test` from its test set.

    Args:
        name: 'fashion_mnist', 'mnist', 'cifar10' or 'cifar100'.
        image_size: resize to (height, width), e.g. 32 or 96 for pretrained backbones.
        channels: 3 turns the grayscale MNISTs into RGB; None keeps them as stored.
        limit: use only the first `limit` training and test examples (quick experiments).
        download: let Keras download missing files (needs a network).
        batch_size, validation_split, seed, **options: as for `from_arrays`.

    Example:

    ```python
    data = kft.data.from_keras("fashion_mnist", image_size=32, channels=3,
                               validation_split=0.1, limit=2000)
    ```
    """
    (x, y), (x_test, y_test), names = load_arrays(name, download=download)
    if limit is not None:
        if not isinstance(limit, int) or limit < 1:
            raise KerasftError(f"limit={limit!r} must be a positive integer.")
        x, y, x_test, y_test = x[:limit], y[:limit], x_test[:limit], y_test[:limit]
    from kerasft.data.arrays import from_arrays

    return from_arrays(
        x,
        y,
        image_size=image_size,
        batch_size=batch_size,
        validation_split=validation_split,
        seed=seed,
        class_names=names,
        channels=channels,
        test_data=(x_test, y_test),
        source=f"keras:{_name(name)}",
        **options,
    )
