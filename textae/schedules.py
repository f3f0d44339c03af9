"""Teacher-forcing schedules for scheduled sampling and KL-weight annealing.

Scheduled sampling (Bengio et al. 2015, section 2.4): at training step i the
decoder sees the gold previous token with probability epsilon_i and its own
prediction otherwise. The paper's three decays, with k and c from the config:

- linear:          epsilon_i = max(epsilon_min, k - c * i)
- exponential:     epsilon_i = k ** i                  (k < 1)
- inverse sigmoid: epsilon_i = k / (k + exp(i / k))    (k >= 1)

plus `constant` (epsilon_i = k, clipped to [0, 1]; k = 1 is plain teacher
forcing). The floor `sampling_min` applies to every schedule; set it to 0 for
the paper's exact exponential and inverse-sigmoid curves.

KL annealing for the variational mode: `linear` (Bowman et al. 2016 ramp),
`logistic` (Bowman et al.'s sigmoid), `cyclical` (Fu et al. 2019: ramp over the
first half of each cycle, hold at 1 for the second half) and `constant` (1).
"""

from __future__ import annotations

import tensorflow as tf

# `config` below is any model config with the sampling (and, for kl_weight, KL) settings: the text and the series
# model's alike. Their valid values are checked once, by `textae.config.validate_sampling` and the text config.


def teacher_forcing_probability(step, config):
    """Epsilon, the probability of feeding the gold token, at training `step`.

    Args:
        step: the training step i (a Python number or a scalar tensor).
        config: the model config holding `sampling_schedule`, `sampling_k`,
            `sampling_c` and `sampling_min`.

    Returns:
        A float32 scalar tensor in [0, 1].
    """
    config.validate()  # its validate() calls textae.config.validate_sampling, where the rules live
    i = tf.cast(step, tf.float32)
    k = tf.constant(config.sampling_k, tf.float32)
    schedule = config.sampling_schedule
    if schedule == "constant":
        epsilon = k + 0.0 * i
    elif schedule == "linear":
        epsilon = k - config.sampling_c * i
    elif schedule == "exponential":
        epsilon = tf.pow(k, i)
    else:  # inverse_sigmoid
        # k / (k + exp(i / k)), written as a sigmoid so large i does not overflow.
        epsilon = tf.sigmoid(tf.math.log(k) - i / k)
    return tf.clip_by_value(tf.maximum(epsilon, config.sampling_min), 0.0, 1.0)


def kl_weight(step, config):
    """The KL term's weight beta at training `step` (variational mode)."""
    config.validate()
    i = tf.cast(step, tf.float32)
    total = float(max(config.kl_anneal_steps, 1))
    schedule = config.kl_schedule
    if schedule == "constant":
        return tf.ones_like(i)
    if schedule == "linear":
        return tf.minimum(1.0, i / total)
    if schedule == "logistic":
        # Centered at half the annealing steps; reaches ~0.9999 at the end.
        return tf.sigmoid(20.0 / total * (i - total / 2.0))
    # cyclical
    cycle_length = total / max(config.kl_cycles, 1)
    position = tf.math.floormod(i, cycle_length) / cycle_length
    ramp = tf.minimum(1.0, position / 0.5)
    return tf.where(i >= total, tf.ones_like(i), ramp)
