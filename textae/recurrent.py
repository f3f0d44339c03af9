"""Recurrent layers with a fused CPU loop and the stock cuDNN path on GPU.

Keras's LSTM on a CPU runs `LSTMCell.call` at every time step, so the input
projection `x_t @ kernel` is a small matrix product inside the loop. These
subclasses keep the exact weights, configuration and GPU behaviour of
`keras.layers.LSTM`, `GRU` and `SimpleRNN` (on a GPU they call the parent,
which picks cuDNN), but on a CPU they project every time step's input in one
large product before the loop and leave only `h @ recurrent_kernel` per step.
A checkpoint is interchangeable with the stock layer's.

The LSTM goes further: `lstm_sequence` runs the recurrence without per-step
masking (each row's real steps are moved to its front, a no-op for the
right-padded batches textae makes, and its final state is read at its length
afterwards) and has a hand-written backward pass. Its backward loop carries only the
recurrence (`dh_{t-1} = dz_t R^T`, `dc_{t-1}`); the gate derivatives are
computed for all steps at once before it and the recurrent kernel's gradient in
one product after it, instead of the per-step accumulators TensorFlow's
automatic while-loop gradient builds.
"""

from __future__ import annotations

import functools

import keras
import tensorflow as tf


@functools.cache
def gpu_available() -> bool:
    """True when TensorFlow sees a GPU (then the parent's cuDNN path is used)."""
    return bool(tf.config.list_logical_devices("GPU"))


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


def _lstm_forward(projected, h0, c0, recurrent_kernels, keep_derivatives: bool):
    """The recurrence; with `keep_derivatives`, also what the backward pass needs at every step.

    Every gate has its own tensors: splitting a `(B, 4H)` product along its last
    axis costs TensorFlow's CPU kernels about as much as the product itself.

    Returns `[hidden, cells]` or `[hidden, cells, dc_dh, forget, local_i, local_f, local_g, local_o]`,
    each `(T, B, H)`: dc_dh = o (1 - tanh(c)^2), the forget gate f, and for every gate the
    factor that turns dc (dh for the output gate) into the gradient of its pre-activation.
    """
    steps = tf.shape(projected[0])[0]

    def body(t, h, c, arrays):
        i, f, g, o = (x[t] + tf.matmul(h, kernel) for x, kernel in zip(projected, recurrent_kernels))
        i, f, g, o = tf.sigmoid(i), tf.sigmoid(f), tf.tanh(g), tf.sigmoid(o)
        previous_c, c = c, f * c + i * g
        tanh_c = tf.tanh(c)
        h = o * tanh_c
        values = [h, c]
        if keep_derivatives:
            sigmoid_derivative = lambda gate: gate * (1.0 - gate)  # noqa: E731
            values += [o * (1.0 - tanh_c * tanh_c), f]
            values += [g * sigmoid_derivative(i), previous_c * sigmoid_derivative(f), i * (1.0 - g * g)]
            values += [tanh_c * sigmoid_derivative(o)]
        return t + 1, h, c, [array.write(t, value) for array, value in zip(arrays, values)]

    count = 8 if keep_derivatives else 2
    arrays = [tf.TensorArray(h0.dtype, size=steps, element_shape=h0.shape) for _ in range(count)]
    _, _, _, arrays = tf.while_loop(lambda t, *_: t < steps, body, (0, h0, c0, arrays), maximum_iterations=steps)
    return [array.stack() for array in arrays]


def lstm_sequence(projected, h0, c0, recurrent_kernels, differentiable: bool = True):
    """Unmasked LSTM recurrence over time-major inputs, with a hand-written gradient.

    Args:
        projected: the four gates' `(T, B, H)` inputs times the input kernel plus bias (i, f, c, o).
        h0, c0: `(B, H)` initial states.
        recurrent_kernels: the four gates' `(H, H)` recurrent kernels.
        differentiable: use the hand-written gradient (it stores the gate derivatives in
            the forward pass); False runs the plain loop, still differentiable by autodiff.

    Returns:
        `(hidden, cells)`, both `(T, B, H)`: h_t and c_t after every step.
    """
    if not differentiable:
        return tuple(_lstm_forward(projected, h0, c0, recurrent_kernels, keep_derivatives=False))

    @tf.custom_gradient
    def run(p_i, p_f, p_g, p_o, h0, c0, r_i, r_f, r_g, r_o):
        kernels = (r_i, r_f, r_g, r_o)
        hidden, cells, dc_dh, forget, *local = _lstm_forward((p_i, p_f, p_g, p_o), h0, c0, kernels, True)

        def gradient(d_hidden, d_cells):
            steps = tf.shape(hidden)[0]
            d_cells = tf.zeros_like(cells) if d_cells is None else d_cells
            next_forget = tf.concat([forget[1:], tf.zeros_like(forget[:1])], axis=0)  # dc_t/dc_{t-1} at step t+1

            def back(t, dh_next, dc_next, dz):
                dh = d_hidden[t] + dh_next
                dc = dc_next * next_forget[t] + dh * dc_dh[t] + d_cells[t]
                dz_t = [dc * local[0][t], dc * local[1][t], dc * local[2][t], dh * local[3][t]]
                dh_previous = tf.add_n([tf.matmul(d, k, transpose_b=True) for d, k in zip(dz_t, kernels)])
                return t - 1, dh_previous, dc, [array.write(t, d) for array, d in zip(dz, dz_t)]

            dz = [tf.TensorArray(h0.dtype, size=steps, element_shape=h0.shape) for _ in range(4)]
            initial = (steps - 1, tf.zeros_like(h0), tf.zeros_like(c0), dz)
            _, dh0, dc_first, dz = tf.while_loop(lambda t, *_: t >= 0, back, initial, maximum_iterations=steps)
            dz = [array.stack() for array in dz]  # the gradients of `projected`
            previous_hidden = tf.concat([h0[None], hidden[:-1]], axis=0)
            d_kernels = [tf.einsum("tbh,tbg->hg", previous_hidden, d) for d in dz]
            return (*dz, dh0, dc_first * forget[0], *d_kernels)

        return (hidden, cells), gradient

    return run(*projected, h0, c0, *recurrent_kernels)


def split_constant(sequences, kernel, constant_units: int):
    """Split `(B, T, D)` inputs whose last `constant_units` features are the same at every step.

    Returns `(varying (B, T, D - C), constant (B, C) or None, varying kernel rows, constant kernel rows)`:
    the constant part's share of the input projection is then computed once per sequence, not per step.
    """
    if not constant_units:
        return sequences, None, kernel, None
    width = tf.shape(sequences)[-1] - constant_units
    return sequences[:, :, :width], sequences[:, 0, width:], kernel[:-constant_units], kernel[-constant_units:]


def lstm_masked(
    sequences, states, cell, mask, go_backwards, zero_output_for_mask, return_sequences, training=False,
    constant_units: int = 0,
):  # fmt: skip
    """`fused_loop`'s result for an LSTM over `(B, T, D)` inputs, computed with `lstm_sequence`.

    Masked steps hold the state, so the layer's result is the recurrence over
    each row's real steps alone: they are moved to the front of the row (a
    no-op for right-padded masks), run without masking, and read back, the
    final state at each row's length and the output at each position from the
    number of real steps seen so far. The last `constant_units` input features
    are the same at every step (the decoder's latent vector): their product with
    the kernel is computed once per sequence.
    """
    h0, c0 = states
    batch, steps = tf.shape(sequences)[0], tf.shape(sequences)[1]
    mask = tf.ones([batch, steps], tf.bool) if mask is None else tf.cast(mask, tf.bool)
    if go_backwards:  # Keras's processing order
        sequences, mask = tf.reverse(sequences, [1]), tf.reverse(mask, [1])
    sequences, constant, kernel, constant_kernel = split_constant(sequences, cell.kernel, constant_units)
    real_first = tf.argsort(tf.cast(~mask, tf.int32), axis=1, stable=True)  # (B, T)
    # One gather reorders each row's steps and makes the inputs time-major: (T, B, D).
    rows = tf.broadcast_to(tf.range(batch)[None, :], [steps, batch])
    sequences = tf.gather_nd(sequences, tf.stack([rows, tf.transpose(real_first)], axis=-1))
    flat = tf.reshape(sequences, [steps * batch, tf.shape(sequences)[-1]])  # explicit: a replica may get 0 rows
    gates = zip(tf.split(kernel, 4, axis=1), tf.split(cell.bias, 4))  # splitting weights once is cheap
    # Plain products on the flattened time-major inputs: einsum's transposes made them and their gradients slow.
    units = tf.shape(cell.recurrent_kernel)[0]
    projected = [tf.reshape(tf.matmul(flat, kernel) + bias, [steps, batch, units]) for kernel, bias in gates]
    if constant is not None:
        per_sequence = tf.split(tf.matmul(constant, constant_kernel), 4, axis=1)  # (B, H) per gate
        projected = [p + c[None] for p, c in zip(projected, per_sequence)]
    recurrent_kernels = tf.split(cell.recurrent_kernel, 4, axis=1)
    hidden, cells = lstm_sequence(projected, h0, c0, recurrent_kernels, differentiable=training)  # (T, B, H)
    lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
    last = tf.stack([tf.maximum(lengths - 1, 0), tf.range(batch)], axis=1)
    empty = tf.equal(lengths, 0)[:, None]  # rows with no real step keep their initial states
    h = tf.where(empty, h0, tf.gather_nd(hidden, last))
    c = tf.where(empty, c0, tf.gather_nd(cells, last))
    # Keras's last output is the last step's output: zeros if that step is masked and masked steps output zeros.
    shows_last = mask[:, -1:] if zero_output_for_mask else ~empty
    last_output = tf.where(shows_last, h, tf.zeros_like(h))
    if not return_sequences:
        return last_output, last_output[:, None, :], [h, c]
    seen = tf.cumsum(tf.cast(mask, tf.int32), axis=1)  # (B, T) real steps processed up to each position
    sequence = tf.gather(tf.transpose(hidden, [1, 0, 2]), tf.maximum(seen - 1, 0), batch_dims=1)  # (B, T, H)
    shown = seen > 0  # before the first real step the output is zeros
    if zero_output_for_mask:
        shown &= mask
    return last_output, tf.where(shown[:, :, None], sequence, tf.zeros_like(sequence)), [h, c]


def lstm_step_weights(cell):
    """An LSTM cell's weights per gate for step-by-step loops, computed once outside the loop.

    Returns the four gates' `(kernel; recurrent_kernel)` stacked to `(D + H, H)`, and their biases.
    """
    dtype = cell.compute_dtype  # float16 under mixed precision, where the variables stay float32
    stacked = tf.cast(tf.concat([cell.kernel, cell.recurrent_kernel], axis=0), dtype)  # (D + H, 4H)
    return tf.split(stacked, 4, axis=1), tf.split(tf.cast(cell.bias, dtype), 4)


def lstm_step(x, states, weights):
    """One LSTM step from `lstm_step_weights`: one product per gate and no last-axis split."""
    h, c = states
    kernels, biases = weights
    inputs = tf.concat([x, h], axis=-1)
    i, f, g, o = (tf.nn.bias_add(tf.matmul(inputs, kernel), bias) for kernel, bias in zip(kernels, biases))
    c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
    h = tf.sigmoid(o) * tf.tanh(c)
    return h, [h, c]


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
        if gpu_available():
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
        sequences, constant, kernel, constant_kernel = split_constant(sequences, kernel, self.constant_input_units)
        projected = tf.einsum("btd,dg->btg", sequences, kernel) + self._input_bias()  # (B, T, G)
        if constant is not None:
            projected += tf.matmul(constant, constant_kernel)[:, None, :]
        return fused_loop(self._step(), projected, states, mask, **options)


@keras.saving.register_keras_serializable(package="textae")
class LSTM(_FusedMixin, keras.layers.LSTM):
    """`keras.layers.LSTM` running `lstm_masked` on CPU (cuDNN on GPU)."""

    def _run(self, sequences, states, mask, options, training):
        # The hand-written gradient pays for itself only when a gradient is taken: training.
        return lstm_masked(
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
