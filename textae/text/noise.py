"""Denoising noise on the encoder's tokens (Shen et al. 2020), stateless so that a stream is reproducible.

`make_noise` returns the tf.data map function that builds one training example from a sentence's
token ids: the encoder's tokens (dropped, blanked or locally shuffled, each seeded by the seed and
the example's position in the stream), the decoder's input (`<s>` first) and the targets (`</s>` last).
"""

from __future__ import annotations

import tensorflow as tf

from textae.text.tokenizer import BOS_ID, EOS_ID, UNK_ID


def make_noise(seed: int, word_dropout_rate: float, word_blank_rate: float, shuffle_distance: int):
    """Return the map function that builds one example and noises its encoder tokens."""
    seed = tf.constant(seed, tf.int64)

    def build(index, tokens):
        tokens = tf.cast(tokens, tf.int32)  # (T,)
        encoder_tokens = tokens
        # A different stateless seed per element and per epoch (enumerate counts across repeats).
        element_seed = tf.stack([seed, index])
        if shuffle_distance > 0:
            encoder_tokens = local_shuffle(encoder_tokens, shuffle_distance, element_seed + [0, 1 << 40])
        if word_dropout_rate > 0:
            encoder_tokens = word_dropout(encoder_tokens, word_dropout_rate, element_seed + [0, 2 << 40])
        if word_blank_rate > 0:
            encoder_tokens = word_blank(encoder_tokens, word_blank_rate, element_seed + [0, 3 << 40])
        decoder_tokens = tf.concat([[BOS_ID], tokens], axis=0)  # (T + 1,)
        targets = tf.concat([tokens, [EOS_ID]], axis=0)  # (T + 1,)
        return {"encoder_tokens": encoder_tokens, "decoder_tokens": decoder_tokens}, targets

    return build


def word_dropout(tokens: tf.Tensor, rate: float, seed: tf.Tensor) -> tf.Tensor:
    """Drop each token with probability `rate`, always keeping at least one."""
    draws = tf.random.stateless_uniform(tf.shape(tokens), seed=seed)
    keep = draws >= rate
    # If every token would go, keep the one with the largest draw.
    keep = keep | (~tf.reduce_any(keep) & tf.equal(tf.range(tf.size(tokens)), tf.cast(tf.argmax(draws), tf.int32)))
    return tf.boolean_mask(tokens, keep)


def word_blank(tokens: tf.Tensor, rate: float, seed: tf.Tensor) -> tf.Tensor:
    """Replace each token with `UNK_ID` with probability `rate`."""
    draws = tf.random.stateless_uniform(tf.shape(tokens), seed=seed)
    return tf.where(draws < rate, tf.constant(UNK_ID, tokens.dtype), tokens)


def local_shuffle(tokens: tf.Tensor, distance: int, seed: tf.Tensor) -> tf.Tensor:
    """Shuffle so each token moves at most `distance` positions (Lample et al. 2018).

    Sorts positions by `index + uniform(0, distance + 1)`.
    """
    positions = tf.cast(tf.range(tf.size(tokens)), tf.float32)
    keys = positions + tf.random.stateless_uniform(tf.shape(tokens), seed=seed, maxval=distance + 1.0)
    return tf.gather(tokens, tf.argsort(keys, stable=True))
