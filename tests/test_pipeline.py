"""Tests for textae.text.pipeline: tokenizing once and building bucketed batches."""

import gzip
import itertools

import numpy as np
import pytest
import tensorflow as tf

from textae import data
from textae.text.config import TokenizerConfig
from textae.text.pipeline import BUCKET_BOUNDARIES, make_dataset, num_batches, padding_fraction, tokenize_texts
from textae.text.tokenizer import BOS_ID, EOS_ID, PAD_ID, UNK_ID, Tokenizer


@pytest.fixture(scope="module")
def token_ids(tiny_tokenizer, tiny_sentences):
    ids, _ = tokenize_texts(tiny_tokenizer, tiny_sentences, max_tokens=64)
    return ids


def _batches(dataset):
    return [
        (features["encoder_tokens"].numpy(), features["decoder_tokens"].numpy(), targets.numpy())
        for features, targets in dataset
    ]


def test_tokenize_texts_drops_and_reports(tiny_tokenizer, tiny_sentences):
    texts = list(tiny_sentences[:20]) + ["", " ".join(tiny_sentences[:10])]
    ids, report = tokenize_texts(tiny_tokenizer, texts, min_tokens=1, max_tokens=40)
    assert report["total"] == 22 and report["too_short"] == 1 and report["too_long"] == 1
    assert report["kept"] == len(ids) == 20
    assert report["tokens"] == sum(len(row) for row in ids)
    assert ids[0].dtype == np.int32
    assert ids[0].tolist() == tiny_tokenizer.encode([tiny_sentences[0]])[0]
    with pytest.raises(ValueError, match="min_tokens"):
        tokenize_texts(tiny_tokenizer, texts, min_tokens=0)


def test_batch_structure(token_ids):
    dataset = make_dataset(token_ids, batch_size=16, shuffle=False)
    features_spec, targets_spec = dataset.element_spec
    assert set(features_spec) == {"encoder_tokens", "decoder_tokens"}
    assert features_spec["encoder_tokens"].dtype == tf.int32 and targets_spec.dtype == tf.int32
    batches = _batches(dataset)
    assert sum(len(encoder) for encoder, _, _ in batches) == len(token_ids)
    originals = {tuple(row) for row in token_ids}
    for encoder, decoder, targets in batches:
        assert encoder.shape[1] in BUCKET_BOUNDARIES
        assert decoder.shape == targets.shape == (encoder.shape[0], encoder.shape[1] + 1)
        for encoder_row, decoder_row, target_row in zip(encoder, decoder, targets):
            tokens = encoder_row[encoder_row != PAD_ID]
            assert len(tokens) >= 1 and tuple(tokens) in originals
            assert decoder_row[0] == BOS_ID
            np.testing.assert_array_equal(decoder_row[1 : len(tokens) + 1], tokens)
            np.testing.assert_array_equal(target_row[: len(tokens) + 1], [*tokens, EOS_ID])
            for row in (encoder_row, decoder_row, target_row):
                nonzero = np.flatnonzero(row)
                assert nonzero.max() == len(nonzero) - 1  # right padding: no token after the first pad
    shapes = {encoder.shape[1] for encoder, _, _ in batches}
    assert len(shapes) < len({len(row) for row in token_ids})  # fewer shapes than sentence lengths


def test_long_sentences_get_an_extra_bucket():
    rows = [np.arange(4, 4 + length, dtype=np.int32) for length in (3, 70, 5)]
    batches = _batches(make_dataset(rows, batch_size=8, shuffle=False))
    assert sorted(encoder.shape[1] for encoder, _, _ in batches) == [6, 80]  # 3 and 5 tokens share the 6 bucket
    unbucketed = _batches(make_dataset(rows, batch_size=8, shuffle=False, bucket_boundaries=None))
    assert [encoder.shape for encoder, _, _ in unbucketed] == [(3, 70)]


def test_shuffle_is_seeded(token_ids):
    first = _batches(make_dataset(token_ids, batch_size=16, seed=3))
    again = _batches(make_dataset(token_ids, batch_size=16, seed=3))
    other = _batches(make_dataset(token_ids, batch_size=16, seed=4))
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(first, again))
    assert not all(a[0].shape == b[0].shape and np.array_equal(a[0], b[0]) for a, b in zip(first, other))


def test_repeat_and_drop_remainder(token_ids):
    dataset = make_dataset(token_ids, batch_size=16, repeat=True, drop_remainder=True)
    for features, targets in itertools.islice(dataset, 30):
        assert features["encoder_tokens"].shape[0] == 16 == targets.shape[0]


def test_noise(token_ids):
    clean = _batches(make_dataset(token_ids, batch_size=32, shuffle=False))
    noisy = _batches(
        make_dataset(
            token_ids, batch_size=32, shuffle=False, word_dropout_rate=0.3, word_blank_rate=0.2, shuffle_distance=3
        )
    )
    changed = 0
    for (clean_encoder, clean_decoder, clean_targets), (encoder, decoder, targets) in zip(clean, noisy):
        np.testing.assert_array_equal(decoder, clean_decoder)  # noise touches the encoder only
        np.testing.assert_array_equal(targets, clean_targets)
        for clean_row, row in zip(clean_encoder, encoder):
            clean_length, length = np.count_nonzero(clean_row), np.count_nonzero(row)
            assert 1 <= length <= clean_length
            assert np.flatnonzero(row).max() == length - 1
            changed += not np.array_equal(clean_row, row)
    assert changed > 0.8 * len(token_ids)
    blanked = np.concatenate([encoder.ravel() for encoder, _, _ in noisy])
    assert 0.05 < np.mean(blanked[blanked != PAD_ID] == UNK_ID) < 0.4


def test_noise_functions_bounds():
    from textae.text.noise import local_shuffle, word_dropout

    tokens = tf.range(10, 40, dtype=tf.int32)
    for step in range(20):
        shuffled = local_shuffle(tokens, 2, tf.constant([step, 1], tf.int64)).numpy()
        assert sorted(shuffled) == list(range(10, 40))
        assert np.abs(shuffled - 10 - np.arange(30)).max() <= 2
        assert len(word_dropout(tokens[:1], 0.99, tf.constant([step, 2], tf.int64))) == 1


def test_sharding_policy_and_errors(token_ids):
    dataset = make_dataset(token_ids, batch_size=8)
    policy = dataset.options().experimental_distribute.auto_shard_policy
    assert policy == tf.data.experimental.AutoShardPolicy.DATA
    with pytest.raises(ValueError, match="no tokens"):
        make_dataset([[5, 6], []], batch_size=2)
    with pytest.raises(ValueError, match="word_dropout_rate"):
        make_dataset(token_ids, batch_size=2, word_dropout_rate=1.0)


def test_padding_fraction():
    rows = [np.full(length, 7, np.int32) for length in (7, 7)]  # padded to 8, targets are 9 long with eos
    assert padding_fraction(make_dataset(rows, batch_size=2, shuffle=False)) == pytest.approx(1 / 9)


@pytest.mark.slow
def test_bucketing_keeps_padding_low_on_shipped_corpus():
    path = data.SHIPPED_CORPUS_DIR / "train.txt.gz"
    if not path.is_file():
        pytest.skip(f"{path} is not built yet (python -m training.corpus)")
    with gzip.open(path, "rt", encoding="utf-8") as file:
        sentences = [line.strip() for line in itertools.islice(file, 50_000) if line.strip()]
    tokenizer = Tokenizer.train(sentences, TokenizerConfig(vocab_size=4000))
    ids, report = tokenize_texts(tokenizer, sentences, max_tokens=48)
    assert report["kept"] > 0.9 * len(sentences)
    fraction = padding_fraction(make_dataset(ids, batch_size=128, seed=0))
    assert fraction < 0.15, f"padding fraction {fraction:.3f}"


@pytest.mark.parametrize("batch_size", [1, 4, 7])
@pytest.mark.parametrize("bucket_boundaries", [BUCKET_BOUNDARIES, (3, 5), None])
@pytest.mark.parametrize("drop_remainder", [False, True])
def test_num_batches_counts_what_make_dataset_gives(
    tiny_tokenizer, tiny_sentences, batch_size, bucket_boundaries, drop_remainder
):
    ids, _ = tokenize_texts(tiny_tokenizer, tiny_sentences, max_tokens=64)
    options = dict(bucket_boundaries=bucket_boundaries, drop_remainder=drop_remainder)
    dataset = make_dataset(ids, batch_size, word_dropout_rate=0.3, **options)
    assert num_batches(ids, batch_size, **options) == sum(1 for _ in dataset)


def test_shuffle_draws_from_the_whole_set_from_the_first_batch():
    # More sentences than the shuffle buffer used to hold (100k): the first batch of an epoch must come
    # from everywhere, not only from the first rows. Each one-token sentence is its own row number + 4.
    count = 120_000
    rows = tf.RaggedTensor.from_row_lengths(tf.range(4, count + 4, dtype=tf.int32), tf.ones(count, tf.int64))
    dataset = make_dataset(rows, batch_size=1000, shuffle=True, seed=3, bucket_boundaries=None)
    first_batch = next(iter(dataset))[0]["encoder_tokens"].numpy().ravel() - 4
    late = int((first_batch >= 100_000).sum())
    assert 100 < late < 250  # about 1000 * 20k / 120k = 167 when uniform; ~0 with a 100k buffer


def test_training_stream_passes_are_whole_shuffled_and_resumable_at_any_batch():
    from textae.text.pipeline import training_stream

    rng = np.random.default_rng(0)
    ids = [list(rng.integers(5, 50, size=int(rng.integers(1, 40)))) for _ in range(100)]
    per_pass = num_batches(ids, 8)
    batches = [b for b in training_stream(ids, 8, seed=1, word_dropout_rate=0.2).take(3 * per_pass)]
    for number in range(3):  # every sentence once per pass, in a new order each pass
        rows = [tuple(t[t > 0]) for b in batches[number * per_pass : (number + 1) * per_pass]
                for t in b[0]["decoder_tokens"].numpy()[:, 1:]]  # fmt: skip
        assert sorted(rows) == sorted(tuple(row) for row in ids)
    first = [b[0]["decoder_tokens"].numpy().tolist() for b in batches[:per_pass]]
    second = [b[0]["decoder_tokens"].numpy().tolist() for b in batches[per_pass : 2 * per_pass]]
    assert first != second
    resumed = list(training_stream(ids, 8, seed=1, first_pass=1, skip_batches=5, word_dropout_rate=0.2).take(per_pass))
    for got, want in zip(resumed, batches[per_pass + 5 : 2 * per_pass + 5]):  # noise included
        np.testing.assert_array_equal(got[0]["encoder_tokens"].numpy(), want[0]["encoder_tokens"].numpy())


def test_long_sentences_are_oversampled_by_their_token_count():
    import numpy as np

    from textae.training.inputs import oversample_long

    ids = [np.arange(n) for n in (3, 17, 20, 5)]
    more, repeated = oversample_long(ids, long_tokens=17, repeats=3)
    assert repeated == 2 and sorted(len(row) for row in more) == [3, 5, 17, 17, 17, 20, 20, 20]
    assert oversample_long(ids, 17, 1) == (ids, 0)
