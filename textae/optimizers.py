"""Adam as one fused kernel per variable on the TensorFlow backend.

Keras's `Adam.update_step` runs about ten separate element-wise kernels per
variable (two moment updates, a square, a square root, divisions, three
assignments); on a CPU they cost a few milliseconds per step for textae's
default model. `tf.raw_ops.ResourceApplyAdam` does the same update in one pass:

    alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
    m += (g - m) * (1 - beta_1);  v += (g^2 - v) * (1 - beta_2)
    variable -= alpha * m / (sqrt(v) + epsilon)

which is Keras's formula term for term. The optimizer's variables are
Keras's own, so checkpoints move freely between `keras.optimizers.Adam` and
`FusedAdam`. AMSGrad falls back to Keras's implementation.
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="textae")
class FusedAdam(keras.optimizers.Adam):
    """`keras.optimizers.Adam` whose update is one `ResourceApplyAdam` kernel per variable."""

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad or keras.backend.backend() != "tensorflow":
            return super().update_step(gradient, variable, learning_rate)
        index = self._get_variable_index(variable)
        momentum, velocity = self._momentums[index].value, self._velocities[index].value
        dtype = variable.dtype
        if isinstance(gradient, tf.IndexedSlices):  # embedding rows: repeated rows are summed, as in the dense gradient
            gradient = tf.convert_to_tensor(gradient)
        step = tf.cast(self.iterations + 1, dtype)
        return tf.raw_ops.ResourceApplyAdam(
            var=variable.handle,
            m=momentum.handle,
            v=velocity.handle,
            beta1_power=tf.pow(tf.cast(self.beta_1, dtype), step),
            beta2_power=tf.pow(tf.cast(self.beta_2, dtype), step),
            lr=tf.cast(learning_rate, dtype),
            beta1=tf.cast(self.beta_1, dtype),
            beta2=tf.cast(self.beta_2, dtype),
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype),
        )
