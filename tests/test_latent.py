"""Latent-space geometry: interpolation, neighbours, sampling."""

import numpy as np
import pytest

from textae.text import latent


def unit(vector):
    vector = np.asarray(vector, np.float32)
    return vector / np.linalg.norm(vector)


def test_slerp_endpoints_and_unit_norm():
    a, b = unit([1.0, 0.0, 0.0]), unit([0.3, 0.9, -0.2])
    np.testing.assert_allclose(latent.slerp(a, b, 0.0), a, atol=1e-6)
    np.testing.assert_allclose(latent.slerp(a, b, 1.0), b, atol=1e-6)
    for t in np.linspace(0, 1, 7):
        assert np.linalg.norm(latent.slerp(a, b, t)) == pytest.approx(1.0, abs=1e-5)


def test_slerp_of_orthogonal_unit_vectors_at_half():
    middle = latent.slerp([1.0, 0.0], [0.0, 1.0], 0.5)
    np.testing.assert_allclose(middle, [np.sqrt(0.5), np.sqrt(0.5)], atol=1e-6)


def test_slerp_norm_goes_linearly_between_ends():
    a, b = np.array([2.0, 0.0]), np.array([0.0, 4.0])
    assert np.linalg.norm(latent.slerp(a, b, 0.25)) == pytest.approx(2.5, abs=1e-5)


@pytest.mark.parametrize("b", [[2.0, 4.0], [-1.0, -2.0], [0.0, 0.0]])
def test_slerp_falls_back_to_lerp_for_parallel_or_zero_vectors(b):
    a = [1.0, 2.0]
    np.testing.assert_allclose(latent.slerp(a, b, 0.3), latent.lerp(a, b, 0.3), atol=1e-6)
    assert np.all(np.isfinite(latent.slerp(a, b, 0.3)))


def test_lerp_midpoint():
    np.testing.assert_allclose(latent.lerp([0.0, 2.0], [4.0, -2.0], 0.5), [2.0, 0.0])


@pytest.mark.parametrize("method", ["slerp", "lerp"])
def test_interpolation_path_includes_both_ends(method):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(8), rng.standard_normal(8)
    path = latent.interpolation_path(a, b, 5, method)
    assert path.shape == (5, 8) and path.dtype == np.float32
    np.testing.assert_array_equal(path[0], a.astype(np.float32))
    np.testing.assert_array_equal(path[-1], b.astype(np.float32))


def test_interpolation_path_rejects_bad_arguments():
    with pytest.raises(ValueError, match="at least 2"):
        latent.interpolation_path([1.0], [2.0], 1)
    with pytest.raises(ValueError, match="slerp, lerp"):
        latent.interpolation_path([1.0], [2.0], 3, method="cubic")


def test_nearest_neighbours_sorted_by_cosine_similarity():
    vectors = np.array([[0.0, 1.0], [1.0, 0.1], [-1.0, 0.0], [2.0, 0.0], [1.0, 1.0]])
    indices, similarities = latent.nearest_neighbours(np.array([1.0, 0.0]), vectors, k=3)
    assert indices.tolist() == [3, 1, 4]
    assert similarities[0] == pytest.approx(1.0)
    assert list(similarities) == sorted(similarities, reverse=True)
    assert len(latent.nearest_neighbours([1.0, 0.0], vectors, k=50)[0]) == len(vectors)


def test_cosine_similarity_matrix():
    matrix = latent.cosine_similarity_matrix([[1.0, 0.0], [0.0, 3.0]])
    np.testing.assert_allclose(matrix, np.eye(2), atol=1e-6)


@pytest.mark.parametrize("relative, expected", [(True, 0.5 * 5.0), (False, 0.5)])
def test_sample_around_radius(relative, expected):
    center = np.array([3.0, 4.0, 0.0, 0.0])
    points = latent.sample_around(center, 0.5, 10, np.random.default_rng(0), relative=relative)
    assert points.shape == (10, 4)
    np.testing.assert_allclose(np.linalg.norm(points - center, axis=1), expected, rtol=1e-5)
    assert len({tuple(point) for point in points.round(5)}) == 10


def test_sample_around_is_reproducible_with_a_seed():
    np.testing.assert_array_equal(
        latent.sample_around([1.0, 1.0], 1.0, 3, 7), latent.sample_around([1.0, 1.0], 1.0, 3, 7)
    )


def test_sample_prior_shape():
    samples = latent.sample_prior(1000, 4, np.random.default_rng(0))
    assert samples.shape == (1000, 4)
    assert abs(samples.mean()) < 0.1 and samples.std() == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_distances_to_ends(metric):
    path = latent.interpolation_path([1.0, 0.0], [0.0, 1.0], 5, "slerp")
    distances = latent.distances_to_ends(path, metric)
    assert distances.shape == (5, 2)
    assert distances[0, 0] == pytest.approx(0.0, abs=1e-6) and distances[-1, 1] == pytest.approx(0.0, abs=1e-6)
    assert np.all(np.diff(distances[:, 0]) > 0) and np.all(np.diff(distances[:, 1]) < 0)
