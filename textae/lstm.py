"""The LSTM's CPU kernel: the masked recurrence with a hand-written gradient, and single decoding steps.

`lstm_sequence` runs the recurrence without per-step masking (`lstm_masked` moves each
row's real steps to its front, a no-op for the right-padded batches textae makes, and
reads its final state at its length afterwards) and has a hand-written backward pass.
Its backward loop carries only the recurrence (`dh_{t-1} = dz_t R^T`, `dc_{t-1}`); the
gate derivatives are computed for all steps at once before it and the recurrent kernel's
gradient in one product after it, instead of the per-step accumulators TensorFlow's
automatic while-loop gradient builds. `textae.recurrent.LSTM` calls it on CPU.
"""

from __future__ import annotations

import tensorflow as tf


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
