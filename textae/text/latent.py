"""Geometry of the latent space: interpolation, neighbours and sampling.

Pure numpy, float32 in and out; `Z` is the latent size and `N` a number of vectors.
"""

from __future__ import annotations

import numpy as np

INTERPOLATION_METHODS = ("slerp", "lerp")
DISTANCE_METRICS = ("cosine", "euclidean")
_EPSILON = 1e-8


def _vector(value, name: str) -> np.ndarray:
    vector = np.asarray(value, dtype=np.float32)
    if vector.ndim != 1 or vector.size == 0:
        raise ValueError(f"{name} must be one latent vector of shape (Z,), got shape {vector.shape}.")
    return vector


def lerp(a, b, t: float) -> np.ndarray:
    """Linear interpolation `(1 - t) a + t b` between two `(Z,)` vectors."""
    a, b = _vector(a, "a"), _vector(b, "b")
    return ((1.0 - t) * a + t * b).astype(np.float32)


def slerp(a, b, t: float) -> np.ndarray:
    """Spherical interpolation between two `(Z,)` vectors (Shoemake 1985; White 2016).

    Moves along the great circle between the directions of `a` and `b` while the
    norm goes linearly from `|a|` to `|b|`, so two unit vectors stay on the unit
    sphere. Falls back to `lerp` when the vectors are (anti)parallel or zero, where
    the great circle is undefined.
    """
    a, b = _vector(a, "a"), _vector(b, "b")
    norm_a, norm_b = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if norm_a < _EPSILON or norm_b < _EPSILON:
        return lerp(a, b, t)
    cosine = float(np.clip(np.dot(a, b) / (norm_a * norm_b), -1.0, 1.0))
    omega = float(np.arccos(cosine))
    sin_omega = np.sin(omega)
    if sin_omega < 1e-6:
        return lerp(a, b, t)
    direction = (np.sin((1.0 - t) * omega) * a / norm_a + np.sin(t * omega) * b / norm_b) / sin_omega
    return (direction * ((1.0 - t) * norm_a + t * norm_b)).astype(np.float32)


def interpolation_path(a, b, steps: int, method: str = "slerp") -> np.ndarray:
    """`(steps, Z)` vectors from `a` to `b` at evenly spaced t, both ends included."""
    if method not in INTERPOLATION_METHODS:
        raise ValueError(f"method must be one of {', '.join(INTERPOLATION_METHODS)}; got {method!r}.")
    if steps < 2:
        raise ValueError(f"An interpolation path needs at least 2 steps (both ends), got {steps}.")
    step = slerp if method == "slerp" else lerp
    path = np.stack([step(a, b, float(t)) for t in np.linspace(0.0, 1.0, steps)])
    path[0], path[-1] = _vector(a, "a"), _vector(b, "b")  # exact ends, free of rounding
    return path


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, _EPSILON)


def cosine_similarity_matrix(a, b=None) -> np.ndarray:
    """`(N, M)` cosine similarities between rows of `a` `(N, Z)` and `b` `(M, Z)` (default `a`)."""
    a = np.atleast_2d(np.asarray(a, dtype=np.float32))
    b = a if b is None else np.atleast_2d(np.asarray(b, dtype=np.float32))
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"Cannot compare vectors of size {a.shape[-1]} with vectors of size {b.shape[-1]}.")
    return (_unit_rows(a) @ _unit_rows(b).T).astype(np.float32)


def nearest_neighbours(query, vectors, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """The `k` rows of `vectors` `(N, Z)` most cosine-similar to `query` `(Z,)`.

    Returns:
        `(indices (k,), similarities (k,))`, most similar first; `k` is capped at N.
    """
    query = _vector(query, "query")
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or len(vectors) == 0:
        raise ValueError(f"vectors must be a non-empty (N, Z) array, got shape {vectors.shape}.")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}.")
    similarities = cosine_similarity_matrix(query[None, :], vectors)[0]  # (N,)
    k = min(k, len(vectors))
    top = np.argpartition(-similarities, k - 1)[:k]
    order = top[np.argsort(-similarities[top], kind="stable")]
    return order, similarities[order]


def sample_around(center, radius: float, n: int, rng=None, relative: bool = True) -> np.ndarray:
    """`(n, Z)` points at distance exactly `radius` (scaled) from `center` `(Z,)`.

    Each offset has a uniformly random direction (a normalised Gaussian draw). With
    `relative=True` (the default) its length is `radius * ||center||`, so a radius
    of 0.5 means "half as far as the sentence is from the origin" whatever the
    model's latent scale; with `relative=False` the length is `radius` itself.
    """
    center = _vector(center, "center")
    if radius < 0:
        raise ValueError(f"radius must be 0 or more, got {radius}.")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}.")
    rng = np.random.default_rng(rng)
    directions = _unit_rows(rng.standard_normal((n, center.size)).astype(np.float32))
    length = radius * float(np.linalg.norm(center)) if relative else radius
    return (center[None, :] + length * directions).astype(np.float32)


def sample_prior(n: int, latent_dim: int, rng=None) -> np.ndarray:
    """`(n, latent_dim)` draws from the standard normal prior of a variational model."""
    if n < 1 or latent_dim < 1:
        raise ValueError(f"n and latent_dim must be at least 1, got n={n}, latent_dim={latent_dim}.")
    return np.random.default_rng(rng).standard_normal((n, latent_dim)).astype(np.float32)


def distances_to_ends(path, metric: str = "cosine") -> np.ndarray:
    """`(steps, 2)` distances of each path vector to the first and to the last vector.

    `cosine` distance is `1 - cosine similarity` (0 to 2); `euclidean` is the L2 norm.
    """
    path = np.asarray(path, dtype=np.float32)
    if path.ndim != 2 or len(path) == 0:
        raise ValueError(f"path must be a non-empty (steps, Z) array, got shape {path.shape}.")
    ends = path[[0, -1]]  # (2, Z)
    if metric == "cosine":
        return (1.0 - cosine_similarity_matrix(path, ends)).astype(np.float32)
    if metric == "euclidean":
        return np.linalg.norm(path[:, None, :] - ends[None, :, :], axis=-1).astype(np.float32)
    raise ValueError(f"metric must be one of {', '.join(DISTANCE_METRICS)}; got {metric!r}.")


def attribute_vector(group_a, group_b) -> np.ndarray:
    """`(Z,)` direction from attribute A to attribute B: `mean(z_B) - mean(z_A)` (Shen et al. 2020).

    `group_a` and `group_b` are `(N_A, Z)` and `(N_B, Z)` latents of sentences that differ in one
    attribute (present and past tense, say).
    """
    group_a, group_b = np.asarray(group_a, np.float32), np.asarray(group_b, np.float32)
    for name, group in (("group_a", group_a), ("group_b", group_b)):
        if group.ndim != 2 or len(group) == 0:
            raise ValueError(f"{name} must be a non-empty (N, Z) array of latents, got shape {group.shape}.")
    if group_a.shape[1] != group_b.shape[1]:
        raise ValueError(f"The groups have latents of sizes {group_a.shape[1]} and {group_b.shape[1]}.")
    return (group_b.mean(axis=0) - group_a.mean(axis=0)).astype(np.float32)


def shifted(vectors, direction, strengths) -> np.ndarray:
    """`(N, K, Z)`: each of `(N, Z)` vectors moved by `k * direction` for each of the K strengths."""
    vectors = np.asarray(vectors, np.float32)
    direction = _vector(direction, "direction")
    strengths = np.asarray(strengths, np.float32).reshape(-1)
    if vectors.ndim != 2 or vectors.shape[1] != direction.size:
        raise ValueError(f"vectors must have shape (N, {direction.size}), got {vectors.shape}.")
    if strengths.size == 0 or not np.all(np.isfinite(strengths)):
        raise ValueError("Give at least one finite strength.")
    return (vectors[:, None, :] + strengths[None, :, None] * direction[None, None, :]).astype(np.float32)
