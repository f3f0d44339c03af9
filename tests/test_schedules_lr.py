"""Learning-rate warm-up and cosine decay (training.trainer.learning_rate), and label smoothing."""

import math

import numpy as np
import pytest
import tensorflow as tf

from textae.text import training_step
from textae.text.config import preset
from textae.text.model import TextAutoencoder
from textae.training import trainer


def _rate(schedule, step: int) -> float:
    return float(schedule(step)) if callable(schedule) else float(schedule)


def test_constant_rate_without_warmup_is_a_number():
    config = preset("tiny")
    assert trainer.learning_rate(config) == config.train.learning_rate


def test_warmup_then_cosine_decay_to_five_percent():
    config = preset("tiny")
    config.train.learning_rate_schedule, config.train.warmup_steps, config.train.decay_steps = "cosine", 10, 100
    schedule = trainer.learning_rate(config)
    peak = config.train.learning_rate
    assert _rate(schedule, 0) == 0.0
    assert math.isclose(_rate(schedule, 5), peak / 2, rel_tol=1e-5)
    assert math.isclose(_rate(schedule, 10), peak, rel_tol=1e-5)
    assert math.isclose(_rate(schedule, 60), peak * (0.05 + 0.95 * 0.5), rel_tol=1e-4)  # half-way down
    assert math.isclose(_rate(schedule, 110), 0.05 * peak, rel_tol=1e-4)


def test_warmup_then_constant_and_decay_over_the_whole_run_by_default():
    config = preset("tiny")
    config.train.warmup_steps = 4
    assert math.isclose(_rate(trainer.learning_rate(config), 1000), config.train.learning_rate, rel_tol=1e-6)
    config.train.learning_rate_schedule, config.train.epochs = "cosine", 3
    schedule = trainer.learning_rate(config, steps_per_epoch=20)  # 60 steps in all: 4 warm-up, 56 decay
    assert math.isclose(_rate(schedule, 60), 0.05 * config.train.learning_rate, rel_tol=1e-4)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"learning_rate_schedule": "step"}, "--learning-rate-schedule must be one of constant, cosine"),
        ({"warmup_steps": -1}, "must be 0 or more"),
        ({"learning_rate_schedule": "cosine", "reduce_lr_patience": 2}, "--reduce-lr-patience needs a constant"),
    ],
)
def test_bad_schedule_settings_are_clear_errors(changes, message):
    config = preset("tiny")
    for name, value in changes.items():
        setattr(config.train, name, value)
    with pytest.raises(ValueError, match=message):
        trainer.learning_rate(config)


def test_label_smoothing_mixes_the_uniform_target_into_the_objective_only():
    config = preset("tiny").model
    config.sampling_schedule, config.sampling_k = "constant", 1.0  # teacher forcing: one deterministic pass
    tokens = tf.constant([[5, 6, 7, 0], [8, 9, 0, 0]], tf.int32)
    batch = (
        {"encoder_tokens": tokens, "decoder_tokens": tf.constant([[2, 5, 6, 7, 0], [2, 8, 9, 0, 0]])},
        tf.constant([[5, 6, 7, 3, 0], [8, 9, 3, 0, 0]]),
    )
    plain_model = TextAutoencoder(config)
    plain_model.build()
    plain = training_step.loss_terms(plain_model, batch, training=True)
    config.label_smoothing = 0.1
    smoothed_model = TextAutoencoder(config)
    smoothed_model.build()
    smoothed_model.set_weights(plain_model.get_weights())
    smoothed = training_step.loss_terms(smoothed_model, batch, training=True)
    logits = plain_model(batch[0])  # (B, T+1, V), teacher-forced
    mask = batch[1].numpy() != 0
    real = logits.numpy()[mask]  # (N, V)
    uniform = np.sum(tf.reduce_logsumexp(real, axis=-1).numpy() - real.mean(axis=-1))
    expected = 0.9 * float(plain["cross_entropy_sum"]) + 0.1 * uniform
    assert math.isclose(float(smoothed["objective_sum"]), expected, rel_tol=1e-4)
    assert math.isclose(float(smoothed["cross_entropy_sum"]), float(plain["cross_entropy_sum"]), rel_tol=1e-5)
