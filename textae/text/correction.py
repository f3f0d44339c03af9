"""Decoding that uses the latent: re-encode candidates and keep the one closest to the target vector.

Greedy and beam search choose tokens by the decoder's probabilities alone; the encoder can say which
candidate *is* the sentence. `decode(model, latent, settings)` with `settings.correction_steps = K > 0`:

1. decodes the target `z` with `settings` (greedy, beam or sampling) and re-encodes the result;
2. K times: moves the decoding point by what the last candidate missed, `z' = z' + (z - encode(c))`
   (vec2text's correction, Morris et al. 2023, without a trained corrector), decodes `z'` greedily and
   re-encodes that candidate;
3. keeps, per row, the candidate whose re-encoding is nearest `z` (Euclidean); a later candidate replaces
   an earlier one only when it is strictly nearer, so a row whose first candidate re-encodes exactly is
   never changed.

Each step costs one greedy decode and one encode of the batch. With `correction_steps = 0`, or with sampling
(whose output is meant to vary), this is `textae.text.decoding.decode`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from textae.text import decoding, encoding


def _rows(result: decoding.DecodeResult) -> list[list[int]]:
    return [result.tokens[i, : result.lengths[i]].tolist() for i in range(len(result.lengths))]


def _reencode(model, rows: list[list[int]], target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each candidate's re-encoding (the target itself for an empty one) and its distance to the target
    (inf for an empty candidate)."""
    vectors, distances = target.copy(), np.full(len(rows), np.inf, np.float32)
    usable = [index for index, row in enumerate(rows) if row]
    if usable:
        vectors[usable] = encoding.encode(model, [rows[index] for index in usable])
        distances[usable] = np.linalg.norm(vectors[usable] - target[usable], axis=1)
    return vectors, distances


def _take(best: decoding.DecodeResult, other: decoding.DecodeResult, rows: np.ndarray) -> decoding.DecodeResult:
    """`best` with the rows `rows` replaced by `other`'s (both padded to the wider of the two)."""
    width = max(best.tokens.shape[1], other.tokens.shape[1])

    def widen(array):
        return np.pad(array, ((0, 0), (0, width - array.shape[1])))

    tokens, probabilities = widen(best.tokens), widen(best.token_probabilities)
    tokens[rows], probabilities[rows] = widen(other.tokens)[rows], widen(other.token_probabilities)[rows]
    lengths, log_probability, finished = best.lengths.copy(), best.log_probability.copy(), best.finished.copy()
    lengths[rows], log_probability[rows], finished[rows] = (
        other.lengths[rows],
        other.log_probability[rows],
        other.finished[rows],
    )
    used = int(lengths.max()) if lengths.size else 0
    return decoding.DecodeResult(tokens[:, :used], lengths, probabilities[:, :used], log_probability, finished)


def decode(model, latent, settings: decoding.DecodingSettings = decoding.DecodingSettings()) -> decoding.DecodeResult:
    """`decoding.decode`, followed by `settings.correction_steps` re-encoding corrections (module docstring)."""
    settings.validate()
    best = decoding.decode(model, latent, settings)
    if not settings.correction_steps or settings.method == "sample":  # a sample is meant to vary: left as drawn
        return best
    target = np.asarray(latent, np.float32)
    vectors, distance = _reencode(model, _rows(best), target)
    point = target.copy()
    greedy = dataclasses.replace(settings, method="greedy", correction_steps=0)
    for _ in range(settings.correction_steps):
        point = point + (target - vectors)  # an empty candidate (vector = target) leaves its point where it is
        candidate = decoding.decode(model, point, greedy)
        vectors, candidate_distance = _reencode(model, _rows(candidate), target)
        nearer = np.flatnonzero(candidate_distance < distance)
        if len(nearer):
            best = _take(best, candidate, nearer)
            distance[nearer] = candidate_distance[nearer]
    return best
