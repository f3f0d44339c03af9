import keras
import numpy as np
import pytest
import tensorflow as tf

from textae.optimizers import FusedAdam


def _train(optimizer_class, gradients, **options):
    variable = keras.Variable(np.random.default_rng(0).normal(size=(6, 3)).astype("float32"))
    optimizer = optimizer_class(0.01, **options)
    for gradient in gradients:
        optimizer.apply_gradients([(gradient, variable)])
    return variable.numpy(), optimizer


def _gradients(sparse: bool):
    rng = np.random.default_rng(1)
    dense = [tf.constant(rng.normal(size=(6, 3)).astype("float32")) for _ in range(5)]
    if not sparse:
        return dense
    # Embedding-style gradients: a few rows of the table.
    return [tf.IndexedSlices(g[:3], tf.constant([1, 4, 5]), tf.constant([6, 3])) for g in dense]


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("options", [{}, {"global_clipnorm": 0.5}])
def test_fused_adam_follows_keras_adam(sparse, options):
    expected, _ = _train(keras.optimizers.Adam, _gradients(sparse), **options)
    fused, optimizer = _train(FusedAdam, _gradients(sparse), **options)
    np.testing.assert_allclose(fused, expected, rtol=1e-5, atol=1e-6)
    assert int(optimizer.iterations) == 5


def test_repeated_rows_of_a_sparse_gradient_are_summed_first():
    """A token seen twice has one gradient, the sum; Keras's unclipped Adam would square each part."""
    rng = np.random.default_rng(2)
    parts = [rng.normal(size=(2, 3)).astype("float32") for _ in range(3)]
    sparse = [tf.IndexedSlices(tf.constant(p), tf.constant([1, 1]), tf.constant([6, 3])) for p in parts]
    dense = [tf.convert_to_tensor(g) for g in sparse]
    np.testing.assert_allclose(_train(FusedAdam, sparse)[0], _train(FusedAdam, dense)[0], rtol=1e-6)
    np.testing.assert_allclose(_train(FusedAdam, sparse)[0], _train(keras.optimizers.Adam, dense)[0], rtol=1e-5)


def _compiled_step(optimizer, variable):
    return tf.function(lambda gradient: optimizer.apply_gradients([(gradient, variable)]))


def test_fused_adam_inside_a_compiled_step_matches_keras_adam():
    results = []
    for optimizer_class in (keras.optimizers.Adam, FusedAdam):
        variable = keras.Variable(np.ones((4, 2), np.float32))
        optimizer = optimizer_class(0.1)
        optimizer.build([variable])
        step = _compiled_step(optimizer, variable)
        for scale in (1.0, -2.0, 0.5):
            step(tf.fill((4, 2), scale))
        results.append(variable.numpy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-6)


def test_optimizer_state_is_interchangeable_with_keras_adam():
    """Same variables under the same paths, so checkpoints move between the two."""
    variable = keras.Variable(np.zeros((3, 2), np.float32), name="kernel")
    keras_adam, fused = keras.optimizers.Adam(), FusedAdam()
    keras_adam.build([variable])
    fused.build([variable])
    assert [(v.path.split("/", 1)[1], v.shape) for v in keras_adam.variables] == [
        (v.path.split("/", 1)[1], v.shape) for v in fused.variables
    ]


def test_fused_adam_round_trips_through_its_config():
    optimizer = FusedAdam(3e-3, global_clipnorm=1.0)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(optimizer))
    assert isinstance(restored, FusedAdam)
    assert restored.global_clipnorm == 1.0
    assert float(restored.learning_rate) == pytest.approx(3e-3)


def test_with_gradient_clipping_repeated_rows_match_keras_adam_exactly():
    """The training configuration (global_clipnorm): FusedAdam takes the very steps Keras's Adam takes."""
    rng = np.random.default_rng(5)
    rows, shape = tf.constant([1, 4, 1]), tf.constant([6, 3])
    gradients = [tf.IndexedSlices(tf.constant(rng.normal(size=(3, 3)), tf.float32), rows, shape) for _ in range(4)]
    expected, _ = _train(keras.optimizers.Adam, gradients, global_clipnorm=0.5)
    fused, _ = _train(FusedAdam, gradients, global_clipnorm=0.5)
    np.testing.assert_allclose(fused, expected, rtol=1e-5, atol=1e-6)
