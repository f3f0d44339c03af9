"""The time-series autoencoder: a dense input layer, the recurrent encoder, a latent vector, the decoder.

The text model's shape with numbers in place of tokens: a dense layer where the
embedding was, a linear output per channel where the softmax was, and masked
mean squared error as the loss. The recurrent layers are textae's (Keras's
weights and cuDNN path on a GPU, the fused loop on a CPU), with tanh/sigmoid
cells and no recurrent dropout so that cuDNN stays eligible.

The decoder reads the latent vector at every step. With `feed_previous` it also
reads the previous value: while training the true one with the scheduled
teacher-forcing probability and otherwise its own first-pass prediction (the
parallel scheduled sampling of the text model), at inference its own output,
one step at a time.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from textae import recurrent, schedules
from textae.configured_model import ConfiguredModel
from textae.series.config import SeriesModelConfig


def masked_mse(target, prediction, observed):
    """Mean squared error over the observed values only; `observed` is 0/1 of the target's shape."""
    weights = tf.cast(observed, tf.float32)
    squared = tf.square(tf.cast(prediction, tf.float32) - tf.cast(target, tf.float32)) * weights
    return tf.reduce_sum(squared) / tf.maximum(tf.reduce_sum(weights), 1.0)


@keras.saving.register_keras_serializable(package="textae")
class SeriesAutoencoder(ConfiguredModel):
    """Windows `(B, W, C)` to latent vectors `(B, Z)` and back."""

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        if isinstance(config, dict):
            config = SeriesModelConfig(**config)
        config.validate()
        self.model_config = config
        self.num_states = recurrent.NUM_STATES[config.cell_type]
        self.input_projection = keras.layers.Dense(config.input_dim, activation="tanh", name="input_projection")
        self.dropout = keras.layers.Dropout(config.dropout_rate)
        self.encoder_layers = recurrent.stack(config, "encoder")
        self.to_latent = keras.layers.Dense(config.latent_dim, name="to_latent")
        self.to_decoder_state = keras.layers.Dense(
            config.num_layers * self.num_states * config.hidden_dim, activation="tanh", name="to_decoder_state"
        )
        self.previous_projection = (
            keras.layers.Dense(config.input_dim, activation="tanh", name="previous_projection")
            if config.feed_previous
            else None
        )
        self.decoder_layers = recurrent.stack(config, "decoder")
        if config.feed_previous:  # the latent ends every step's input: the CPU loop projects it once per window
            self.decoder_layers[0].constant_input_units = config.latent_dim
        self.output_layer = keras.layers.Dense(config.channels, dtype="float32", name="output")
        tracked = ("loss", "teacher_forcing_probability") if config.feed_previous else ("loss",)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in tracked}

    # ----------------------------------------------------------------- encoder
    def encode(self, windows, training=False):
        """Latent vectors `(B, Z)` float32 of normalised windows `(B, W, C)`."""
        x = self.dropout(self.input_projection(tf.convert_to_tensor(windows, self.compute_dtype)), training=training)
        final_states = []
        for index, layer in enumerate(self.encoder_layers):
            if index:
                x = self.dropout(x, training=training)
            x, *states = layer(x, training=training)
            final_states.extend(states)
        context = tf.concat([tf.cast(s, self.compute_dtype) for s in final_states], axis=-1)
        return tf.cast(self.to_latent(context), tf.float32)

    # ----------------------------------------------------------------- decoder
    def _initial_states(self, latent):
        return recurrent.split_states(self.to_decoder_state(tf.cast(latent, self.compute_dtype)), self.model_config)

    def _step_inputs(self, latent, previous, steps, training):
        """Per-step decoder inputs `(B, T, D)`: the previous values' projection (if fed) and the latent."""
        repeated = tf.repeat(tf.cast(latent, self.compute_dtype)[:, None, :], steps, axis=1)
        if not self.model_config.feed_previous:
            return repeated
        fed = self.dropout(self.previous_projection(tf.cast(previous, self.compute_dtype)), training=training)
        return tf.concat([fed, repeated], axis=-1)

    def decode(self, latent, previous=None, training=False):
        """Reconstructions `(B, W, C)` float32, in one pass; `previous` are the values fed at each step."""
        window = self.model_config.window
        if previous is None:
            previous = tf.zeros((tf.shape(latent)[0], window, self.model_config.channels), self.compute_dtype)
        x = self._step_inputs(latent, previous, window, training)
        for layer, states in zip(self.decoder_layers, self._initial_states(latent)):
            x, *_ = layer(x, initial_state=states, training=training)
            x = self.dropout(x, training=training)
        return self.output_layer(x)

    def generate(self, latent):
        """Reconstructions from the latent alone: with `feed_previous`, each step reads the previous output."""
        if not self.model_config.feed_previous:
            return self.decode(latent)
        batch = tf.shape(latent)[0]
        states = self._initial_states(latent)
        value = tf.zeros((batch, self.model_config.channels), tf.float32)
        outputs = []
        for _ in range(self.model_config.window):  # a small fixed window: unrolled in the traced graph
            x = self._step_inputs(latent, value[:, None, :], 1, False)[:, 0]
            new_states = []
            for layer, layer_states in zip(self.decoder_layers, states):
                x, updated = layer.cell(x, list(layer_states), training=False)
                new_states.append(list(updated) if isinstance(updated, (list, tuple)) else [updated])
            states = new_states
            value = tf.cast(self.output_layer(x), tf.float32)
            outputs.append(value)
        return tf.stack(outputs, axis=1)

    @staticmethod
    def shifted(windows):
        """The values one step back: the decoder's input at step t is the value at t - 1 (zeros at t = 0)."""
        windows = tf.convert_to_tensor(windows)
        return tf.pad(windows[:, :-1], [[0, 0], [1, 0], [0, 0]])

    def reconstruct(self, windows, training=False):
        """Encode and decode: `generate` at inference, scheduled teacher forcing while training."""
        latent = self.encode(windows, training=training)
        if not (training and self.model_config.feed_previous):
            return self.generate(latent) if not training else self.decode(latent, training=training)
        epsilon = schedules.teacher_forcing_probability(self.optimizer.iterations, self.model_config)
        gold = self.shifted(tf.cast(windows, tf.float32))
        first = tf.stop_gradient(self.decode(latent, gold, training=training))  # the model's own predictions
        keep = tf.random.uniform(tf.shape(gold)[:2])[..., None] < epsilon
        return self.decode(latent, tf.where(keep, gold, self.shifted(first)), training=training)

    # ------------------------------------------------------------------ keras
    def call(self, windows, training=False):
        return self.reconstruct(windows, training=training)

    def build(self, input_shape=None):
        if self.built:
            return
        config = self.model_config
        self.decode(self.encode(tf.zeros((1, config.window, config.channels))),
                    tf.zeros((1, config.window, config.channels)))  # fmt: skip
        self.built = True

    def _terms(self, data, training):
        windows, observed = data["values"], data["observed"]
        return masked_mse(windows, self.reconstruct(windows, training=training), observed)

    def train_step(self, data):
        with tf.GradientTape() as tape:
            loss = self._terms(data, training=True)
            scaled = self.optimizer.scale_loss(loss) if hasattr(self.optimizer, "scale_loss") else loss
        gradients = tape.gradient(scaled, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        return self._track(loss)

    def test_step(self, data):
        return self._track(self._terms(data, training=False))

    def _track(self, loss):
        self.trackers["loss"].update_state(loss)
        if self.model_config.feed_previous:
            epsilon = schedules.teacher_forcing_probability(self.optimizer.iterations, self.model_config)
            self.trackers["teacher_forcing_probability"].update_state(epsilon)
        return {name: tracker.result() for name, tracker in self.trackers.items()}
