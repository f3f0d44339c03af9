"""The explorer's sentences: distinct corpus sentences the model takes, in a stable order."""

from __future__ import annotations

from textae.text import explorer


def test_explorer_sentences_are_distinct_validation_sentences_the_model_takes(tiny_bundle):
    import textae

    autoencoder = textae.load(tiny_bundle)
    sentences = explorer.explorer_sentences(autoencoder, 300)
    assert len(sentences) == 300 and len(set(sentences)) == 300
    assert all(s == " ".join(s.split()) and s for s in sentences)
    autoencoder.check_texts(sentences)  # raises if the model cannot take one of them
    assert explorer.explorer_sentences(autoencoder, 10) == sentences[:10]  # the same rule, in order


def test_explorer_latents_are_the_sentences_encoded(tiny_bundle):
    import textae

    autoencoder = textae.load(tiny_bundle)
    sentences, vectors = explorer.explorer_latents(autoencoder, 20)
    assert sentences == explorer.explorer_sentences(autoencoder, 20)
    assert vectors.shape == (20, autoencoder.latent_dim)
    assert abs(vectors - autoencoder.encode(sentences)).max() < 1e-5
