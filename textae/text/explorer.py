"""The sentences of the explorer's map: which ones, and their latent vectors.

`training.ship` stores them in a model folder (`latents.npz`); the app computes them the same way
for a folder without stored latents. This reads the shipped corpus, so it sits above the inference
facade and the bundle, which need no dataset code.
"""

from __future__ import annotations

import numpy as np

from textae import data
from textae.text.inputs import normalise

SIZE = 2000  # sentences on the map


def explorer_sentences(autoencoder, count: int = SIZE) -> list[str]:
    """The first `count` distinct validation sentences of the shipped corpus that `autoencoder` can take.

    Sentences come whitespace-normalised, in the corpus's (hash) order, so a smaller `count` gives a prefix.
    """
    kept = []
    for text in dict.fromkeys(normalise(t) for t in data.load_texts(None, split="validation")):
        try:
            autoencoder.check_texts([text])
        except ValueError:  # empty, too long for the model
            continue
        kept.append(text)
        if len(kept) == count:
            break
    return kept


def explorer_latents(autoencoder, count: int = SIZE) -> tuple[list[str], np.ndarray]:
    """`explorer_sentences` and their `(N, Z)` latent vectors (the mean in variational mode)."""
    kept = explorer_sentences(autoencoder, count)
    return kept, autoencoder.encode(kept)
