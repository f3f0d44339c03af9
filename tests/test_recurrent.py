"""textae.recurrent's fused layers behave exactly like the stock Keras layers."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from textae import kernels, lstm, recurrent

STOCK = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "rnn": keras.layers.SimpleRNN}
UNITS = 6

# (B, T) right-padded masks: a shorter row, a full row and a one-token row.
MASK = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], bool)


@pytest.fixture(autouse=True)
def _fast_kernels():
    """These tests compare textae's CPU kernels with the stock layers, on any device."""
    with kernels.use("fast"):
        yield


@pytest.fixture
def inputs():
    return np.random.default_rng(0).normal(size=(3, 5, 4)).astype("float32")  # (B, T, D)


@pytest.fixture
def count_fused_calls(monkeypatch):
    """Count calls of textae's loops (by name), so a test knows it did not compare the stock path with itself."""
    calls = []
    for module, name in ((recurrent, "fused_loop"), (lstm, "lstm_masked")):
        original = getattr(module, name)

        def counting(*args, _name=name, _original=original, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(module, name, counting)
    return calls


def _pair(cell_type, **kwargs):
    """A stock layer and a textae layer holding the same weights."""
    stock = STOCK[cell_type](UNITS, return_state=True, **kwargs)
    fused = recurrent.RECURRENT_LAYERS[cell_type](UNITS, return_state=True, **kwargs)
    return stock, fused


def _copy_weights(stock, fused, x, mask):
    stock(x, mask=mask)
    fused(x, mask=mask)
    fused.set_weights(stock.get_weights())


def _assert_all_close(expected, actual, atol=1e-6):
    assert len(expected) == len(actual)
    for want, got in zip(expected, actual):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=atol)


@pytest.mark.parametrize("cell_type", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [True, False])
def test_outputs_and_states_match_stock_layer(inputs, count_fused_calls, cell_type, go_backwards, return_sequences):
    stock, fused = _pair(cell_type, go_backwards=go_backwards, return_sequences=return_sequences)
    _copy_weights(stock, fused, inputs, MASK)
    count_fused_calls.clear()
    for mask in (MASK, None):
        # outputs (and, with return_sequences, every step) then the final states
        _assert_all_close(stock(inputs, mask=mask), fused(inputs, mask=mask))
    expected = "lstm_masked" if cell_type == "lstm" else "fused_loop"
    assert count_fused_calls == [expected, expected]


@pytest.mark.parametrize("cell_type", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [True, False])
def test_masks_with_holes_match_stock_layer(inputs, cell_type, go_backwards, return_sequences):
    # Left padding, holes and an empty row: masked steps hold the state wherever they are.
    holes = np.array([[1, 0, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 0, 0, 0]], bool)
    stock, fused = _pair(cell_type, go_backwards=go_backwards, return_sequences=return_sequences)
    _copy_weights(stock, fused, inputs, holes)
    for zero_output in (False, True):
        stock.zero_output_for_mask = fused.zero_output_for_mask = zero_output
        _assert_all_close(stock(inputs, mask=holes), fused(inputs, mask=holes))


@pytest.mark.parametrize("cell_type", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("use_states", [False, True])
@pytest.mark.parametrize("training", [False, True])  # the LSTM's hand-written gradient is used when training
def test_gradients_with_initial_state_match_stock_layer(inputs, cell_type, go_backwards, use_states, training):
    # The decoder's use: initial states from elsewhere, the sequence (and maybe the final states) in the loss.
    stock, fused = _pair(cell_type, return_sequences=True, go_backwards=go_backwards)
    _copy_weights(stock, fused, inputs, MASK)
    count = recurrent.NUM_STATES[cell_type]
    states = [tf.random.stateless_normal((3, UNITS), seed=[2, index]) for index in range(count)]

    def gradients(layer):
        @tf.function
        def compute(x, states):
            with tf.GradientTape() as tape:
                tape.watch([x, states])
                sequence, *final = layer(x, initial_state=states, mask=MASK, training=training)
                loss = tf.reduce_sum(tf.sin(sequence) * tf.range(1.0, UNITS + 1.0))
                if use_states:
                    loss += sum(tf.reduce_sum(tf.cos(s)) for s in final)
            return tape.gradient(loss, [x, states] + layer.trainable_variables)

        return tf.nest.flatten(compute(tf.constant(inputs), states))

    _assert_all_close(gradients(stock), gradients(fused), atol=1e-5)


@pytest.mark.parametrize("cell_type", ["lstm", "gru", "rnn"])
def test_initial_state_is_used_like_stock_layer(inputs, cell_type):
    stock, fused = _pair(cell_type, return_sequences=True)
    _copy_weights(stock, fused, inputs, MASK)
    states = [
        tf.random.stateless_normal((3, UNITS), seed=[1, index]) for index in range(recurrent.NUM_STATES[cell_type])
    ]
    _assert_all_close(stock(inputs, initial_state=states, mask=MASK), fused(inputs, initial_state=states, mask=MASK))


@pytest.mark.parametrize("cell_type", ["lstm", "gru", "rnn"])
def test_bidirectional_outputs_and_gradients_match(inputs, cell_type):
    stock = keras.layers.Bidirectional(STOCK[cell_type](UNITS, return_sequences=True, return_state=True))
    fused = keras.layers.Bidirectional(
        recurrent.RECURRENT_LAYERS[cell_type](UNITS, return_sequences=True, return_state=True)
    )
    _copy_weights(stock, fused, inputs, MASK)
    _assert_all_close(stock(inputs, mask=MASK), fused(inputs, mask=MASK))

    def gradients(layer):
        x = tf.constant(inputs)

        @tf.function
        def compute(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                sequence, *states = layer(x, mask=MASK, training=True)
                loss = tf.reduce_sum(sequence**2) + sum(tf.reduce_sum(tf.sin(s)) for s in states)
            return tape.gradient(loss, [x] + layer.trainable_variables)

        return compute(x)

    _assert_all_close(gradients(stock), gradients(fused), atol=1e-5)


@pytest.mark.parametrize("cell_type", ["lstm", "gru", "rnn"])
def test_layer_serializes_as_textae_class(cell_type):
    layer = recurrent.RECURRENT_LAYERS[cell_type](UNITS, return_sequences=True, go_backwards=True)
    restored = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(restored) is type(layer)
    assert restored.go_backwards and restored.return_sequences and restored.units == UNITS


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"activation": "relu"}, "activation"),
        ({"recurrent_activation": "hard_sigmoid"}, "recurrent_activation"),
        ({"recurrent_dropout": 0.1}, "recurrent_dropout"),
        ({"use_bias": False}, "use_bias"),
    ],
)
def test_unfusable_settings_raise(inputs, kwargs, message):
    layer = recurrent.LSTM(UNITS, **kwargs)
    with pytest.raises(ValueError, match=message):
        layer(inputs, mask=MASK)


@pytest.mark.parametrize("cell_type", ["lstm", "gru", "rnn"])
def test_input_dropout_matches_stock_layer_inside_tf_function(inputs, cell_type):
    # Same seed, same cell seed generator state: the same dropout mask, one for every step.
    stock, fused = _pair(cell_type, return_sequences=True, dropout=0.4, seed=3)
    _copy_weights(stock, fused, inputs, MASK)
    run_stock = tf.function(lambda x: stock(x, mask=MASK, training=True))
    run_fused = tf.function(lambda x: fused(x, mask=MASK, training=True))
    for _ in range(2):
        _assert_all_close(run_stock(inputs), run_fused(inputs))
    without_dropout = fused(inputs, mask=MASK)[0]
    assert np.abs(np.asarray(run_fused(inputs)[0]) - np.asarray(without_dropout)).max() > 1e-3


@pytest.mark.parametrize("training", [False, True])
def test_lstm_accepts_an_empty_batch(inputs, training):
    """Under a strategy, a replica can receive no rows of a small bucketed batch."""
    layer = recurrent.LSTM(UNITS, return_sequences=True, return_state=True)
    layer(inputs)
    run = tf.function(lambda x: layer(x, mask=tf.ones(tf.shape(x)[:2], tf.bool), training=training))
    outputs = run(tf.zeros((0, 5, 4)))
    assert [tuple(o.shape) for o in outputs] == [(0, 5, UNITS), (0, UNITS), (0, UNITS)]


@pytest.mark.parametrize("cell_type", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("training", [True, False])
def test_constant_input_projected_once_matches_stock_layer(count_fused_calls, cell_type, training):
    # The decoder's first layer: the last features (the latent vector) repeat at every step.
    rng = np.random.default_rng(1)
    varying = rng.normal(size=(3, 5, 4)).astype("float32")
    constant = np.repeat(rng.normal(size=(3, 1, 3)).astype("float32"), 5, axis=1)
    x = np.concatenate([varying, constant], axis=-1)  # (B, T, 4 + 3)
    stock, fused = _pair(cell_type, return_sequences=True)
    _copy_weights(stock, fused, x, MASK)
    fused.constant_input_units = 3

    def outputs_and_gradients(layer):
        with tf.GradientTape() as tape:
            tensor = tf.constant(x)
            tape.watch(tensor)
            sequence, *final = layer(tensor, mask=MASK, training=training)
            loss = tf.reduce_sum(tf.sin(sequence)) + sum(tf.reduce_sum(tf.cos(s)) for s in final)
        d_x, *d_weights = tape.gradient(loss, [tensor] + layer.trainable_variables)
        # The constant features count once per sequence, so compare their gradient summed over steps.
        d_constant = tf.reduce_sum(d_x[:, :, 4:], axis=1)
        return [sequence, *final, d_x[:, :, :4], d_constant, *d_weights]

    count_fused_calls.clear()
    _assert_all_close(outputs_and_gradients(stock), outputs_and_gradients(fused), atol=1e-5)
    assert count_fused_calls  # the fused path ran
