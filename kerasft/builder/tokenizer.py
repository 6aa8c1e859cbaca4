"""`TextTokenizer`: raw strings in, packed token ids out, as one layer of the model."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="kerasft", name="TextTokenizer")
class TextTokenizer(keras.layers.Layer):
    """Tokenize strings with a KerasHub tokenizer and pack them to `sequence_length` ids.

    Each text becomes `[start] tokens... [end]`, cut or padded with `pad_id` to
    `sequence_length`, so a saved model takes raw strings. The KerasHub tokenizer saves its
    vocabulary as an asset of the `.keras` file; this layer states its output shape itself
    because Keras rebuilds the graph before it loads assets (a bare KerasHub tokenizer cannot
    be called then). Reloading needs `kerasft` imported (it registers this layer).

    Args:
        tokenizer: a `keras_hub` tokenizer (e.g. `BertTokenizer.from_preset(dir)`), or its
            serialized config.
        sequence_length: ids per text, the special tokens included.
        start_id, end_id, pad_id: the ids that open, close and pad a sequence; by default the
            tokenizer's `start_token_id`, `end_token_id` and `pad_token_id`.
        **kwargs: passed to `keras.layers.Layer` (e.g. `name`).

    Example:

    >>> import keras_hub, numpy as np
    >>> from kerasft.builder.tokenizer import TextTokenizer
    >>> vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "cat"]
    >>> layer = TextTokenizer(keras_hub.models.BertTokenizer(vocabulary=vocab), 5)
    >>> layer(np.array(["a cat"], dtype=object)).numpy().tolist()
    [[2, 5, 6, 3, 0]]
    """

    def __init__(
        self,
        tokenizer,
        sequence_length: int = 128,
        start_id: int | None = None,
        end_id: int | None = None,
        pad_id: int | None = None,
        **kwargs,
    ):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        if isinstance(tokenizer, dict):
            tokenizer = keras.saving.deserialize_keras_object(tokenizer)
        self.tokenizer = tokenizer
        self.sequence_length = int(sequence_length)
        # The ids are stored here: a reloaded tokenizer knows them only once its vocabulary
        # asset is loaded, after the graph is rebuilt.
        self.start_id = _token_id(tokenizer, "start", start_id)
        self.end_id = _token_id(tokenizer, "end", end_id)
        self.pad_id = _token_id(tokenizer, "pad", pad_id)
        import keras_hub

        self.packer = keras_hub.layers.StartEndPacker(
            sequence_length=self.sequence_length,
            start_value=self.start_id,
            end_value=self.end_id,
            pad_value=self.pad_id,
            dtype="int32",
            name="packer",
        )

    def build(self, input_shape):
        # Nothing to create: the tokenizer's vocabulary is an asset, the packer has no state.
        self.built = True

    def call(self, inputs):
        import tensorflow as tf

        inputs = tf.reshape(tf.convert_to_tensor(inputs, dtype=tf.string), [-1])
        return tf.cast(self.packer(self.tokenizer(inputs)), "int32")

    def compute_output_spec(self, inputs):
        return keras.KerasTensor((inputs.shape[0], self.sequence_length), dtype="int32")

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "tokenizer": keras.saving.serialize_keras_object(self.tokenizer),
                "sequence_length": self.sequence_length,
                "start_id": self.start_id,
                "end_id": self.end_id,
                "pad_id": self.pad_id,
            }
        )
        return config


def _token_id(tokenizer, kind: str, given: int | None) -> int:
    if given is not None:
        return int(given)
    value = getattr(tokenizer, f"{kind}_token_id", None)
    if value is None:
        from kerasft.errors import KerasftError

        raise KerasftError(
            f"The tokenizer {type(tokenizer).__name__} has no {kind}_token_id (no vocabulary "
            f"loaded?). Pass {kind}_id=... or load it with its preset's from_preset(dir)."
        )
    return int(value)
