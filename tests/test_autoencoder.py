"""TextAE on the tiny trained bundle: reconstruct, interpolate, neighbours, score, input errors."""

import numpy as np
import pytest

from textae.errors import InputError
from textae.loading import load
from textae.text.autoencoder import TextAE
from textae.text.decoding import DecodingSettings


@pytest.fixture(scope="module")
def autoencoder(tiny_bundle) -> TextAE:
    return load(tiny_bundle)


def test_reconstructs_trained_sentences_exactly(autoencoder, tiny_sentences_trained):
    results = autoencoder.reconstruct(tiny_sentences_trained)
    failures = [(r.input, r.output) for r in results if not r.exact_match]
    assert not failures
    assert all(r.bleu == pytest.approx(100.0) for r in results)
    first = results[0]
    assert len(first.pieces) == len(first.token_probabilities)
    assert all(0.0 < p <= 1.0 for p in first.token_probabilities)
    assert first.latent.shape == (autoencoder.latent_dim,)


def test_encode_is_batched_and_stable(autoencoder, tiny_sentences_trained):
    everything = autoencoder.encode(tiny_sentences_trained)
    in_small_batches = autoencoder.encode(tiny_sentences_trained, batch_size=5)
    assert everything.shape == (len(tiny_sentences_trained), autoencoder.latent_dim)
    assert everything.dtype == np.float32
    np.testing.assert_allclose(everything, in_small_batches, atol=1e-5)


def test_decode_accepts_one_vector(autoencoder, tiny_sentences_trained):
    vector = autoencoder.encode(tiny_sentences_trained[:1])[0]
    (decoded,) = autoencoder.decode(vector)
    assert decoded.text == tiny_sentences_trained[0]
    assert decoded.finished and decoded.log_probability < 0
    assert len(decoded.tokens) == len(decoded.pieces) == len(decoded.token_probabilities)


def test_interpolate_has_steps_entries_from_a_to_b(autoencoder, tiny_sentences_trained):
    a, b = tiny_sentences_trained[:2]
    path = autoencoder.interpolate(a, b, steps=6)
    assert len(path) == 6
    assert [step.position for step in path] == pytest.approx(np.linspace(0, 1, 6))
    ends = autoencoder.reconstruct([a, b])
    assert path[0].text == ends[0].output == a
    assert path[-1].text == ends[1].output == b
    assert not path[0].duplicate_of_previous
    for previous, step in zip(path, path[1:]):
        assert step.duplicate_of_previous == (step.text == previous.text)
    lerp_path = autoencoder.interpolate(a, b, steps=3, method="lerp")
    np.testing.assert_allclose(lerp_path[1].vector, (lerp_path[0].vector + lerp_path[2].vector) / 2, atol=1e-6)


def test_neighbours_of_a_trained_sentence_starts_with_itself(autoencoder, tiny_sentences_trained):
    query = tiny_sentences_trained[3]
    found = autoencoder.neighbours(query, candidates=tiny_sentences_trained, k=4)
    assert len(found) == 4
    assert found[0][0] == query and found[0][1] == pytest.approx(1.0, abs=1e-5)
    similarities = [similarity for _, similarity in found]
    assert similarities == sorted(similarities, reverse=True)


def test_neighbours_without_candidates_needs_cached_latents(autoencoder, tiny_sentences_trained):
    with pytest.raises(ValueError, match="latents.npz"):
        autoencoder.neighbours(tiny_sentences_trained[0])


def test_score_is_higher_for_unseen_text(autoencoder, tiny_sentences_trained):
    trained = autoencoder.score(tiny_sentences_trained)
    words = tiny_sentences_trained[0].rstrip(".!?").split()
    scrambled = " ".join(reversed(words)) + "."
    unseen = autoencoder.score([scrambled, "Park the near dinner letter a blue the."])
    assert trained.shape == (len(tiny_sentences_trained),)
    assert unseen.min() > trained.max()
    reconstruction = autoencoder.reconstruct(tiny_sentences_trained[:1])[0]
    assert reconstruction.anomaly_score == pytest.approx(float(trained[0]), rel=1e-4)


def test_sample(autoencoder, tiny_sentences_trained):
    nearby = autoencoder.sample(n=3, around=tiny_sentences_trained[0], radius=0.0, seed=0)
    assert nearby == [tiny_sentences_trained[0]] * 3
    settings = DecodingSettings(method="sample", max_length=20)
    assert autoencoder.sample(n=4, around=tiny_sentences_trained[0], radius=0.5, settings=settings, seed=1) == (
        autoencoder.sample(n=4, around=tiny_sentences_trained[0], radius=0.5, settings=settings, seed=1)
    )
    with pytest.raises(ValueError, match="deterministic"):
        autoencoder.sample(n=2)


@pytest.mark.parametrize(
    "texts, message",
    [
        ([], "No text"),
        (["   "], "empty"),
        (["a" * 501], "501 characters"),
        (["the cat " * 40], "tokens long"),
    ],
)
def test_input_errors(autoencoder, texts, message):
    with pytest.raises(InputError, match=message):
        autoencoder.reconstruct(texts)


def test_check_texts_normalises_whitespace(autoencoder):
    assert autoencoder.check_texts("  The  cat saw a red ball. ") == ["The cat saw a red ball."]


def test_skip_mode_keeps_every_input_in_its_place(autoencoder, tiny_sentences_trained):
    a, b = tiny_sentences_trained[:2]
    texts = [a, "   ", "the cat " * 40, b]
    checked = autoencoder.check(texts, errors="skip")
    assert checked.usable == [0, 3]
    assert checked.problems[1] == "is empty: enter a sentence." and "tokens long" in checked.problems[2]
    vectors = autoencoder.encode(texts, errors="skip")
    assert np.isnan(vectors[1:3]).all()
    np.testing.assert_allclose(vectors[[0, 3]], autoencoder.encode([a, b]), atol=1e-6)
    scores = autoencoder.score(texts, errors="skip")
    assert np.isnan(scores[1:3]).all() and np.isfinite(scores[[0, 3]]).all()
    results = autoencoder.reconstruct(texts, errors="skip")
    assert results[1] is None and results[2] is None
    assert [results[0].output, results[3].output] == [a, b]
    with pytest.raises(InputError, match="Text 2 is empty"):
        autoencoder.encode(texts)  # the default still raises at the first bad text
    with pytest.raises(ValueError, match="errors must be one of raise, skip"):
        autoencoder.encode(texts, errors="ignore")


def test_offset_is_the_difference_of_the_group_means(autoencoder, tiny_sentences_trained):
    group_a, group_b = tiny_sentences_trained[:4], tiny_sentences_trained[4:8]
    vector = autoencoder.offset(group_a, group_b)
    expected = autoencoder.encode(group_b).mean(axis=0) - autoencoder.encode(group_a).mean(axis=0)
    np.testing.assert_allclose(vector, expected, atol=1e-6)


def test_apply_offset_decodes_every_sentence_at_every_strength(autoencoder, tiny_sentences_trained):
    a, b = tiny_sentences_trained[:2]
    vector = autoencoder.encode([b])[0] - autoencoder.encode([a])[0]
    moved = autoencoder.apply_offset([a, b], vector, strengths=[0.0, 1.0])
    assert len(moved) == 2 and all(len(row) == 2 for row in moved)
    assert moved[0][0] == a and moved[1][0] == b  # strength 0: the reconstruction
    assert moved[0][1] == b  # a + (z_b - z_a) is z_b
    with pytest.raises(ValueError, match="strength"):
        autoencoder.apply_offset([a], vector, strengths=[])
