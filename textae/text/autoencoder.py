"""`TextAE`: a trained model folder as one object for the app, the CLI and notebooks.

```python
autoencoder = textae.load()  # assets/model (textae.loading.load)
autoencoder.reconstruct(["The cat sat on the mat."])[0].output
autoencoder.interpolate("I like tea.", "She hated the long winter.", steps=6)
```

Encoding, scoring and decoding run compiled graphs (input signatures with
dynamic batch and length, so new inputs never retrace), not `model.predict`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from textae.text import encoding, metrics
from textae.text import inputs as text_input
from textae.text import latent as latent_space
from textae.text.bundle import Bundle
from textae.text.correction import decode
from textae.text.decoding import DecodingSettings
from textae.text.inputs import InputError  # noqa: F401  (part of this module's interface)
from textae.text.results import Decoded, InterpolationStep, Reconstruction


class TextAE:
    """A trained text autoencoder: encode, decode, reconstruct, interpolate, sample, score.

    Args:
        bundle: A loaded model folder (see `textae.text.bundle.load_bundle`, or use `textae.load`).
    """

    MAX_INPUT_CHARS = text_input.MAX_INPUT_CHARS

    def __init__(self, bundle: Bundle):
        self._bundle = bundle

    # ------------------------------------------------------------- properties
    @property
    def model(self):
        return self._bundle.model

    @property
    def tokenizer(self):
        return self._bundle.tokenizer

    @property
    def config(self):
        return self._bundle.config

    @property
    def metrics(self) -> dict:
        return self._bundle.metrics

    @property
    def card(self) -> str:
        return self._bundle.card

    @property
    def path(self):
        return self._bundle.path

    @property
    def latent_dim(self) -> int:
        return self.model.model_config.latent_dim

    @property
    def variational(self) -> bool:
        return self.model.model_config.latent_mode == "variational"

    @property
    def max_input_tokens(self) -> int:
        return self.config.data.max_tokens

    def __repr__(self) -> str:
        return f"TextAE(path={str(self.path)!r}, latent_dim={self.latent_dim})"

    # ------------------------------------------------------------------ input
    def check(self, texts, errors: str = "raise") -> text_input.Checked:
        """The texts as the model sees them, their token ids, and why any cannot be taken (`text_input.check`).

        A batch checked already (a `Checked`) is passed on as it is, so callers that report problems first
        (the CLI, bulk encoding) do not check the same texts twice.
        """
        if isinstance(texts, text_input.Checked):
            if errors == "raise":
                texts.raise_first()
            return texts
        config = self.config.data
        return text_input.check(texts, self.tokenizer, lowercase=config.lowercase, max_tokens=config.max_tokens,
                                errors=errors)  # fmt: skip

    def check_texts(self, texts) -> list[str]:
        """Return the texts as the model will see them, or raise `InputError` saying what is wrong."""
        return self.check(texts).texts

    # ------------------------------------------------------------ encode, score
    def encode(self, texts, batch_size: int = 256, errors: str = "raise") -> np.ndarray:
        """`(N, Z)` latent vectors (the mean in variational mode).

        With `errors="skip"`, a text the model cannot take gets a row of NaN instead of raising
        `InputError`; `check(texts, errors="skip").problems` says why.
        """
        checked = self.check(texts, errors)
        vectors = np.full((len(checked.texts), self.latent_dim), np.nan, np.float32)
        if checked.usable:
            vectors[checked.usable] = encoding.encode(self.model, checked.usable_ids, batch_size)
        return vectors

    def score(self, texts, batch_size: int = 256, errors: str = "raise") -> np.ndarray:
        """`(N,)` anomaly scores: teacher-forced NLL per token (`</s>` included) given the latent mean.

        With `errors="skip"`, a text the model cannot take scores NaN instead of raising `InputError`.
        """
        checked = self.check(texts, errors)
        scores = np.full(len(checked.texts), np.nan, np.float32)
        if checked.usable:
            scores[checked.usable] = self._encode_and_score(checked.usable_ids, batch_size)[1]
        return scores

    def _encode_and_score(self, ids: list[list[int]], batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
        terms, means = encoding.teacher_forced(self.model, ids, batch_size)
        return means, (terms["cross_entropy_sum"] / np.maximum(terms["tokens"], 1.0)).astype(np.float32)

    # ------------------------------------------------------------------ decode
    def decode(self, latents, settings: DecodingSettings = DecodingSettings(), batch_size: int = 256) -> list[Decoded]:
        """Decode `(N, Z)` (or one `(Z,)`) latent vectors to sentences."""
        latents = np.asarray(latents, np.float32)
        if latents.ndim == 1:
            latents = latents[None, :]
        if latents.ndim != 2 or latents.shape[1] != self.latent_dim or len(latents) == 0:
            raise ValueError(f"latents must have shape (N, {self.latent_dim}) with N >= 1, got {latents.shape}.")
        if not np.all(np.isfinite(latents)):
            raise ValueError("latents contain NaN or infinite values.")
        decoded = []
        for start in range(0, len(latents), batch_size):
            result = decode(self.model, latents[start : start + batch_size], settings)
            rows = [result.tokens[i, : result.lengths[i]].tolist() for i in range(len(result.lengths))]
            texts = self.tokenizer.decode(rows) if rows else []
            for i, row in enumerate(rows):
                decoded.append(
                    Decoded(
                        text=texts[i],
                        tokens=row,
                        pieces=self.tokenizer.pieces(row),
                        token_probabilities=result.token_probabilities[i, : len(row)].astype(float).tolist(),
                        log_probability=float(result.log_probability[i]),
                        finished=bool(result.finished[i]),
                    )
                )
        return decoded

    # ------------------------------------------------------------ applications
    def reconstruct(
        self, texts, settings: DecodingSettings = DecodingSettings(), errors: str = "raise"
    ) -> list[Reconstruction]:
        """Encode and decode each text; compare the output with the input.

        With `errors="skip"`, a text the model cannot take gives None instead of raising `InputError`.
        """
        checked = self.check(texts, errors)
        results: list[Reconstruction | None] = [None] * len(checked.texts)
        if not checked.usable:
            return results
        cleaned = checked.usable_texts
        vectors, scores = self._encode_and_score(checked.usable_ids)
        outputs = self.decode(vectors, settings)
        for index, result in zip(checked.usable, self._compare(cleaned, outputs, scores, vectors)):
            results[index] = result
        return results

    @staticmethod
    def _compare(cleaned, outputs, scores, vectors) -> list[Reconstruction]:
        return [
            Reconstruction(
                input=text,
                output=output.text,
                pieces=output.pieces,
                token_probabilities=output.token_probabilities,
                exact_match=metrics.exact_match([text], [output.text]) == 1.0,
                bleu=float(metrics.sentence_bleu(text, output.text)),
                anomaly_score=float(score),
                latent=vector,
            )
            for text, output, score, vector in zip(cleaned, outputs, scores, vectors)
        ]

    def interpolate(
        self, a: str, b: str, steps: int = 8, method: str = "slerp", settings: DecodingSettings = DecodingSettings()
    ) -> list[InterpolationStep]:
        """Decode `steps` evenly spaced points from `a` to `b`, both ends included.

        The first and last steps decode the exact latent vectors of `a` and `b`, so
        they equal `reconstruct([a, b])`'s outputs.
        """
        vectors = self.encode([a, b])
        path = latent_space.interpolation_path(vectors[0], vectors[1], steps, method)  # (steps, Z)
        decoded = self.decode(path, settings)
        positions = np.linspace(0.0, 1.0, steps)
        return [
            InterpolationStep(
                position=float(positions[i]),
                vector=path[i],
                text=decoded[i].text,
                duplicate_of_previous=i > 0 and decoded[i].text == decoded[i - 1].text,
            )
            for i in range(steps)
        ]

    def offset(self, group_a, group_b) -> np.ndarray:
        """The attribute vector `mean(z_B) - mean(z_A)` (Shen et al. 2020): from group A's attribute to B's."""
        return latent_space.attribute_vector(self.encode(group_a), self.encode(group_b))

    def apply_offset(
        self, sentences, vector, strengths=(1.0,), settings: DecodingSettings = DecodingSettings()
    ) -> list[list[str]]:
        """Decode each sentence moved by `strength * vector`, for every strength, in one batched call.

        Returns `[sentence][strength]` texts; strength 0 is the plain reconstruction.
        """
        points = latent_space.shifted(self.encode(sentences), vector, strengths)  # (N, K, Z)
        decoded = self.decode(points.reshape(-1, self.latent_dim), settings)
        count = points.shape[1]
        return [[step.text for step in decoded[row * count : (row + 1) * count]] for row in range(len(points))]

    def neighbours(self, query: str, candidates=None, vectors=None, k: int = 5) -> list[tuple[str, float]]:
        """The `k` candidates whose latent vectors are most cosine-similar to the query's.

        Args:
            query: The sentence to search around.
            candidates: Sentences to search; None uses the model folder's cached `latents.npz`.
            vectors: `(N, Z)` latents of `candidates` if already computed; encoded otherwise.
            k: How many neighbours.

        Returns:
            `[(sentence, cosine similarity)]`, most similar first.
        """
        if candidates is None:
            cached = self._bundle.load_latents()
            if cached is None:
                raise ValueError(
                    f"No candidate sentences were given and {self.path} has no cached latents.npz; "
                    "pass candidates (e.g. --candidates FILE)."
                )
            candidates, vectors = cached
        candidates = list(candidates)
        if not candidates:
            raise InputError("The list of candidate sentences is empty.")
        if vectors is None:
            vectors = self.encode(candidates)
        vectors = np.asarray(vectors, np.float32)
        if vectors.shape != (len(candidates), self.latent_dim):
            raise ValueError(f"vectors must have shape ({len(candidates)}, {self.latent_dim}), got {vectors.shape}.")
        indices, similarities = latent_space.nearest_neighbours(self.encode([query])[0], vectors, k)
        return [(candidates[i], float(s)) for i, s in zip(indices, similarities)]

    def sample(
        self,
        n: int = 5,
        around: str | None = None,
        radius: float = 0.5,
        settings: DecodingSettings = DecodingSettings(),
        seed: int | None = None,
    ) -> list[str]:
        """Decode `n` random latent vectors.

        With `around`, points at distance `radius * ||z||` from the sentence's latent
        `z` (see `latent.sample_around`); without it, draws from the N(0, I) prior,
        which only a variational model has.
        """
        rng = np.random.default_rng(seed)
        if around is not None:
            points = latent_space.sample_around(self.encode([around])[0], radius, n, rng)
        elif self.variational:
            points = latent_space.sample_prior(n, self.latent_dim, rng)
        else:
            raise ValueError(
                "This model is deterministic: its latent space has no prior to sample from. "
                "Sample around a sentence instead (around=..., or --around on the command line)."
            )
        if seed is not None and settings.seed is None:
            settings = dataclasses.replace(settings, seed=seed)
        return [decoded.text for decoded in self.decode(points, settings)]
