import numpy as np
import pytest
import tensorflow as tf

from textae.text.losses import correct_predictions, sparse_cross_entropy


def _both(labels, logits):
    logits = tf.constant(logits, tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(logits)
        ours = sparse_cross_entropy(labels, logits)
        reference = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        weights = tf.range(1.0, tf.cast(tf.shape(logits)[0], tf.float32) + 1.0)  # non-uniform upstream
        ours_total, reference_total = tf.reduce_sum(ours * weights), tf.reduce_sum(reference * weights)
    return ours, reference, tape.gradient(ours_total, logits), tape.gradient(reference_total, logits)


def test_matches_tensorflow_value_and_gradient():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=(64, 97))
    labels = rng.integers(0, 97, size=64).astype(np.int32)
    ours, reference, ours_grad, reference_grad = _both(labels, logits)
    np.testing.assert_allclose(ours.numpy(), reference.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours_grad.numpy(), reference_grad.numpy(), rtol=1e-5, atol=1e-6)


def test_confidently_wrong_logits_stay_finite_and_exact():
    # The label's probability underflows float32 (gap 300), where -log(softmax) would be inf.
    logits = np.zeros((2, 5), np.float32)
    logits[0, 1] = 300.0
    logits[1, 4] = -300.0
    labels = np.array([0, 4], np.int32)
    ours, reference, ours_grad, reference_grad = _both(labels, logits)
    np.testing.assert_allclose(ours.numpy(), [300.0, 300.0 + np.log(4.0)], rtol=1e-6)
    np.testing.assert_allclose(ours.numpy(), reference.numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours_grad.numpy(), reference_grad.numpy(), atol=1e-6)


def test_underflowing_rows_among_ordinary_ones_keep_their_places():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(6, 7)).astype(np.float32)
    labels = np.array([0, 1, 2, 3, 4, 5], np.int32)
    logits[1, 0] = 250.0  # row 1: label 1 underflows
    logits[4, 4] = -250.0  # row 4: label 4 underflows
    ours, reference, ours_grad, reference_grad = _both(labels, logits)
    assert np.isfinite(ours.numpy()).all()
    np.testing.assert_allclose(ours.numpy(), reference.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours_grad.numpy(), reference_grad.numpy(), atol=1e-6)


def test_correct_predictions_match_the_arg_max():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(200, 11)).astype(np.float32)
    labels = rng.integers(0, 11, size=200).astype(np.int32)
    labels[:50] = logits[:50].argmax(axis=1)  # make sure both outcomes occur
    expected = logits.argmax(axis=1) == labels
    np.testing.assert_array_equal(correct_predictions(labels, tf.constant(logits)).numpy(), expected)


@pytest.mark.parametrize("vocab", [4000, 97, 64, 100])
def test_argmax_matches_tensorflow_including_ties(vocab):
    from textae.text.losses import argmax

    rng = np.random.default_rng(4)
    logits = rng.normal(size=(33, vocab)).astype(np.float32)
    logits[0] = 1.0  # all tied: the first index
    logits[1, [5, vocab - 1]] = 50.0  # a tie across chunks
    logits[2, :] = -np.inf
    logits[2, vocab - 1] = 0.0  # banned tokens everywhere else
    expected = tf.argmax(logits, axis=-1, output_type=tf.int32).numpy()
    np.testing.assert_array_equal(argmax(tf.constant(logits)).numpy(), expected)
    np.testing.assert_array_equal(argmax(tf.zeros((0, vocab))).numpy(), np.zeros(0, np.int32))
