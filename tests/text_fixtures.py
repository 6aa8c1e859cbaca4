"""A tiny random BERT preset folder for fast text tests (no 83 MB download).

`tiny_preset(dir)` writes a KerasHub preset (a 2-layer `BertBackbone`, hidden 16, and a
WordPiece vocabulary of letters, digits and the words of `WORDS`) that `kft.build(dir, ...)`
reads like any KerasHub BERT folder.
"""

from __future__ import annotations

import string
from pathlib import Path

WORDS = (
    "the a an and of to in is it for on with as was at by this that from are be has have "
    "market shares bank profit economy growth film music star award show actor game match "
    "team win player cup goal election minister party vote government phone computer "
    "software internet users technology"
).split()


def vocabulary() -> list[str]:
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars, *(f"##{c}" for c in chars)]
    return list(dict.fromkeys([*tokens, *WORDS]))


def tiny_preset(
    directory: str | Path,
    *,
    num_layers: int = 2,
    hidden: int = 16,
    seed: int = 0,
    dropout: float = 0.0,
    max_sequence_length: int = 64,
) -> Path:
    import keras
    import keras_hub

    directory = Path(directory)
    if (directory / "config.json").is_file():
        return directory
    keras.utils.set_random_seed(seed)
    vocab = vocabulary()
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(vocab),
        num_layers=num_layers,
        num_heads=2,
        hidden_dim=hidden,
        intermediate_dim=2 * hidden,
        dropout=dropout,
        max_sequence_length=max_sequence_length,
    )
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=vocab, lowercase=True)
    directory.mkdir(parents=True, exist_ok=True)
    backbone.save_to_preset(str(directory))
    tokenizer.save_to_preset(str(directory))
    return directory
