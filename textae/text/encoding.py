"""Many token-id lists through the encoder: one compiled path, in length-sorted batches.

`TextAE.encode` and `.score`, `training.evaluate`, the projector export and the sample
reconstructions printed during training all go through here. Each function is traced once
per model with a dynamic batch and length, so new inputs never retrace.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from textae.text import training_step
from textae.text.tokenizer import BOS_ID, EOS_ID, PAD_ID

TERMS = ("cross_entropy_sum", "tokens", "correct", "kl_sum")  # per-sentence sums of `teacher_forced`
_TOKENS = tf.TensorSpec([None, None], tf.int32)


def pad_batch(rows: Sequence[Sequence[int]]) -> np.ndarray:
    """Right-pad token id lists into one int32 `(B, longest)` array."""
    padded = np.full((len(rows), max((len(row) for row in rows), default=0)), PAD_ID, np.int32)
    for index, row in enumerate(rows):
        padded[index, : len(row)] = row
    return padded


def length_batches(ids: Sequence[Sequence[int]], batch_size: int):
    """Index arrays of at most `batch_size` rows of similar length (padding, and wasted recurrent steps, stay low)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    order = np.argsort([len(row) for row in ids], kind="stable")
    for start in range(0, len(ids), batch_size):
        yield order[start : start + batch_size]


def _compiled(model, name: str, build):
    """A `tf.function` stored on the model, so every caller (and every epoch) shares one trace."""
    if getattr(model, name, None) is None:
        object.__setattr__(model, name, build())  # not a Keras-tracked attribute
    return getattr(model, name)


def encode(model, ids: Sequence[Sequence[int]], batch_size: int = 256) -> np.ndarray:
    """`(N, Z)` float32 latent vectors of token-id lists (the mean in variational mode), in input order."""

    def build():
        return tf.function(lambda tokens: model.encode(tokens, training=False)[0], input_signature=[_TOKENS])

    function = _compiled(model, "_textae_encode", build)
    vectors = np.zeros((len(ids), model.model_config.latent_dim), np.float32)
    for rows in length_batches(ids, batch_size):
        vectors[rows] = function(pad_batch([ids[i] for i in rows])).numpy()
    return vectors


def teacher_forced(model, ids: Sequence[Sequence[int]], batch_size: int = 256) -> tuple[dict, np.ndarray]:
    """Per-sentence teacher-forced sums (`TERMS`, each `(N,)`, `</s>` included) and the `(N, Z)` latent means.

    The terms are `training_step.sentence_terms`, the same the training loss is made of, in evaluation mode.
    """

    def build():
        def run(encoder_tokens, decoder_tokens, targets):
            inputs = {"encoder_tokens": encoder_tokens, "decoder_tokens": decoder_tokens}
            return training_step.sentence_terms(model, (inputs, targets))

        return tf.function(run, input_signature=[_TOKENS] * 3)

    function = _compiled(model, "_textae_teacher_forced", build)
    terms = {key: np.zeros(len(ids)) for key in TERMS}
    means = np.zeros((len(ids), model.model_config.latent_dim), np.float32)
    for rows in length_batches(ids, batch_size):
        chunk = [ids[i] for i in rows]
        outputs = function(
            pad_batch(chunk), pad_batch([[BOS_ID, *row] for row in chunk]), pad_batch([[*row, EOS_ID] for row in chunk])
        )
        for key in TERMS:
            terms[key][rows] = outputs[key].numpy()
        means[rows] = outputs["mean"].numpy()
    return terms, means
