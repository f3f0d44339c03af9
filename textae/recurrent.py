"""Recurrent layers with a fused CPU loop and the stock cuDNN path on GPU.

Keras's LSTM on a CPU runs `LSTMCell.call` at every time step, so the input
projection `x_t @ kernel` is a small matrix product inside the loop. These
subclasses keep the exact weights, configuration and GPU behaviour of
`keras.layers.LSTM`, `GRU` and `SimpleRNN` (on a GPU they call the parent,
which picks cuDNN), but on a CPU they project every time step's input in one
large product before the loop and leave only `h @ recurrent_kernel` per step.
A checkpoint is interchangeable with the stock layer's.

The LSTM goes further, with its own kernel in `textae/lstm.py`: the recurrence
without per-step masking and with a hand-written backward pass.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from textae import kernels, lstm


def _activation_name(activation) -> str:
    return keras.activations.serialize(activation) if not isinstance(activation, str) else activation


def _check_fusable(cell) -> None:
    """The fused loop implements tanh/sigmoid cells without recurrent dropout only."""
    if _activation_name(cell.activation) != "tanh":
        raise ValueError(f"textae's recurrent layers need activation='tanh', got {cell.activation}.")
    recurrent = getattr(cell, "recurrent_activation", keras.activations.sigmoid)
    if _activation_name(recurrent) != "sigmoid":
        raise ValueError(f"textae's recurrent layers need recurrent_activation='sigmoid', got {recurrent}.")
    if cell.recurrent_dropout:
        raise ValueError("textae's recurrent layers do not support recurrent_dropout (it also disables cuDNN).")
    if not cell.use_bias:
        raise ValueError("textae's recurrent layers need use_bias=True (cuDNN needs it too).")


def fused_loop(step, projected, initial_state, mask, go_backwards, zero_output_for_mask, return_sequences):
    """Run `step(x_t, states) -> (output, states)` over pre-projected inputs.

    Args:
        step: function of the projected input at one step `(B, G)` and the list of
            states; returns the output `(B, H)` and the new list of states.
        projected: `(B, T, G)` inputs already multiplied by the input kernel.
        initial_state: list of `(B, H)` tensors.
        mask: `(B, T)` boolean or None. Masked steps keep the previous states.
        go_backwards: process the sequence from the last step to the first.
        zero_output_for_mask: masked steps output zeros instead of the previous output.
        return_sequences: whether to collect every step's output.

    Returns:
        `(last_output, outputs, states)` as Keras's `backend.rnn` returns them:
        outputs in processing order, `(B, T, H)` (or `(B, 1, H)` when not collected).
    """
    time_major = tf.transpose(projected, [1, 0, 2])  # (T, B, G)
    time_mask = None if mask is None else tf.transpose(tf.cast(mask, tf.bool), [1, 0])  # (T, B)
    if go_backwards:
        time_major = tf.reverse(time_major, [0])
        time_mask = None if time_mask is None else tf.reverse(time_mask, [0])
    num_steps = tf.shape(time_major)[0]
    # Read steps from a TensorArray, not by slicing: the gradient of a slice inside the loop would build a
    # full (T, B, G) tensor at every step (quadratic in T); a TensorArray's gradient writes one step.
    step_inputs = tf.TensorArray(time_major.dtype, size=num_steps).unstack(time_major)
    states = [tf.convert_to_tensor(s) for s in initial_state]
    if return_sequences:
        collected = tf.TensorArray(states[0].dtype, size=num_steps, element_shape=states[0].shape)
    else:
        collected = tf.constant(0)  # placeholder loop variable

    def body(t, last_output, states, collected):
        output, new_states = step(step_inputs.read(t), states)
        if time_mask is not None:
            keep = time_mask[t][:, None]  # (B, 1)
            new_states = [tf.where(keep, new, old) for new, old in zip(new_states, states)]
            last_output = tf.where(keep, output, last_output)
            output = tf.where(keep, output, tf.zeros_like(output)) if zero_output_for_mask else last_output
        else:
            last_output = output
        if return_sequences:
            collected = collected.write(t, output)
        return t + 1, last_output, new_states, collected

    _, last_output, states, collected = tf.while_loop(
        lambda t, *_: t < num_steps,
        body,
        (tf.constant(0), tf.zeros_like(states[0]), states, collected),
        maximum_iterations=num_steps,
    )
    if zero_output_for_mask and time_mask is not None:  # Keras's last output is the last step's output
        last_output = tf.where(time_mask[-1][:, None], last_output, tf.zeros_like(last_output))
    if return_sequences:
        sequence = tf.transpose(collected.stack(), [1, 0, 2])  # (B, T, H)
    else:
        sequence = last_output[:, None, :]
    return last_output, sequence, list(states)


def _gru_step(cell):
    recurrent_kernel, recurrent_bias = tf.convert_to_tensor(cell.recurrent_kernel), cell.bias[1]  # read once

    def step(x_projected, states):
        (h,) = states
        x_z, x_r, x_h = tf.split(x_projected, 3, axis=-1)
        recurrent = tf.matmul(h, recurrent_kernel) + recurrent_bias  # (B, 3H)
        r_z, r_r, r_h = tf.split(recurrent, 3, axis=-1)
        z = tf.sigmoid(x_z + r_z)
        r = tf.sigmoid(x_r + r_r)
        candidate = tf.tanh(x_h + r * r_h)
        h = z * h + (1.0 - z) * candidate
        return h, [h]

    return step


def _rnn_step(cell):
    recurrent_kernel = tf.convert_to_tensor(cell.recurrent_kernel)  # read once, not at every step

    def step(x_projected, states):
        (h,) = states
        h = tf.tanh(x_projected + tf.matmul(h, recurrent_kernel))
        return h, [h]

    return step


class _FusedMixin:
    """Replaces `inner_loop` on CPU; defers to the stock layer on GPU.

    Subclasses give `_input_bias()` and `_step()` for `fused_loop`, or override `_run`.
    `constant_input_units`, set by the model (not a constructor argument, so the layer's
    config stays Keras's), says how many of the last input features are the same at
    every step; the CPU path projects those once per sequence.
    """

    constant_input_units = 0

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if not kernels.fast():  # on a GPU (cuDNN) or TPU, or TEXTAE_KERNELS=stock: Keras's own loop
            return super().inner_loop(sequences, initial_state, mask, training=training)
        _check_fusable(self.cell)
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if training and self.cell.dropout:
            # The cell's own mask, one per sequence for every step, as the stock layers apply it
            # (a layer created here would make a variable inside tf.function).
            dropout_mask = self.cell.get_dropout_mask(sequences[:, 0, :])  # (B, D)
            sequences = sequences * tf.expand_dims(dropout_mask, 1)
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        options = dict(
            go_backwards=self.go_backwards,
            zero_output_for_mask=self.zero_output_for_mask,
            return_sequences=self.return_sequences,
        )
        return self._run(sequences, states, mask, options, training)

    def _run(self, sequences, states, mask, options, training):
        kernel = tf.convert_to_tensor(self.cell.kernel)
        sequences, constant, kernel, constant_kernel = lstm.split_constant(sequences, kernel, self.constant_input_units)
        projected = tf.einsum("btd,dg->btg", sequences, kernel) + self._input_bias()  # (B, T, G)
        if constant is not None:
            projected += tf.matmul(constant, constant_kernel)[:, None, :]
        return fused_loop(self._step(), projected, states, mask, **options)


@keras.saving.register_keras_serializable(package="textae")
class LSTM(_FusedMixin, keras.layers.LSTM):
    """`keras.layers.LSTM` running `lstm_masked` on CPU (cuDNN on GPU)."""

    def _run(self, sequences, states, mask, options, training):
        # The hand-written gradient pays for itself only when a gradient is taken: training.
        return lstm.lstm_masked(
            sequences, states, self.cell, mask, **options, training=training is True,
            constant_units=self.constant_input_units,
        )  # fmt: skip


@keras.saving.register_keras_serializable(package="textae")
class GRU(_FusedMixin, keras.layers.GRU):
    """`keras.layers.GRU` (reset_after=True) with a fused input projection on CPU."""

    def _input_bias(self):
        if not self.cell.reset_after:
            raise ValueError("textae's GRU needs reset_after=True (the cuDNN-compatible variant).")
        return self.cell.bias[0]

    def _step(self):
        return _gru_step(self.cell)


@keras.saving.register_keras_serializable(package="textae")
class SimpleRNN(_FusedMixin, keras.layers.SimpleRNN):
    """`keras.layers.SimpleRNN` (tanh) with a fused input projection on CPU."""

    def _input_bias(self):
        return self.cell.bias

    def _step(self):
        return _rnn_step(self.cell)


RECURRENT_LAYERS = {"lstm": LSTM, "gru": GRU, "rnn": SimpleRNN}
NUM_STATES = {"lstm": 2, "gru": 1, "rnn": 1}


def stack(config, role: str) -> list:
    """`config.num_layers` recurrent layers of `config.cell_type` named `{role}_<i>`, returning sequences and states.

    The encoder's are bidirectional when `config.bidirectional` says so; a decoder's never are.
    """
    layer_type = RECURRENT_LAYERS[config.cell_type]
    layers = []
    for index in range(config.num_layers):
        layer = layer_type(config.hidden_dim, return_sequences=True, return_state=True, name=f"{role}_{index}")
        if role == "encoder" and config.bidirectional:
            layer = keras.layers.Bidirectional(layer, name=f"bidirectional_encoder_{index}")
        layers.append(layer)
    return layers


def split_states(flat, config) -> list[list]:
    """Per layer, the list of its initial states `(B, H)`, from one `(B, layers * states * H)` tensor."""
    count = NUM_STATES[config.cell_type]
    pieces = tf.split(flat, config.num_layers * count, axis=-1)
    return [pieces[i * count : (i + 1) * count] for i in range(config.num_layers)]
