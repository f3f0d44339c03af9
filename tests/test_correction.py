"""Decoding with latent correction: candidates re-encoded, the nearest to the target kept."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from textae.text import bundle, correction, decoding, encoding


@pytest.fixture(scope="module")
def loaded(tiny_bundle):
    return bundle.load_bundle(tiny_bundle)


def _distance(model, result, target):
    rows = [result.tokens[i, : result.lengths[i]].tolist() for i in range(len(result.lengths))]
    vectors = encoding.encode(model, [row or [4] for row in rows])
    return np.linalg.norm(vectors - target, axis=1)


def test_correction_is_never_further_from_the_latent_than_plain_decoding(loaded, tiny_sentences_trained):
    model, tokenizer = loaded.model, loaded.tokenizer
    vectors = encoding.encode(model, tokenizer.encode(tiny_sentences_trained[:16]))
    noisy = vectors + np.random.default_rng(0).normal(0, 0.6, vectors.shape).astype(np.float32)  # off the data
    plain = correction.decode(model, noisy, decoding.DecodingSettings(max_length=30))
    corrected = correction.decode(model, noisy, decoding.DecodingSettings(max_length=30, correction_steps=3))
    assert np.all(_distance(model, corrected, noisy) <= _distance(model, plain, noisy) + 1e-5)
    assert corrected.tokens.shape[0] == 16 and corrected.lengths.shape == (16,)


def test_correction_keeps_exact_reconstructions(loaded, tiny_sentences_trained):
    from textae.text.autoencoder import TextAE

    autoencoder = TextAE(loaded)
    settings = decoding.DecodingSettings(correction_steps=2)
    outputs = [r.output for r in autoencoder.reconstruct(tiny_sentences_trained[:8], settings)]
    assert outputs == [r.output for r in autoencoder.reconstruct(tiny_sentences_trained[:8])]


def test_negative_correction_steps_are_refused():
    with pytest.raises(ValueError, match="correction_steps"):
        decoding.DecodingSettings(correction_steps=-1).validate()


def test_evaluate_reports_the_corrected_decoding(tiny_bundle, capsys):
    import json

    from textae.training import evaluate

    flags = ["--limit", "20", "--correction-steps", "2", "--latency", "5", "--json"]
    assert evaluate.main(["--model", str(tiny_bundle), *flags]) == 0
    results = json.loads(capsys.readouterr().out)
    assert results["decoding"]["correction_steps"] == 2 and 0.0 <= results["exact_match"] <= 1.0
    assert 0 < results["decoding"]["latency_sentences"] <= 5 and results["decoding"]["latency_p50_ms"] > 0


def test_samples_are_left_as_drawn(loaded):
    """A sampled decoding is meant to vary: corrections (greedy re-decodes) do not apply to it."""
    latent = np.random.default_rng(1).normal(0, 1, (4, loaded.model.model_config.latent_dim)).astype(np.float32)
    settings = decoding.DecodingSettings(method="sample", seed=3, max_length=20)
    plain = correction.decode(loaded.model, latent, settings)
    corrected = correction.decode(loaded.model, latent, dataclasses.replace(settings, correction_steps=2))
    np.testing.assert_array_equal(plain.tokens, corrected.tokens)
