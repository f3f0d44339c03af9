"""Tests for textae.text.decoding on a tiny autoencoder overfitted to eight sentences."""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf
from batches import make_batch

from textae.text import decoding
from textae.text.config import ModelConfig
from textae.text.decoding import DecodingSettings
from textae.text.model import TextAutoencoder
from textae.text.tokenizer import BOS_ID, EOS_ID, PAD_ID

GREEDY = DecodingSettings(method="greedy", max_length=10)


@pytest.fixture(scope="module")
def trained():
    """(model, sentences, their latents): a model that reconstructs 8 random sentences."""
    keras.utils.set_random_seed(0)
    generator = np.random.default_rng(0)
    sentences = [generator.integers(4, 30, size=generator.integers(3, 7)).tolist() for _ in range(8)]
    config = ModelConfig(
        vocab_size=30,
        embedding_dim=16,
        hidden_dim=32,
        latent_dim=16,
        bidirectional=False,
        sampling_schedule="constant",
        sampling_k=1.0,  # plain teacher forcing
    )
    model = TextAutoencoder(config)
    model.build()
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    inputs, targets = make_batch(sentences)
    dataset = tf.data.Dataset.from_tensor_slices((inputs, targets))
    model.fit(dataset.batch(8).repeat(150), shuffle=False, verbose=0)
    latents = model.encode(inputs["encoder_tokens"])[0].numpy()
    return model, sentences, latents


def _rows(result):
    return [result.tokens[row, : result.lengths[row]].tolist() for row in range(len(result.lengths))]


def _teacher_forced_log_probs(model, latent, result):
    """Per row: log p of each emitted token and of </s>, from the teacher-forced decoder."""
    sentences = _rows(result)
    inputs, targets = make_batch(sentences)
    logits = model.project(model.decoder_hidden(latent, inputs["decoder_tokens"]))
    banned = np.isin(np.arange(logits.shape[-1]), [PAD_ID, BOS_ID])  # never emitted, as in decoding
    log_probs = tf.nn.log_softmax(tf.where(banned, -np.inf, logits)).numpy()
    return [log_probs[row, np.arange(len(s) + 1), targets[row, : len(s) + 1]] for row, s in enumerate(sentences)]


def test_greedy_reconstructs_the_training_sentences(trained):
    model, sentences, latents = trained
    result = decoding.decode(model, latents, GREEDY)
    assert _rows(result) == sentences
    assert result.finished.all()
    assert result.lengths.tolist() == [len(s) for s in sentences]
    assert result.tokens.dtype == np.int32 and result.tokens.shape == (8, max(map(len, sentences)))


def test_probabilities_agree_with_the_teacher_forced_model(trained):
    model, _, latents = trained
    noisy = latents + np.random.default_rng(1).normal(0, 0.5, latents.shape).astype(np.float32)
    result = decoding.decode(model, noisy, GREEDY)
    assert result.finished.all()
    expected = _teacher_forced_log_probs(model, noisy, result)
    for row, length in enumerate(result.lengths):
        probabilities = result.token_probabilities[row]
        assert np.all(probabilities[:length] > 0) and np.all(probabilities[:length] <= 1)
        assert np.all(probabilities[length:] == 0) and np.all(result.tokens[row, length:] == 0)
        np.testing.assert_allclose(np.log(probabilities[:length]), expected[row][:-1], atol=1e-4)
        log_eos = expected[row][-1]
        assert result.log_probability[row] == pytest.approx(np.sum(np.log(probabilities[:length])) + log_eos, abs=1e-4)


def test_max_length_truncates_and_marks_rows_unfinished(trained):
    model, sentences, latents = trained
    result = decoding.decode(model, latents, dataclasses.replace(GREEDY, max_length=4))
    assert result.tokens.shape[1] == 4
    for row, sentence in enumerate(sentences):
        assert _rows(result)[row] == sentence[:4]
        # A sentence of exactly max_length tokens still ends with </s>.
        assert result.finished[row] == (len(sentence) <= 4)
        if not result.finished[row]:  # no </s> term in the log-probability
            probabilities = result.token_probabilities[row]
            assert result.log_probability[row] == pytest.approx(np.sum(np.log(probabilities)), abs=1e-4)


def test_beam_width_one_equals_greedy(trained):
    model, _, latents = trained
    latents = latents + np.random.default_rng(2).normal(0, 1.0, latents.shape).astype(np.float32)
    greedy = decoding.decode(model, latents, GREEDY)
    beam = decoding.decode(model, latents, DecodingSettings(method="beam", beam_width=1, max_length=10))
    np.testing.assert_array_equal(beam.tokens, greedy.tokens)
    np.testing.assert_array_equal(beam.finished, greedy.finished)
    np.testing.assert_allclose(beam.log_probability, greedy.log_probability, atol=1e-5)
    np.testing.assert_allclose(beam.token_probabilities, greedy.token_probabilities, atol=1e-6)


def test_beam_search_finds_at_least_the_greedy_probability(trained):
    model, sentences, latents = trained
    noise = np.random.default_rng(3).normal(0, 2.0, (32, 16))
    noisy = np.concatenate([latents, np.repeat(latents, 4, axis=0) + noise]).astype(np.float32)
    settings = DecodingSettings(method="beam", beam_width=4, length_penalty=0.0, max_length=12)
    greedy = decoding.decode(model, noisy, dataclasses.replace(GREEDY, max_length=12))
    beam = decoding.decode(model, noisy, settings)
    assert beam.finished.all() and greedy.finished.all()
    assert np.all(beam.log_probability >= greedy.log_probability - 1e-5)
    assert np.any(beam.log_probability > greedy.log_probability + 0.01)  # the search matters somewhere
    assert _rows(beam)[:8] == sentences
    # The returned probabilities belong to the returned tokens.
    expected = _teacher_forced_log_probs(model, noisy, beam)
    for row, length in enumerate(beam.lengths):
        np.testing.assert_allclose(np.log(beam.token_probabilities[row, :length]), expected[row][:-1], atol=1e-4)
        assert beam.log_probability[row] == pytest.approx(np.sum(expected[row]), abs=1e-4)


def test_sampling_limits_equal_greedy(trained):
    model, _, latents = trained
    noisy = latents + np.random.default_rng(4).normal(0, 1.0, latents.shape).astype(np.float32)
    greedy = decoding.decode(model, noisy, GREEDY)
    for settings in (
        DecodingSettings(method="sample", max_length=10, temperature=1e-4, seed=0),
        DecodingSettings(method="sample", max_length=10, top_k=1, seed=0),
        DecodingSettings(method="sample", max_length=10, top_p=1e-6),
    ):
        sampled = decoding.decode(model, noisy, settings)
        np.testing.assert_array_equal(sampled.tokens, greedy.tokens)
        np.testing.assert_allclose(sampled.log_probability, greedy.log_probability, atol=1e-5)


def test_seeded_sampling_is_reproducible(trained):
    model, _, latents = trained
    noisy = np.repeat(latents, 4, axis=0) + np.random.default_rng(5).normal(0, 2.0, (32, 16)).astype(np.float32)
    settings = DecodingSettings(method="sample", max_length=10, temperature=2.0, seed=7)
    first, second = decoding.decode(model, noisy, settings), decoding.decode(model, noisy, settings)
    np.testing.assert_array_equal(first.tokens, second.tokens)
    np.testing.assert_array_equal(first.log_probability, second.log_probability)
    other = decoding.decode(model, noisy, dataclasses.replace(settings, seed=8))
    assert not np.array_equal(first.tokens, other.tokens) or not np.array_equal(first.lengths, other.lengths)
    unseeded = decoding.decode(model, noisy, dataclasses.replace(settings, seed=None))
    assert np.all(unseeded.lengths <= 10)


def test_pad_and_bos_are_never_emitted():
    keras.utils.set_random_seed(1)
    config = ModelConfig(vocab_size=30, embedding_dim=8, hidden_dim=16, latent_dim=8, bidirectional=False)
    model = TextAutoencoder(config)
    model.build()
    bias = np.zeros(30, np.float32)
    bias[[PAD_ID, BOS_ID]] = 50.0  # the model would pick them every time
    bias[EOS_ID] = 20.0
    model.output_layer.bias.assign(bias)
    latents = np.random.default_rng(0).normal(size=(4, 8)).astype(np.float32)
    for settings in (GREEDY, DecodingSettings(method="beam", max_length=5), DecodingSettings(method="sample", seed=0)):
        result = decoding.decode(model, latents, settings)
        assert result.finished.all() and np.all(result.lengths == 0)  # </s> is the best allowed token
        assert result.log_probability == pytest.approx(np.zeros(4), abs=1e-4)


def test_new_batch_sizes_do_not_retrace(trained):
    model, _, latents = trained
    for settings in (GREEDY, DecodingSettings(method="beam", max_length=10, beam_width=3)):
        function = decoding.compiled_decoder(model, settings)
        decoding.decode(model, latents[:3], settings)
        decoding.decode(model, latents[:5], dataclasses.replace(settings, length_penalty=1.0))
        assert function.experimental_get_tracing_count() == 1
        assert decoding.compiled_decoder(model, settings) is function


def test_filter_logits_top_k_and_top_p():
    logits = tf.math.log(tf.constant([[0.5, 0.3, 0.15, 0.05]]))
    keep = lambda top_k, top_p: np.isfinite(decoding.filter_logits(logits, top_k, top_p).numpy()[0]).tolist()
    assert keep(0, 1.0) == [True, True, True, True]
    assert keep(2, 1.0) == [True, True, False, False]
    assert keep(0, 0.7) == [True, True, False, False]  # 0.5 < 0.7 <= 0.8
    assert keep(0, 0.5) == [True, False, False, False]
    assert keep(1, 0.9) == [True, False, False, False]


@pytest.mark.parametrize(
    "changes",
    [
        {"method": "nucleus"},
        {"max_length": 0},
        {"beam_width": 0},
        {"temperature": 0.0},
        {"top_k": -1},
        {"top_p": 0.0},
        {"top_p": 1.5},
        {"length_penalty": -0.1},
        {"seed": 1.5},
    ],
)
def test_invalid_settings_raise(changes):
    with pytest.raises(ValueError, match=next(iter(changes))):
        dataclasses.replace(DecodingSettings(), **changes).validate()


def test_invalid_inputs_raise(trained):
    model, _, latents = trained
    with pytest.raises(ValueError, match="latent must have shape"):
        decoding.decode(model, latents[:, :3])
    with pytest.raises(ValueError, match="beam_width"):
        decoding.decode(model, latents, DecodingSettings(method="beam", beam_width=29))


class MarkovDecoder:
    """A stand-in decoder whose next-token distribution depends on the previous token only."""

    def __init__(self, transitions: dict[int, dict[int, float]], vocab_size: int = 8):
        table = np.full((vocab_size, vocab_size), 1e-12)
        for previous, row in transitions.items():
            for token, probability in row.items():
                table[previous, token] = probability
        self.log_table = tf.constant(np.log(table / table.sum(axis=1, keepdims=True)), tf.float32)
        self.model_config = ModelConfig(vocab_size=vocab_size, latent_dim=1)

    def decoder_initial_state(self, latent):
        return [[tf.zeros_like(latent)]]

    def decoder_step_weights(self, logit_bias=None):
        return logit_bias

    def decoder_step(self, tokens, states, latent, training=False, weights=None):
        return tf.gather(self.log_table, tokens) + weights, states


X, P, Q, Y = 4, 5, 6, 7


def test_beam_search_keeps_a_finished_hypothesis_that_longer_beams_outscore_for_a_while():
    # "" (p 0.25) is the best sentence. After one step both beams extend x (x p, x q: p 0.3 each), which
    # outscore it, so a beam set that keeps finished beams among the running ones loses it.
    decoder = MarkovDecoder(
        {
            BOS_ID: {X: 0.6, EOS_ID: 0.25, Y: 0.15},
            X: {P: 0.5, Q: 0.5},
            Y: {EOS_ID: 1.0},
            P: {EOS_ID: 0.5, P: 0.5},
            Q: {EOS_ID: 0.5, Q: 0.5},
        }
    )
    settings = DecodingSettings(method="beam", beam_width=2, length_penalty=0.0, max_length=6)
    result = decoding.decode(decoder, np.zeros((3, 1), np.float32), settings)
    assert result.lengths.tolist() == [0, 0, 0] and result.finished.all()
    np.testing.assert_allclose(result.log_probability, np.log(0.25), atol=1e-5)


def test_beam_search_with_no_finished_hypothesis_returns_the_best_truncated_beam():
    decoder = MarkovDecoder({BOS_ID: {X: 0.7, P: 0.3}, X: {X: 0.9, Q: 0.1}, P: {P: 1.0}, Q: {Q: 1.0}})
    settings = DecodingSettings(method="beam", beam_width=2, max_length=3)
    result = decoding.decode(decoder, np.zeros((1, 1), np.float32), settings)
    assert result.tokens.tolist() == [[X, X, X]] and not result.finished[0]
    np.testing.assert_allclose(result.log_probability, np.log(0.7 * 0.9 * 0.9), atol=1e-5)
    np.testing.assert_allclose(result.token_probabilities, [[0.7, 0.9, 0.9]], atol=1e-5)


def test_beam_search_wider_than_half_the_vocabulary():
    """2W exceeds V: every continuation is a candidate, banned ones included, and results stay valid."""
    decoder = MarkovDecoder({BOS_ID: {X: 0.5, P: 0.3, EOS_ID: 0.2}, X: {EOS_ID: 1.0}, P: {EOS_ID: 0.6, Q: 0.4}})
    settings = DecodingSettings(method="beam", beam_width=6, length_penalty=0.0, max_length=4)
    result = decoding.decode(decoder, np.zeros((2, 1), np.float32), settings)
    assert result.tokens.tolist() == [[X], [X]] and result.finished.all()
    np.testing.assert_allclose(result.log_probability, np.log(0.5), atol=1e-5)


def test_a_seeded_sample_of_a_row_does_not_depend_on_the_other_rows(trained):
    model, _, latents = trained
    noisy = latents + np.random.default_rng(6).normal(0, 2.0, latents.shape).astype(np.float32)
    settings = DecodingSettings(method="sample", max_length=10, temperature=2.0, seed=3)
    alone = decoding.decode(model, noisy[:1], settings)
    # Other sentences (that finish at other steps, so the running batch differs) and more of them.
    others = np.concatenate([noisy[:1], noisy[::-1], noisy * 1.5])
    together = decoding.decode(model, others, settings)
    assert alone.lengths[0] == together.lengths[0]
    np.testing.assert_array_equal(alone.tokens[0, : alone.lengths[0]], together.tokens[0, : together.lengths[0]])
    np.testing.assert_allclose(alone.log_probability[0], together.log_probability[0], atol=1e-5)


def _exhaustive_best(decoder: MarkovDecoder, max_length: int, length_penalty: float):
    """The best finished sentence (up to `max_length` tokens, then </s>) by GNMT-normalised score, by brute force."""
    import itertools

    log_table = decoder.log_table.numpy().copy()
    log_table[:, [PAD_ID, BOS_ID]] = -np.inf  # never emitted: decoding renormalises over the other tokens
    log_table -= np.log(np.exp(log_table).sum(axis=1, keepdims=True))
    emittable = [t for t in range(log_table.shape[0]) if t not in (PAD_ID, BOS_ID, EOS_ID)]
    best = (-np.inf, None)
    for length in range(max_length + 1):
        for tokens in itertools.product(emittable, repeat=length):
            path = (BOS_ID, *tokens, EOS_ID)
            score = sum(log_table[a, b] for a, b in zip(path, path[1:]))
            normalised = score / ((5.0 + length + 1) / 6.0) ** length_penalty
            best = max(best, (normalised, list(tokens)), key=lambda pair: pair[0])
    return best[1]


@pytest.mark.parametrize("length_penalty", [0.0, 0.6])
def test_beam_search_at_max_length_weighs_closed_beams_against_finished_ones(length_penalty):
    # "" (p 0.3) finishes at the first step; "x p" then </s> (p 0.7) is complete only at max_length.
    decoder = MarkovDecoder({BOS_ID: {X: 0.7, EOS_ID: 0.3}, X: {P: 1.0}, P: {EOS_ID: 1.0}})
    settings = DecodingSettings(method="beam", beam_width=2, length_penalty=length_penalty, max_length=2)
    result = decoding.decode(decoder, np.zeros((2, 1), np.float32), settings)
    assert _exhaustive_best(decoder, 2, length_penalty) == [X, P]
    assert result.tokens.tolist() == [[X, P], [X, P]] and result.finished.all()
    np.testing.assert_allclose(result.log_probability, np.log(0.7), atol=1e-5)


@pytest.mark.parametrize("length_penalty", [0.0, 0.6])
@pytest.mark.parametrize("seed", range(6))
def test_beam_search_equals_exhaustive_search_on_random_chains(seed, length_penalty):
    # With max_length 1 and a beam per emittable token, beam search sees every sentence: it must find the best.
    generator = np.random.default_rng(seed)
    vocab_size = 8
    transitions = {
        previous: dict(zip(range(vocab_size), generator.dirichlet(np.full(vocab_size, 0.5))))
        for previous in range(vocab_size)
    }
    decoder = MarkovDecoder(transitions, vocab_size)
    settings = DecodingSettings(method="beam", beam_width=vocab_size - 2, length_penalty=length_penalty, max_length=1)
    result = decoding.decode(decoder, np.zeros((1, 1), np.float32), settings)
    expected = _exhaustive_best(decoder, 1, length_penalty)
    assert result.finished[0] and result.tokens[0, : result.lengths[0]].tolist() == expected
