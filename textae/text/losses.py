"""Row-wise operations over the vocabulary axis, built on TensorFlow's fast CPU kernels.

Softmax cross-entropy:

`tf.nn.sparse_softmax_cross_entropy_with_logits` runs as one Eigen kernel on
CPU that is several times slower than the oneDNN softmax (on a (2048, 4000)
batch of logits: ~18 ms forward and ~30 ms forward plus backward, against
~2.5 ms for `tf.nn.softmax`), which made it cost more than the output
projection's three matrix products. This version computes one softmax, keeps
it for the gradient `softmax - one_hot(label)`, and reads the loss off it,
`-log p[label]`. Only rows where `p[label]` underflows fall back to the exact
`log-sum-exp - logit[label]`, the log-sum-exp read off the most likely token
(`logit[top] - log p[top]`, which cannot underflow because `p[top] >= 1/V`).
Token accuracy compares the label's logit with the row maximum, a cheaper pass
than an arg-max.

Arg-max: TensorFlow's CPU `ArgMax` is a scalar loop, about five times slower
than `reduce_max` over the same `(N, V)` tensor; `argmax` finds each row's
maximum per chunk with `reduce_max`, then the arg-max of the few chunk maxima
and inside the winning chunk. Measure: `python -m training.benchmark`.

Both are textae's CPU kernels: with `textae.kernels` off (a GPU, a TPU, or
TEXTAE_KERNELS=stock) they are TensorFlow's own ops.
"""

from __future__ import annotations

import tensorflow as tf

from textae import kernels


def log_sum_exp(logits, probabilities, most_likely):
    """`(N,)` log-sum-exp of `(N, V)` logits given their softmax and arg-max: logit[top] - log p[top]."""
    top_logit = tf.gather(logits, most_likely, batch_dims=1)
    return top_logit - tf.math.log(tf.gather(probabilities, most_likely, batch_dims=1))


def sparse_cross_entropy(labels, logits):
    """Per-row `-log softmax(logits)[label]` for `(N,)` labels and `(N, V)` float logits.

    Matches `tf.nn.sparse_softmax_cross_entropy_with_logits` in value and
    gradient (to float rounding); labels must lie in `[0, V)`. The loss is
    `-log p[label]` off the softmax; rows where `p[label]` underflows float32
    (a logit gap of about 70 or more, so almost never) take the exact
    `log_sum_exp - logit[label]` instead.
    """
    labels = tf.convert_to_tensor(labels, tf.int32)
    if not kernels.fast():
        return tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)

    @tf.custom_gradient
    def cross_entropy(logits):
        probabilities = tf.nn.softmax(logits)
        label_probability = tf.gather(probabilities, labels, batch_dims=1)
        loss = -tf.math.log(tf.maximum(label_probability, _TINY))
        underflow = tf.where(label_probability < _TINY)  # (K, 1), usually empty
        rows_logits, rows_probabilities = tf.gather_nd(logits, underflow), tf.gather_nd(probabilities, underflow)
        top = tf.argmax(rows_logits, axis=-1, output_type=tf.int32)
        rows_labels = tf.gather_nd(labels, underflow)
        exact = log_sum_exp(rows_logits, rows_probabilities, top) - tf.gather(rows_logits, rows_labels, batch_dims=1)
        loss = tf.tensor_scatter_nd_update(loss, underflow, exact)

        def gradient(upstream):
            rows = tf.range(tf.shape(labels)[0])
            label_positions = tf.stack([rows, labels], axis=1)
            softmax_minus_one_hot = tf.tensor_scatter_nd_sub(probabilities, label_positions, tf.ones_like(upstream))
            return softmax_minus_one_hot * upstream[:, None]

        return loss, gradient

    return cross_entropy(logits)


def correct_predictions(labels, logits):
    """`(N,)` booleans: the label has the highest logit (ties count as correct).

    Compares against the row maximum instead of an arg-max, which costs
    TensorFlow's CPU kernels about twice as much over a `(N, V)` tensor.
    """
    label_logit = tf.gather(logits, tf.convert_to_tensor(labels, tf.int32), batch_dims=1)
    return label_logit >= tf.reduce_max(logits, axis=-1)


def argmax(logits):
    """`(N,)` int32 arg-max of `(N, V)` logits over the last axis, the first index among ties like `tf.argmax`."""
    vocab = logits.shape[-1]
    if not kernels.fast():
        return tf.argmax(logits, axis=-1, output_type=tf.int32)
    chunk = next((size for size in range(128, 31, -1) if vocab is not None and vocab % size == 0), None)
    if chunk is None:  # no chunk size divides V: the plain kernel
        return tf.argmax(logits, axis=-1, output_type=tf.int32)
    chunks = tf.reshape(logits, [tf.shape(logits)[0], vocab // chunk, chunk])
    best_chunk = tf.argmax(tf.reduce_max(chunks, axis=-1), axis=-1, output_type=tf.int32)  # first chunk holding the max
    within = tf.argmax(tf.gather(chunks, best_chunk, batch_dims=1), axis=-1, output_type=tf.int32)
    return best_chunk * chunk + within


_TINY = 1e-30  # well above float32's smallest normal number (1.2e-38)
