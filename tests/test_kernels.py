"""One switch for the fast CPU kernels: the stock path gives the same model, loss, gradients and updates."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from batches import make_batch

from textae import kernels, lstm
from textae.optimizers import FusedAdam
from textae.text import losses, training_step
from textae.text.config import ModelConfig
from textae.text.model import TextAutoencoder

SENTENCES = [[5, 6, 7, 8], [9, 10, 11], [12, 13, 14, 15, 16, 17]]


def test_mode_comes_from_the_environment_and_bad_values_are_clear(monkeypatch):
    monkeypatch.setenv(kernels.VARIABLE, "stock")
    assert kernels.mode() == "stock" and not kernels.fast()
    monkeypatch.setenv(kernels.VARIABLE, "fast")
    assert kernels.fast()
    with kernels.use("stock"):
        assert not kernels.fast()
    assert kernels.fast()
    monkeypatch.setenv(kernels.VARIABLE, "cuda")
    with pytest.raises(ValueError, match="TEXTAE_KERNELS must be one of auto, fast, stock; got 'cuda'"):
        kernels.fast()
    monkeypatch.delenv(kernels.VARIABLE)
    assert kernels.fast() == (not kernels.accelerator_visible())  # auto: the CPU kernels on a CPU only


def _loss_and_gradients(mode: str, monkeypatch):
    calls = []
    original = lstm.lstm_masked
    monkeypatch.setattr(lstm, "lstm_masked", lambda *args, **kwargs: calls.append(1) or original(*args, **kwargs))
    with kernels.use(mode):
        keras.utils.set_random_seed(0)
        model = TextAutoencoder(ModelConfig(vocab_size=30, embedding_dim=8, hidden_dim=16, latent_dim=8))
        model.build()
        inputs, targets = make_batch(SENTENCES)
        with tf.GradientTape() as tape:
            loss = training_step.loss_terms(model, (inputs, targets), training=False)["loss"]
        gradients = tape.gradient(loss, model.trainable_variables)
        logits = tf.random.stateless_normal((5, 4000), seed=[1, 2])
        argmax = losses.argmax(logits)
    return float(loss), [np.asarray(tf.convert_to_tensor(g)) for g in gradients], argmax.numpy(), len(calls)


def test_stock_and_fast_kernels_agree(monkeypatch):
    fast_loss, fast_gradients, fast_argmax, fast_calls = _loss_and_gradients("fast", monkeypatch)
    stock_loss, stock_gradients, stock_argmax, stock_calls = _loss_and_gradients("stock", monkeypatch)
    assert fast_calls > 0 and stock_calls == 0  # each mode ran its own path
    assert stock_loss == pytest.approx(fast_loss, rel=1e-5)
    for fast, stock in zip(fast_gradients, stock_gradients):
        np.testing.assert_allclose(fast, stock, atol=1e-5)
    np.testing.assert_array_equal(fast_argmax, stock_argmax)


def test_fused_adam_under_loss_scaling_matches_keras_adam():
    """The mixed-precision default on GPUs wraps the optimizer in a LossScaleOptimizer."""
    results = []
    for optimizer_class in (FusedAdam, keras.optimizers.Adam):
        variable = keras.Variable(np.linspace(-1.0, 1.0, 12, dtype=np.float32).reshape(3, 4))
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer_class(learning_rate=0.1))
        for step in range(3):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(tf.square(variable - step)) * 0.5
                scaled = optimizer.scale_loss(loss)
            gradient = tape.gradient(scaled, [variable])
            optimizer.apply(gradient, [variable])
        results.append(np.asarray(variable))
    np.testing.assert_allclose(results[0], results[1], atol=1e-5)  # the fused kernel rounds epsilon differently
    assert not np.allclose(results[0], np.linspace(-1.0, 1.0, 12).reshape(3, 4))  # it did train
