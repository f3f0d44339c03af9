"""Tests for textae.text.metrics on small hand-made inputs."""

import math

import numpy as np
import pytest
import sacrebleu

from textae.text import metrics


def test_token_accuracy_counts_tokens_and_the_end_position():
    assert metrics.token_accuracy([[5, 6, 7]], [[5, 6, 7]]) == 1.0
    # 2 of 3 tokens right, same length so </s> right: 3 / 4.
    assert metrics.token_accuracy([[5, 6, 7]], [[5, 9, 7]]) == 0.75
    # Too short: tokens 5 and 6 right, </s> wrong: 2 / 4. Too long: 3 tokens right, </s> wrong.
    assert metrics.token_accuracy([[5, 6, 7]], [[5, 6]]) == 0.5
    assert metrics.token_accuracy([[5, 6, 7]], [[5, 6, 7, 8]]) == 0.75
    # Pooled over the corpus: (4 + 0) / (4 + 1).
    assert metrics.token_accuracy([[5, 6, 7], []], [[5, 6, 7], [4]]) == pytest.approx(4 / 5)
    assert metrics.token_accuracy([], []) == 0.0


def test_exact_match_normalises_whitespace():
    references = ["the cat sat .", "a dog", "hello"]
    hypotheses = ["the  cat sat . ", " a dog", "Hello"]
    assert metrics.exact_match(references, hypotheses) == pytest.approx(2 / 3)
    assert metrics.exact_match([], []) == 0.0


def test_mismatched_lengths_raise():
    with pytest.raises(ValueError, match="2 references but 1 hypotheses"):
        metrics.exact_match(["a", "b"], ["a"])
    with pytest.raises(ValueError):
        metrics.corpus_bleu(["a"], [])


def test_corpus_bleu_bounds_and_sacrebleu_agreement():
    references = ["the cat sat on the mat .", "a quick brown fox jumps over the lazy dog ."]
    assert metrics.corpus_bleu(references, references) == pytest.approx(100.0)
    assert metrics.corpus_bleu(references, ["zebra xylophone", "quantum mango umbrella"]) < 1.0
    assert metrics.corpus_bleu([], []) == 0.0
    hypotheses = ["the cat sat on a mat .", "a quick fox jumps over the dog ."]
    expected = sacrebleu.corpus_bleu(hypotheses, [references]).score
    assert metrics.corpus_bleu(references, hypotheses) == pytest.approx(expected)
    assert 0.0 < metrics.corpus_bleu(references, hypotheses) < 100.0


def test_sentence_bleu():
    assert metrics.sentence_bleu("the cat sat on the mat", "the cat sat on the mat") == pytest.approx(100.0)
    assert metrics.sentence_bleu("the cat sat on the mat", "green ideas sleep") < 5.0
    expected = sacrebleu.sentence_bleu("the cat sat on a mat", ["the cat sat on the mat"]).score
    assert metrics.sentence_bleu("the cat sat on the mat", "the cat sat on a mat") == pytest.approx(expected)


def test_active_units_counts_dimensions_that_vary_over_the_data():
    generator = np.random.default_rng(0)
    means = np.zeros((500, 5))
    means[:, 0] = generator.normal(0.0, 1.0, 500)  # variance ~1: active
    means[:, 1] = generator.normal(0.0, 0.3, 500)  # variance ~0.09: active
    means[:, 2] = generator.normal(3.0, 0.01, 500)  # variance ~1e-4: inactive, whatever the mean
    means[:, 4] = 7.0  # constant: inactive
    assert metrics.active_units(means) == 2
    assert metrics.active_units(means, delta=0.5) == 1
    assert metrics.active_units(np.zeros((0, 5))) == 0
    with pytest.raises(ValueError, match="shape"):
        metrics.active_units(np.zeros(5))


def test_perplexity():
    assert metrics.perplexity(0.0) == 1.0
    assert metrics.perplexity(math.log(50.0)) == pytest.approx(50.0)
    assert metrics.perplexity(1e6) == math.inf
    with pytest.raises(ValueError):
        metrics.perplexity(-1.0)


def test_length_buckets_follow_the_model_limit():
    from textae.text.metrics import bucket_label, length_buckets

    assert length_buckets(48) == [(1, 8), (9, 16), (17, 24), (25, 32), (33, 48)]
    assert length_buckets(20) == [(1, 8), (9, 16), (17, 20)]
    assert length_buckets(64)[-2:] == [(33, 48), (49, 64)]
    assert length_buckets(5) == [(1, 5)]
    assert bucket_label((17, 24)) == "17-24"
    with pytest.raises(ValueError, match="max_tokens must be positive"):
        length_buckets(0)
