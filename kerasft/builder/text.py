"""Text models: raw strings -> tokenizer -> BERT-family encoder -> task head."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import keras
import numpy as np

from kerasft.builder.heads import head_layers
from kerasft.builder.tokenizer import TextTokenizer
from kerasft.errors import KerasftError

DEFAULT_SEQUENCE_LENGTH = 128
# The cap of the length chosen from the data: attention costs grow with its square, and at
# 200 tokens MiniLM's phase 2 ran at under half the texts/s of 128 on 2 CPU cores
# (bench/text.py); most topics show in the first 128 tokens.
MAX_DEFAULT_SEQUENCE_LENGTH = 128
TOKENIZER_NAME = "kft_tokenizer"
_PRETRAINED = ("imagenet", "pretrained")


def choose_sequence_length(
    texts, tokenizer, *, cap: int = MAX_DEFAULT_SEQUENCE_LENGTH, sample: int = 2000, seed: int = 0
) -> int:
    """The 95th percentile of the texts' token counts (with the two special tokens), rounded
    up to a multiple of 8, between 16 and `cap`.

    Args:
        texts: the training texts (a sample of `sample` of them is tokenized).
        tokenizer: the backbone's KerasHub tokenizer.
        cap: the longest length returned (attention costs grow with its square).
        sample: how many texts to tokenize at most.
        seed: which sample.
    """
    texts = np.asarray(texts, dtype=object).reshape(-1)
    if len(texts) == 0:
        return min(DEFAULT_SEQUENCE_LENGTH, cap)
    if len(texts) > sample:
        texts = np.random.default_rng(seed).choice(texts, sample, replace=False)
    ids = tokenizer(list(map(str, texts)))  # a list in, a list of id lists out
    lengths = np.array([len(row) for row in ids]) + 2
    length = int(math.ceil(np.percentile(lengths, 95) / 8) * 8)
    return int(min(max(length, 16), cap))


def build_text(
    backbone: str | os.PathLike,
    num_classes: int,
    *,
    task: str = "multiclass",
    weights="imagenet",
    sequence_length: int | None = None,
    texts=None,
    pooling: str = "avg",
    dropout: float = 0.2,
    hidden_units: Sequence[int] = (),
    l1: float = 0.0,
    l2: float = 0.0,
    name: str | None = None,
) -> keras.Model:
    """A functional `keras.Model`: a batch of strings in, task predictions out.

    `kft.build` calls this for text backbones; see its arguments. The model is: string input
    -> `TextTokenizer` (ids of length `sequence_length`) -> encoder (frozen; its blocks are
    `embeddings`, `transformer_layer_0..N`) -> head.
    """
    from kerasft.backbones.bert import bert_encoder, load_preset, preset_name
    from kerasft.backbones.text_presets import preset_dir

    if weights not in (*_PRETRAINED, None):
        raise KerasftError(
            f"weights={weights!r}: a text backbone's weights are its preset folder's. Pass "
            "weights='pretrained' (the default, also spelled 'imagenet') or None (random "
            "initialisation)."
        )
    path = preset_dir(backbone)
    hub_backbone, tokenizer = load_preset(path, weights=weights is not None)
    if sequence_length is None:
        cap = min(MAX_DEFAULT_SEQUENCE_LENGTH, int(hub_backbone.max_sequence_length))
        sequence_length = (
            DEFAULT_SEQUENCE_LENGTH
            if texts is None
            else choose_sequence_length(texts, tokenizer, cap=cap)
        )
    if not isinstance(sequence_length, (int, np.integer)) or isinstance(sequence_length, bool):
        raise KerasftError(f"sequence_length={sequence_length!r} must be an integer.")
    encoder = bert_encoder(
        hub_backbone,
        int(sequence_length),
        pad_id=int(tokenizer.pad_token_id),
        pooling=pooling,
        name=preset_name(path),
    )
    encoder.trainable = False  # phase 1 trains the head only
    inputs = keras.Input(shape=(), dtype="string", name="text")
    ids = TextTokenizer(tokenizer, int(sequence_length), name=TOKENIZER_NAME)(inputs)
    x = encoder(ids, training=False)
    # The encoder pools (it needs the padding mask), so the head starts after pooling.
    for layer in head_layers(task, num_classes, "avg", dropout, tuple(hidden_units), l1, l2)[1:]:
        x = layer(x)
    return keras.Model(inputs, x, name=name or f"kft_{encoder.name}")


def is_text_model(model: keras.Model) -> bool:
    """True if `model` takes strings (a text model from `kft.build`, or any string input).

    Args:
        model: any Keras model.
    """
    return any(str(getattr(t, "dtype", "")) == "string" for t in model.inputs)
