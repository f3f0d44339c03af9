"""Reconstruction and latent-space metrics: token accuracy, exact match, BLEU, active units.

BLEU is sacreBLEU's (Post 2018) with its standard `13a` tokenisation, so scores
are comparable with published numbers; `corpus_bleu` is the one to report,
`sentence_bleu` (smoothed) is for ranking single sentences.
"""

from __future__ import annotations

import math

import numpy as np
import sacrebleu

from textae.text.inputs import normalise


def _check_pairs(references, hypotheses) -> None:
    if len(references) != len(hypotheses):
        raise ValueError(
            f"Got {len(references)} references but {len(hypotheses)} hypotheses; pass one hypothesis per reference."
        )


def token_accuracy(references: list[list[int]], hypotheses: list[list[int]]) -> float:
    """Fraction of reference positions, `</s>` included, that the hypothesis reproduces.

    Each reference of n tokens counts n + 1 positions: position i < n is correct
    when the hypothesis has the same token at i, and the `</s>` position is
    correct when the hypothesis also has exactly n tokens (it stops where the
    reference stops). Extra hypothesis tokens are therefore penalised once,
    through the `</s>` position. This matches the teacher-forced accuracy over
    `tokens + </s>` targets when decoding follows the reference.

    Returns:
        A number in [0, 1]; 0.0 for an empty corpus.
    """
    _check_pairs(references, hypotheses)
    correct = total = 0
    for reference, hypothesis in zip(references, hypotheses):
        reference, hypothesis = list(reference), list(hypothesis)
        correct += sum(1 for r, h in zip(reference, hypothesis) if r == h)
        correct += int(len(reference) == len(hypothesis))
        total += len(reference) + 1
    return correct / total if total else 0.0


def exact_match(references: list[str], hypotheses: list[str]) -> float:
    """Fraction of hypotheses equal to their reference after whitespace normalisation; 0.0 if empty."""
    _check_pairs(references, hypotheses)
    if not references:
        return 0.0
    matches = sum(normalise(r) == normalise(h) for r, h in zip(references, hypotheses))
    return matches / len(references)


def corpus_bleu(references: list[str], hypotheses: list[str]) -> float:
    """Corpus BLEU in [0, 100] with sacreBLEU's 13a tokenisation; 0.0 for empty input."""
    _check_pairs(references, hypotheses)
    if not references:
        return 0.0
    return float(sacrebleu.corpus_bleu(list(hypotheses), [list(references)]).score)


def sentence_bleu(reference: str, hypothesis: str) -> float:
    """Smoothed sentence-level BLEU in [0, 100] (sacreBLEU's `exp` smoothing)."""
    return float(sacrebleu.sentence_bleu(hypothesis, [reference]).score)


def active_units(means: np.ndarray, delta: float = 0.01) -> int:
    """Number of active latent dimensions (Burda et al. 2016).

    A dimension u is active when Cov_x(E_q[u | x]) > delta: the variance over the
    data of the posterior mean (the latent itself in deterministic mode).

    Args:
        means: `(N, Z)` posterior means of N sentences.
        delta: the activity threshold; Burda et al. use 0.01.
    """
    means = np.asarray(means, dtype=np.float64)
    if means.ndim != 2:
        raise ValueError(f"means must have shape (sentences, latent_dim), got {means.shape}.")
    if means.shape[0] == 0:
        return 0
    return int(np.sum(np.var(means, axis=0) > delta))


def perplexity(cross_entropy_per_token: float) -> float:
    """exp of the mean cross-entropy per token in nats (inf if it overflows)."""
    if not cross_entropy_per_token >= 0:
        raise ValueError(f"cross_entropy_per_token must be non-negative nats, got {cross_entropy_per_token}.")
    try:
        return math.exp(cross_entropy_per_token)
    except OverflowError:
        return math.inf


# Upper edges of the length buckets of a report: fine where most sentences are, coarser past 32 tokens.
_BUCKET_EDGES = (8, 16, 24, 32, 48, 64, 96, 128, 192, 256)


def length_buckets(max_tokens: int) -> list[tuple[int, int]]:
    """Token-length buckets `(low, high)` covering 1..`max_tokens` (48 gives 1–8, 9–16, 17–24, 25–32, 33–48)."""
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be positive, got {max_tokens}.")
    highs = [edge for edge in _BUCKET_EDGES if edge < max_tokens] + [max_tokens]
    return [(low, high) for low, high in zip([1] + [h + 1 for h in highs[:-1]], highs)]


def bucket_label(bucket: tuple[int, int]) -> str:
    """'17-24' for (17, 24): the key of a bucket in JSON reports."""
    return f"{bucket[0]}-{bucket[1]}"
