"""What `TextAE` returns: decoded sentences, reconstructions and interpolation steps."""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass
class Decoded:
    """One decoded sentence."""

    text: str
    tokens: list[int]
    pieces: list[str]
    token_probabilities: list[float]
    log_probability: float
    finished: bool  # False when decoding stopped at max_length without </s>


@dataclasses.dataclass
class Reconstruction:
    """A sentence, the model's reconstruction of it and how good it is."""

    input: str
    output: str
    pieces: list[str]
    token_probabilities: list[float]
    exact_match: bool
    bleu: float  # sentence BLEU, 0 to 100
    anomaly_score: float  # teacher-forced NLL per token; higher is less like the training text
    latent: np.ndarray = dataclasses.field(repr=False)  # (Z,); left out of the repr: 512 floats say nothing


@dataclasses.dataclass
class InterpolationStep:
    """One point on the path between two sentences."""

    position: float  # 0 at the first sentence, 1 at the second
    vector: np.ndarray = dataclasses.field(repr=False)  # (Z,)
    text: str
    duplicate_of_previous: bool
