"""The recurrent autoencoder: embedding, encoder, latent vector, decoder.

Shapes: B sentences, T encoder steps, T + 1 decoder steps (`<s>` + tokens in,
tokens + `</s>` out), E embedding, H hidden, Z latent, V vocabulary.

    encoder_tokens (B, T) -> embedding (B, T, E) -> recurrent layers
        -> final states of every layer and direction -> latent (B, Z)
    latent -> initial decoder states; [embedding(decoder_tokens); latent] (B, T+1, E+Z)
        -> recurrent layers (B, T+1, H) -> logits (B, T+1, V), float32

Every recurrent layer is cuDNN-eligible (tanh/sigmoid, bias, no recurrent
dropout, `unroll=False`, right-padded masks) and uses a fused loop on CPU; see
`textae/recurrent.py`. Training (`train_step`) lives in `textae/training_step.py`
so that `model.fit` and the multi-worker loop share one step function.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from textae import lstm, recurrent
from textae.configured_model import ConfiguredModel
from textae.text import training_step
from textae.text.config import ModelConfig
from textae.text.tokenizer import BOS_ID, PAD_ID, UNK_ID


@keras.saving.register_keras_serializable(package="textae")
class TextAutoencoder(ConfiguredModel):
    """A sequence autoencoder that maps a sentence to a latent vector and back.

    Args:
        config: a `ModelConfig` or the dict of its fields.
        **kwargs: forwarded to `keras.Model` (for example `name`).

    Example:
    >>> model = TextAutoencoder(ModelConfig(vocab_size=100, hidden_dim=16))
    >>> logits = model({"encoder_tokens": tokens, "decoder_tokens": decoder_tokens})
    """

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        if isinstance(config, dict):
            config = ModelConfig(**config)
        config.validate()
        self.model_config = config
        self.num_states = recurrent.NUM_STATES[config.cell_type]
        # N(0, 1) rather than Keras's uniform(-0.05, 0.05): with small embeddings the decoder's input is
        # dominated by the latent vector and learning stalls near the unigram loss for thousands of steps.
        self.embedding = keras.layers.Embedding(
            config.vocab_size,
            config.embedding_dim,
            embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0),
            name="embedding",
        )
        self.embedding_dropout = keras.layers.Dropout(config.embedding_dropout_rate)
        self.layer_dropout = keras.layers.Dropout(config.dropout_rate)
        self.encoder_layers = recurrent.stack(config, "encoder")
        latent_units = 2 * config.latent_dim if config.latent_mode == "variational" else config.latent_dim
        self.to_latent = keras.layers.Dense(latent_units, name="to_latent")
        self.to_decoder_state = keras.layers.Dense(
            config.num_layers * self.num_states * config.hidden_dim, activation="tanh", name="to_decoder_state"
        )
        self.decoder_layers = recurrent.stack(config, "decoder")
        # The first decoder layer's input ends with the latent vector, the same at every step.
        self.decoder_layers[0].constant_input_units = config.latent_dim
        if config.tie_embeddings:
            # Press & Wolf 2017: logits = W_embedding h'; h' projected to E when H != E.
            self.output_bottleneck = keras.layers.Dense(config.embedding_dim, name="output_bottleneck")
            self.output_bias = self.add_weight(shape=(config.vocab_size,), initializer="zeros", name="output_bias")
        else:
            self.output_layer = keras.layers.Dense(config.vocab_size, dtype="float32", name="output")
        tracked = ["loss", "token_accuracy", "teacher_forcing_probability"]
        if config.latent_mode == "variational":
            tracked += ["kl", "kl_weight"]
        self.trackers = {name: keras.metrics.Mean(name=name) for name in tracked}

    # ----------------------------------------------------------------- encoder
    def encode(self, encoder_tokens, training=False):
        """Return `(mean, log_variance)` of the latent for `(B, T)` tokens.

        `log_variance` is None in deterministic mode, where the mean is the latent.
        """
        tokens = tf.convert_to_tensor(encoder_tokens, tf.int32)
        mask = tf.not_equal(tokens, PAD_ID)  # (B, T), right-padded
        if self.model_config.reverse_encoder_input:
            lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
            tokens = tf.reverse_sequence(tokens, lengths, seq_axis=1, batch_axis=0)
        x = self.embedding_dropout(self.embedding(tokens), training=training)  # (B, T, E)
        final_states = []
        for index, layer in enumerate(self.encoder_layers):
            if index:
                x = self.layer_dropout(x, training=training)
            x, *states = layer(x, mask=mask, training=training)
            final_states.extend(states)
        context = tf.concat([tf.cast(s, self.compute_dtype) for s in final_states], axis=-1)
        projected = tf.cast(self.to_latent(context), tf.float32)  # (B, Z) or (B, 2Z)
        if self.model_config.latent_mode == "variational":
            mean, log_variance = tf.split(projected, 2, axis=-1)
            return mean, tf.clip_by_value(log_variance, -20.0, 10.0)
        return projected, None

    def reparameterize(self, mean, log_variance, training=False):
        """Sample z = mean + sigma * noise while training a variational model."""
        if log_variance is None or not training:
            return mean
        return mean + tf.exp(0.5 * log_variance) * tf.random.normal(tf.shape(mean))

    # ----------------------------------------------------------------- decoder
    def decoder_initial_state(self, latent):
        """Per decoder layer, the list of its initial states `(B, H)`."""
        return recurrent.split_states(self.to_decoder_state(tf.cast(latent, self.compute_dtype)), self.model_config)

    def drop_decoder_words(self, decoder_tokens, training):
        """While training, each decoder input token but the first (`<s>`) becomes `<unk>` with probability
        `decoder_word_dropout_rate` (Bowman et al. 2016: the decoder must read the latent, not the prefix)."""
        rate = self.model_config.decoder_word_dropout_rate
        if not training or rate <= 0:
            return decoder_tokens
        drop = tf.random.uniform(tf.shape(decoder_tokens)) < rate
        drop &= tf.not_equal(decoder_tokens, PAD_ID) & tf.not_equal(decoder_tokens, BOS_ID)
        return tf.where(drop, tf.constant(UNK_ID, decoder_tokens.dtype), decoder_tokens)

    def _decoder_inputs(self, latent, decoder_tokens, training):
        decoder_tokens = self.drop_decoder_words(decoder_tokens, training)
        embedded = self.embedding_dropout(self.embedding(decoder_tokens), training=training)  # (B, T+1, E)
        steps = tf.shape(decoder_tokens)[1]
        repeated = tf.repeat(tf.cast(latent, embedded.dtype)[:, None, :], steps, axis=1)  # (B, T+1, Z)
        return tf.concat([embedded, repeated], axis=-1)

    def decoder_hidden(self, latent, decoder_tokens, mask=None, training=False):
        """Teacher-forced decoder outputs `(B, T+1, H)` for the given input tokens.

        `mask` defaults to `decoder_tokens != <pad>`; scheduled sampling passes the
        gold mask so that a predicted `<pad>` can never open a hole in it.
        """
        decoder_tokens = tf.convert_to_tensor(decoder_tokens, tf.int32)
        if mask is None:
            mask = tf.not_equal(decoder_tokens, PAD_ID)
        x = self._decoder_inputs(latent, decoder_tokens, training)
        for layer, states in zip(self.decoder_layers, self.decoder_initial_state(latent)):
            x, *_ = layer(x, initial_state=states, mask=mask, training=training)
            x = self.layer_dropout(x, training=training)
        return x

    def project(self, hidden):
        """Logits over the vocabulary, float32, for hidden states `(..., H)`."""
        if self.model_config.tie_embeddings:
            hidden = tf.cast(self.output_bottleneck(hidden), tf.float32)
            embeddings = tf.cast(self.embedding.embeddings, tf.float32)
            # Inside the model's autocast scope (mixed precision) the bias reads as float16.
            return tf.matmul(hidden, embeddings, transpose_b=True) + tf.cast(self.output_bias, tf.float32)
        return self.output_layer(hidden)

    def decoder_step_weights(self, logit_bias=None):
        """Weights arranged once for the `decoder_step` calls of a decoding loop.

        Args:
            logit_bias: optional `(V,)` float32 added to every step's logits, folded into the output
                bias so that it costs no extra pass over the vocabulary (decoding bans tokens this way).

        Returns:
            dict with "cells": per decoder layer, its LSTM weights per gate (None for GRU and simple RNN
            cells, which step through the Keras cell); "output": the output projection as float32
            `(kernel (H or E, V), bias (V,))`.
        """
        cells = None
        if self.model_config.cell_type == "lstm":
            cells = [lstm.lstm_step_weights(layer.cell) for layer in self.decoder_layers]
        if self.model_config.tie_embeddings:
            kernel = tf.transpose(tf.cast(self.embedding.embeddings, tf.float32))
            bias = tf.cast(self.output_bias, tf.float32)
        else:
            kernel, bias = (tf.cast(w, tf.float32) for w in (self.output_layer.kernel, self.output_layer.bias))
        return {"cells": cells, "output": (kernel, bias if logit_bias is None else bias + logit_bias)}

    def decoder_step(self, tokens, states, latent, training=False, weights=None):
        """One decoding step for graph loops.

        Args:
            tokens: `(B,)` previous tokens.
            states: per decoder layer, the list of its states.
            latent: `(B, Z)`.
            training: apply the same dropout as `decoder_hidden` (sequential scheduled sampling).
            weights: `decoder_step_weights()`, for the faster step at inference (ignored when training).

        Returns:
            `(logits (B, V) float32, new states)`.
        """
        tokens = self.drop_decoder_words(tf.convert_to_tensor(tokens, tf.int32), training)
        embedded = self.embedding_dropout(self.embedding(tokens), training=training)  # (B, E)
        x = tf.concat([embedded, tf.cast(latent, embedded.dtype)], axis=-1)
        weights = None if training else weights
        new_states = []
        for index, (layer, layer_states) in enumerate(zip(self.decoder_layers, states)):
            if weights is not None and weights["cells"] is not None:
                x, updated = lstm.lstm_step(x, list(layer_states), weights["cells"][index])
            else:
                x, updated = layer.cell(x, list(layer_states), training=training)
            new_states.append(list(updated) if isinstance(updated, (list, tuple)) else [updated])
            x = self.layer_dropout(x, training=training)
        if weights is None:
            return self.project(x), new_states
        if self.model_config.tie_embeddings:
            x = self.output_bottleneck(x)
        kernel, bias = weights["output"]
        return tf.nn.bias_add(tf.matmul(tf.cast(x, tf.float32), kernel), bias), new_states

    # ------------------------------------------------------------------ keras
    def call(self, inputs, training=False):
        """Teacher-forced logits `(B, T+1, V)` from the encoder and decoder tokens."""
        mean, log_variance = self.encode(inputs["encoder_tokens"], training=training)
        latent = self.reparameterize(mean, log_variance, training=training)
        return self.project(self.decoder_hidden(latent, inputs["decoder_tokens"], training=training))

    def build(self, input_shape=None):
        """Create every weight by running a one-sentence batch through the model."""
        if self.built:
            return
        tokens = tf.constant([[BOS_ID + 2, BOS_ID + 2]], tf.int32)
        self.call({"encoder_tokens": tokens, "decoder_tokens": tf.concat([[[BOS_ID]], tokens], axis=1)})
        self.built = True

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Keras 3.15's fit/evaluate under a strategy with several replicas first average the first batch
        # over them to build the model symbolically, which fails when that batch does not split evenly (a
        # bucketed batch of one sentence: "AddN ... [1,17] != [0,17]"). `build()` creates every weight
        # eagerly, so a built model skips that step. With one replica Keras's pass is kept: it opens an
        # iterator on the data, and skipping it would change the order of shuffled batches.
        if self.built and self.distribute_strategy.num_replicas_in_sync > 1:
            return
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def train_step(self, data):
        return training_step.train_step(self, data)

    def test_step(self, data):
        return training_step.test_step(self, data)
