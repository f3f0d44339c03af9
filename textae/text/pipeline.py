"""Token ids to bucketed `tf.data` batches for the autoencoder.

Each element is `({"encoder_tokens": (B, L), "decoder_tokens": (B, L + 1)}, targets (B, L + 1))`,
all int32 and right-padded with `PAD_ID`:

    encoder_tokens  w1 w2 w3  0        (optionally noised: dropout, blanks, local shuffle)
    decoder_tokens  <s> w1 w2 w3  0
    targets         w1 w2 w3 </s>  0

`L` is the bucket boundary of the batch, so a model sees only a few shapes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from textae.text import noise
from textae.text.tokenizer import PAD_ID, Tokenizer

# Encoder lengths a batch is padded to. Close steps keep padding low where most sentences are.
BUCKET_BOUNDARIES = (6, 8, 10, 12, 14, 16, 18, 20, 24, 28, 32, 40, 48, 64)
TOKENIZE_CHUNK = 10_000


def tokenize_texts(
    tokenizer: Tokenizer, texts: list[str], *, min_tokens: int = 1, max_tokens: int = 48
) -> tuple[list[np.ndarray], dict[str, int]]:
    """Tokenize texts once and keep those with `min_tokens` to `max_tokens` tokens.

    Long sentences are dropped rather than truncated, so the model never learns
    to reconstruct a cut sentence.

    Args:
        tokenizer: The `Tokenizer`.
        texts: Clean sentences.
        min_tokens: Drop sentences with fewer tokens (at least 1).
        max_tokens: Drop sentences with more tokens.

    Returns:
        `(token_ids, report)`: one int32 array per kept sentence, and a dict with
        `total`, `kept`, `too_short`, `too_long`, `tokens` (kept tokens) and `kept_indices`
        (which of `texts` were kept, in order).
    """
    if min_tokens < 1 or max_tokens < min_tokens:
        raise ValueError(f"Need 1 <= min_tokens <= max_tokens, got min_tokens={min_tokens}, max_tokens={max_tokens}.")
    texts = list(texts)
    if not texts:
        raise ValueError("tokenize_texts got no texts; load and clean some text first.")

    # SentencePiece's own batch encode, a chunk at a time; nothing is cached (the corpus tokenizes in seconds).
    rows = []
    for start in range(0, len(texts), TOKENIZE_CHUNK):
        rows += [np.asarray(ids, np.int32) for ids in tokenizer.encode(texts[start : start + TOKENIZE_CHUNK])]
    lengths = np.fromiter((len(row) for row in rows), np.int64, len(rows))
    keep = (lengths >= min_tokens) & (lengths <= max_tokens)
    token_ids = [row for row, kept in zip(rows, keep) if kept]
    report = {
        "total": len(texts),
        "kept": int(keep.sum()),
        "too_short": int((lengths < min_tokens).sum()),
        "too_long": int((lengths > max_tokens).sum()),
        "tokens": int(lengths[keep].sum()),
        "kept_indices": np.flatnonzero(keep),
    }
    return token_ids, report


def _to_ragged(token_ids) -> tf.RaggedTensor:
    """Build an int32 RaggedTensor from row lists quickly (one concatenation, no Python loop in TF)."""
    if isinstance(token_ids, tf.RaggedTensor):
        return tf.cast(token_ids, tf.int32)
    rows = [np.asarray(row, dtype=np.int32).reshape(-1) for row in token_ids]
    if not rows:
        raise ValueError("make_dataset got no sentences; check tokenize_texts' report for what was dropped.")
    lengths = np.array([len(row) for row in rows], dtype=np.int64)
    return tf.RaggedTensor.from_row_lengths(np.concatenate(rows), lengths)


def make_dataset(
    token_ids: Sequence[Sequence[int]] | tf.RaggedTensor,
    batch_size: int,
    *,
    shuffle: bool = True,
    seed: int = 0,
    repeat: bool = False,
    bucket_boundaries: Sequence[int] | None = BUCKET_BOUNDARIES,
    word_dropout_rate: float = 0.0,
    word_blank_rate: float = 0.0,
    shuffle_distance: int = 0,
    drop_remainder: bool = False,
) -> tf.data.Dataset:
    """Make bucketed, right-padded autoencoder batches.

    Args:
        token_ids: Sentences as token ids without bos/eos (e.g. from `tokenize_texts`).
        batch_size: Sentences per batch (global batch size under a strategy).
        shuffle: Shuffle sentences (with `seed`, again each epoch) before bucketing.
        seed: Seed of the shuffle and of the noise.
        repeat: Repeat forever.
        bucket_boundaries: Encoder lengths batches are padded to; a sentence goes to
            the smallest boundary that fits it. Sentences longer than the largest
            boundary get one extra bucket (the longest length, rounded up to 16).
            None pads each batch to its own longest sentence.
        word_dropout_rate: Probability of dropping each encoder token (one is always kept).
        word_blank_rate: Probability of replacing each encoder token with `UNK_ID`.
        shuffle_distance: Move each encoder token at most this many positions.
        drop_remainder: Drop incomplete batches.

    Returns:
        A `tf.data.Dataset` of `({"encoder_tokens", "decoder_tokens"}, targets)`.
    """
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}.")
    for name, rate in (("word_dropout_rate", word_dropout_rate), ("word_blank_rate", word_blank_rate)):
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"{name} must be in [0, 1), got {rate}.")
    if shuffle_distance < 0:
        raise ValueError(f"shuffle_distance must be 0 or more, got {shuffle_distance}.")
    ragged = _to_ragged(token_ids)
    lengths = _check_lengths(ragged)

    if shuffle:
        # A uniform shuffle of the whole set every epoch: shuffle the row numbers (a buffer of scalars
        # that holds every sentence whatever its size), then look the rows up.
        dataset = tf.data.Dataset.range(len(lengths)).shuffle(len(lengths), seed=seed, reshuffle_each_iteration=True)
        dataset = dataset.map(lambda row: ragged[row])
    else:
        dataset = tf.data.Dataset.from_tensor_slices(ragged)
    if repeat:
        dataset = dataset.repeat()
    build_example = noise.make_noise(seed, word_dropout_rate, word_blank_rate, shuffle_distance)
    dataset = dataset.enumerate().map(build_example, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    boundaries = None if bucket_boundaries is None else _boundaries(bucket_boundaries, int(lengths.max()))
    dataset = _batched(dataset, batch_size, boundaries, drop_remainder)
    return dataset.with_options(_options()).prefetch(tf.data.AUTOTUNE)


def _check_lengths(ragged: tf.RaggedTensor) -> np.ndarray:
    lengths = ragged.row_lengths().numpy()
    if len(lengths) == 0:
        raise ValueError("make_dataset got no sentences; check tokenize_texts' report for what was dropped.")
    if lengths.min() < 1:
        raise ValueError(f"Sentence {int(np.argmin(lengths))} has no tokens; use tokenize_texts(min_tokens=1).")
    return lengths


def _batched(dataset, batch_size: int, boundaries: list[int] | None, drop_remainder: bool) -> tf.data.Dataset:
    if boundaries is None:
        shapes = ({"encoder_tokens": [None], "decoder_tokens": [None]}, [None])
        return dataset.padded_batch(batch_size, padded_shapes=shapes, drop_remainder=drop_remainder)
    return _bucket(dataset, batch_size, boundaries, drop_remainder)


def _options() -> tf.data.Options:
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    options.deterministic = True
    return options


def training_stream(
    token_ids: Sequence[Sequence[int]] | tf.RaggedTensor,
    batch_size: int,
    *,
    seed: int = 0,
    first_pass: int = 0,
    skip_batches: int = 0,
    bucket_boundaries: Sequence[int] | None = BUCKET_BOUNDARIES,
    word_dropout_rate: float = 0.0,
    word_blank_rate: float = 0.0,
    shuffle_distance: int = 0,
) -> tf.data.Dataset:
    """Endless training batches: pass after pass over `token_ids`, each shuffled, noised and bucketed.

    Pass p's order and noise depend only on `(seed, p)` (a stateless shuffle, noise seeded by the
    position in the whole stream), and each pass gives exactly `num_batches` batches (its buckets are
    flushed at its end). So the stream from `first_pass`, less `skip_batches`, is exactly the rest of the
    stream from pass 0: a run resumed at any step sees the batches it would have seen.
    """
    ragged = _to_ragged(token_ids)
    lengths = _check_lengths(ragged)
    count = len(lengths)
    boundaries = None if bucket_boundaries is None else _boundaries(bucket_boundaries, int(lengths.max()))
    build_example = noise.make_noise(seed, word_dropout_rate, word_blank_rate, shuffle_distance)

    def one_pass(number):
        seed_pair = tf.stack([tf.constant(seed, tf.int64), number])
        rows = tf.random.experimental.stateless_shuffle(tf.range(count, dtype=tf.int64), seed=seed_pair)
        examples = tf.data.Dataset.from_tensor_slices(rows).map(lambda row: ragged[row])
        examples = examples.enumerate(start=number * count).map(build_example, num_parallel_calls=tf.data.AUTOTUNE)
        return _batched(examples, batch_size, boundaries, drop_remainder=False)

    stream = tf.data.Dataset.range(first_pass, 2**62).flat_map(one_pass).skip(skip_batches)
    return stream.with_options(_options()).prefetch(tf.data.AUTOTUNE)


def num_batches(
    token_ids: Sequence[Sequence[int]],
    batch_size: int,
    bucket_boundaries: Sequence[int] | None = BUCKET_BOUNDARIES,
    drop_remainder: bool = False,
) -> int:
    """How many batches one pass of `make_dataset` over `token_ids` gives, without running it.

    Bucketing hides the count from tf.data; it follows from the sentence lengths (noise
    does not change which bucket a sentence goes to): every bucket ends with one partial batch.
    """
    lengths = np.array([len(ids) for ids in token_ids])
    if bucket_boundaries is None:
        counts = np.array([len(lengths)])
    else:
        boundaries = _boundaries(bucket_boundaries, int(lengths.max()))
        counts = np.bincount(np.searchsorted(boundaries, lengths, side="left"))
    per_bucket = counts // batch_size if drop_remainder else -(-counts // batch_size)
    return int(per_bucket.sum())


def _boundaries(bucket_boundaries: Sequence[int], longest: int) -> list[int]:
    boundaries = sorted({int(boundary) for boundary in bucket_boundaries})
    if not boundaries or boundaries[0] < 1:
        raise ValueError(f"bucket_boundaries must be positive lengths, got {tuple(bucket_boundaries)}.")
    if longest > boundaries[-1]:
        boundaries.append(-(-longest // 16) * 16)
    return boundaries


def _bucket(dataset: tf.data.Dataset, batch_size: int, boundaries: list[int], drop_remainder: bool) -> tf.data.Dataset:
    """Group sentences by the smallest boundary that fits and pad each batch to that boundary."""
    boundary_table = tf.constant(boundaries, dtype=tf.int64)

    def bucket_of(features, targets):
        length = tf.shape(features["decoder_tokens"], out_type=tf.int64)[0] - 1
        return tf.searchsorted(boundary_table, tf.reshape(length, [1]), side="left", out_type=tf.int64)[0]

    def batch_bucket(bucket, window):
        length = boundary_table[bucket]
        shapes = (
            {"encoder_tokens": tf.reshape(length, [1]), "decoder_tokens": tf.reshape(length + 1, [1])},
            tf.reshape(length + 1, [1]),
        )
        return window.padded_batch(
            batch_size, padded_shapes=shapes, padding_values=PAD_ID, drop_remainder=drop_remainder
        )

    return dataset.group_by_window(bucket_of, batch_bucket, window_size=batch_size)


def padding_fraction(dataset: tf.data.Dataset, max_batches: int | None = None) -> float:
    """Return padded positions / all positions of the targets over (up to `max_batches`) batches."""
    padded = total = 0
    for _, targets in dataset.take(-1 if max_batches is None else max_batches):
        targets = targets.numpy()
        padded += int((targets == PAD_ID).sum())
        total += targets.size
    return padded / total if total else 0.0
