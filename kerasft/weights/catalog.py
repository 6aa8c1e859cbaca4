"""Which `keras.applications` families have ImageNet weight files in the local Keras cache.

The file names are the ones each `keras/src/applications/*.py` passes to `get_file(...,
cache_subdir="models")`; a family counts as available when any of its files is present (Keras
still checks the file hash for the families that have one).

    from kerasft.weights import available
    available()  # {"MobileNet": [PosixPath('.../mobilenet_1_0_224_tf.h5'), ...], ...}
"""

from __future__ import annotations

from pathlib import Path

from kerasft.paths import keras_models_dir


def _pair(stem: str, notop: str = "_notop") -> tuple[str, ...]:
    return (f"{stem}.h5", f"{stem}{notop}.h5")


def _kernels(stem: str) -> tuple[str, ...]:
    return _pair(f"{stem}_weights_tf_dim_ordering_tf_kernels")


#: Family (as named in `keras.applications`) -> glob patterns of its ImageNet weight files.
WEIGHT_FILES: dict[str, tuple[str, ...]] = {
    # mobilenet_{alpha}_{rows}_tf[_no_top].h5; alpha digits keep mobilenet_v2 files out.
    "MobileNet": ("mobilenet_[0-9]_[0-9]_*_tf.h5", "mobilenet_[0-9]_[0-9]_*_tf_no_top.h5"),
    "MobileNetV2": ("mobilenet_v2_weights_tf_dim_ordering_tf_kernels_*.h5",),
    "MobileNetV3Small": ("weights_mobilenet_v3_small_*.h5",),
    "MobileNetV3Large": ("weights_mobilenet_v3_large_*.h5",),
    **{f"EfficientNetB{i}": _pair(f"efficientnetb{i}") for i in range(8)},
    **{f"EfficientNetV2B{i}": _pair(f"efficientnetv2-b{i}") for i in range(4)},
    **{f"EfficientNetV2{s.upper()}": _pair(f"efficientnetv2-{s}") for s in "sml"},
    **{f"ResNet{d}": _kernels(f"resnet{d}") for d in (50, 101, 152)},
    **{f"ResNet{d}V2": _kernels(f"resnet{d}v2") for d in (50, 101, 152)},
    **{
        f"ConvNeXt{size}": _pair(f"convnext_{size.lower()}")
        for size in ("Tiny", "Small", "Base", "Large", "XLarge")
    },
    **{f"DenseNet{d}": _kernels(f"densenet{d}") for d in (121, 169, 201)},
    "Xception": _kernels("xception"),
    "InceptionV3": _kernels("inception_v3"),
    "InceptionResNetV2": _kernels("inception_resnet_v2"),
    "VGG16": _kernels("vgg16"),
    "VGG19": _kernels("vgg19"),
    "NASNetMobile": _pair("nasnet_mobile", "_no_top"),
    "NASNetLarge": _pair("nasnet_large", "_no_top"),
}


def files(family: str, directory: Path | None = None) -> list[Path]:
    """The ImageNet weight files of one family present in `directory` (default: Keras's cache)."""
    directory = keras_models_dir() if directory is None else Path(directory)
    found = {p for pattern in WEIGHT_FILES[family] for p in directory.glob(pattern) if p.is_file()}
    return sorted(found)


def available(all_families: bool = False) -> dict[str, list[Path]]:
    """`{family: [weight files]}` for the `keras.applications` families with local ImageNet files.

    Args:
        all_families: also list the families with no file (as empty lists).
    """
    result = {family: files(family) for family in WEIGHT_FILES}
    return result if all_families else {k: v for k, v in result.items() if v}
