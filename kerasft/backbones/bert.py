"""A BERT-family encoder from a KerasHub or Hugging Face preset folder, as a kerasft backbone.

The encoder takes packed token ids and returns one pooled vector per text. It is built from
the layers of KerasHub's `BertBackbone` (so the weights are KerasHub's), laid out flat: the
embeddings, then `transformer_layer_0` .. `transformer_layer_N`, then the pooling, so the
block map, freezing and the feature cache see each transformer layer as a block. The
padding mask is computed from the ids inside the encoder (ids != pad id), so the encoder has
one input, like an image backbone.
"""

from __future__ import annotations

import os
from pathlib import Path

import keras

from kerasft.backbones.spec import BlockPattern
from kerasft.errors import KerasftError

#: Block names of a BERT encoder (tried in order for each layer name).
BERT_BLOCKS = (
    BlockPattern(
        r"^(?:token_embedding|position_embedding|segment_embedding|embeddings_)()", "embeddings"
    ),
    BlockPattern(r"^transformer_layer_(\d+)$", "transformer_layer_{}"),
)
POOLINGS = ("avg", "cls")


def load_preset(preset: str | os.PathLike, weights: bool = True):
    """`(keras_hub BertBackbone, BertTokenizer)` from a local preset folder.

    Args:
        preset: a KerasHub preset folder or a Hugging Face BERT folder.
        weights: load the pretrained weights (False: random initialisation, same shapes).
    """
    import keras_hub

    path = os.fspath(preset)
    try:
        backbone = keras_hub.models.BertBackbone.from_preset(path, load_weights=weights)
        tokenizer = keras_hub.models.BertTokenizer.from_preset(path)
    except Exception as err:  # KerasHub raises ValueError, KeyError, ImportError, OSError
        reason = str(err).strip().splitlines()[0][:300] if str(err).strip() else type(err).__name__
        raise KerasftError(
            f"backbone={path!r} is not a BERT-family preset KerasHub can read ({reason}). Pass a "
            "KerasHub BERT preset folder or a Hugging Face BERT folder (config.json with "
            "model_type 'bert', vocab.txt, model.safetensors; the `safetensors` package must be "
            "installed: pip install 'kerasft[text]')."
        ) from None
    return backbone, tokenizer


def bert_encoder(
    backbone,
    sequence_length: int,
    *,
    pad_id: int = 0,
    pooling: str = "avg",
    name: str | None = None,
) -> keras.Model:
    """Token ids `(batch, sequence_length)` -> pooled text vectors `(batch, hidden)`.

    Args:
        backbone: a `keras_hub.models.BertBackbone` (its layers and weights are reused).
        sequence_length: ids per text (at most the backbone's `max_sequence_length`).
        pad_id: the padding id; positions holding it are masked out of attention and pooling.
        pooling: "avg" (mean over the real tokens, as sentence-transformers pool) or "cls"
            (the first token's vector through BERT's `pooled_dense`).
        name: the encoder's name (default: the backbone's).
    """
    if pooling not in POOLINGS:
        from kerasft.errors import unknown_name

        raise unknown_name("pooling", pooling, POOLINGS)
    limit = int(backbone.max_sequence_length)
    if not 2 < int(sequence_length) <= limit:
        raise KerasftError(
            f"sequence_length={sequence_length!r} must be between 3 and {limit} (the longest "
            "input this backbone's position embeddings cover)."
        )
    ids = keras.Input((int(sequence_length),), dtype="int32", name="token_ids")
    mask = keras.ops.not_equal(ids, pad_id)
    segments = keras.ops.zeros_like(ids)
    tokens = backbone.token_embedding(ids)
    positions = backbone.position_embedding(tokens)
    x = backbone.embeddings_add((tokens, positions, backbone.segment_embedding(segments)))
    x = backbone.embeddings_layer_norm(x)
    x = backbone.embeddings_dropout(x)
    for layer in backbone.transformer_layers:
        x = layer(x, padding_mask=mask)
    if pooling == "avg":
        pooled = keras.layers.GlobalAveragePooling1D(name="mean_pool")(x, mask=mask)
    else:
        pooled = backbone.pooled_dense(x[:, 0, :])
    return keras.Model(ids, pooled, name=name or backbone.name)


def preset_name(path: Path) -> str:
    """A Keras-safe model name for the encoder of the preset at `path`."""
    from kerasft.backbones.text_presets import TEXT_BACKBONES

    for preset in TEXT_BACKBONES.values():
        if Path(path).resolve() == preset.path.resolve():
            return preset.name
    cleaned = "".join(c if c.isalnum() else "_" for c in Path(path).name).strip("_").lower()
    return cleaned or "text_encoder"
