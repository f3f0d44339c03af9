"""Scheduled sampling (Bengio et al. 2015) and KL annealing: the schedules and how training uses them."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from batches import make_batch

from textae import schedules
from textae.text import training_step
from textae.text.config import ModelConfig
from textae.text.model import TextAutoencoder
from textae.text.tokenizer import BOS_ID, PAD_ID

STEPS = [0, 1, 10, 100, 1000, 5000, 100_000]
SENTENCES = [[5, 6, 7, 8, 9], [10, 11], [12, 13, 14, 15, 16, 17, 18], [19]]


def compiled_model(**overrides):
    """A tiny deterministic model (dropout 0), compiled so `training=True` reads the optimizer's step."""
    keras.utils.set_random_seed(0)
    values = {"vocab_size": 30, "embedding_dim": 8, "hidden_dim": 16, "latent_dim": 4, "sampling_min": 0.0}
    model = TextAutoencoder(ModelConfig(**{**values, **overrides}))
    model.build()
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    return model


def epsilon(step, **overrides):
    config = ModelConfig(**{"sampling_min": 0.0, **overrides})
    return float(schedules.teacher_forcing_probability(step, config))


# --------------------------------------------------------------------------- the schedules
@pytest.mark.parametrize("step", STEPS)
def test_paper_schedules(step):
    # Bengio et al. 2015, section 2.4, with epsilon_min = 0.
    assert epsilon(step, sampling_schedule="constant", sampling_k=0.3) == pytest.approx(0.3)
    linear = max(0.0, 1.0 - 1e-3 * step)
    assert epsilon(step, sampling_schedule="linear", sampling_k=1.0, sampling_c=1e-3) == pytest.approx(linear, abs=1e-6)
    exponential = 0.99**step
    assert epsilon(step, sampling_schedule="exponential", sampling_k=0.99) == pytest.approx(exponential, abs=1e-6)
    k = 500.0
    inverse_sigmoid = k / (k + math.exp(step / k)) if step / k < 700 else 0.0
    assert epsilon(step, sampling_schedule="inverse_sigmoid", sampling_k=k) == pytest.approx(inverse_sigmoid, abs=1e-6)


def test_constant_schedule_is_clipped_to_a_probability():
    assert epsilon(0, sampling_schedule="constant", sampling_k=1.5) == 1.0
    assert epsilon(0, sampling_schedule="constant", sampling_k=0.0) == 0.0


@pytest.mark.parametrize(
    "overrides",
    [
        {"sampling_schedule": "linear", "sampling_k": 1.0, "sampling_c": 1e-3},
        {"sampling_schedule": "exponential", "sampling_k": 0.99},
        {"sampling_schedule": "inverse_sigmoid", "sampling_k": 500.0},
        {"sampling_schedule": "constant", "sampling_k": 0.1},
    ],
)
def test_floor_applies_to_every_schedule(overrides):
    for step in STEPS:
        unfloored = epsilon(step, **overrides)
        assert epsilon(step, sampling_min=0.6, **overrides) == pytest.approx(max(0.6, unfloored))
    assert epsilon(10**7, sampling_min=0.6, **overrides) == pytest.approx(0.6)


def test_schedule_accepts_the_optimizer_step_variable():
    model = compiled_model(sampling_schedule="exponential", sampling_k=0.9)
    model.optimizer.iterations.assign(3)
    assert float(schedules.teacher_forcing_probability(model.optimizer.iterations, model.model_config)) == (
        pytest.approx(0.9**3)
    )


@pytest.mark.parametrize(
    "schedule, k", [("exponential", 1.0), ("exponential", 0.0), ("exponential", 1.5), ("inverse_sigmoid", 0.5)]
)
def test_bad_k_raises(schedule, k):
    with pytest.raises(ValueError, match="sampling_k"):
        epsilon(0, sampling_schedule=schedule, sampling_k=k)


def kl(step, schedule, **overrides):
    config = ModelConfig(kl_schedule=schedule, kl_anneal_steps=1000, **overrides)
    return float(schedules.kl_weight(step, config))


def test_kl_weight_schedules():
    assert [kl(step, "constant") for step in (0, 10, 10_000)] == [1.0, 1.0, 1.0]
    assert [kl(step, "linear") for step in (0, 250, 500, 1000, 5000)] == pytest.approx([0.0, 0.25, 0.5, 1.0, 1.0])
    logistic = [kl(step, "logistic") for step in (0, 250, 500, 750, 1000)]
    assert logistic[0] < 1e-4 and logistic[2] == pytest.approx(0.5) and logistic[4] > 0.9999
    assert logistic == sorted(logistic)
    # Fu et al. 2019: 4 cycles of 250 steps, ramp over the first half of each, hold 1, then 1 for good.
    cyclical = [kl(step, "cyclical", kl_cycles=4) for step in (0, 62.5, 125, 200, 250, 375, 999, 1000, 9999)]
    assert cyclical == pytest.approx([0.0, 0.5, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0])


# --------------------------------------------------------------------------- training with the schedules
def test_epsilon_one_is_teacher_forcing_in_parallel_mode():
    model = compiled_model(sampling_schedule="constant", sampling_k=1.0)
    batch = make_batch(SENTENCES)
    training = training_step.loss_terms(model, batch, training=True)
    assert float(training["epsilon"]) == 1.0
    np.testing.assert_array_equal(training["loss"], training_step.loss_terms(model, batch, training=False)["loss"])


def test_epsilon_one_is_teacher_forcing_in_sequential_mode():
    model = compiled_model(sampling_schedule="constant", sampling_k=1.0, sampling_mode="sequential")
    batch = make_batch(SENTENCES, length=9)
    training = training_step.loss_terms(model, batch, training=True)
    teacher_forced = training_step.loss_terms(model, batch, training=False)
    np.testing.assert_allclose(training["loss"], teacher_forced["loss"], atol=1e-5)
    assert float(training["correct"]) == float(teacher_forced["correct"])


def test_mix_tokens_with_epsilon_zero_feeds_drawn_tokens_shifted_right():
    gold = make_batch(SENTENCES, length=9)[0]["decoder_tokens"]  # (B, T+1)
    mask = gold != PAD_ID
    drawn = np.random.default_rng(0).integers(4, 30, size=gold.shape).astype(np.int32)
    mixed = training_step.mix_tokens(tf.constant(gold), tf.constant(drawn), tf.constant(mask), 0.0).numpy()
    expected = gold.copy()
    expected[:, 1:] = np.where(mask[:, 1:], drawn[:, :-1], gold[:, 1:])
    np.testing.assert_array_equal(mixed, expected)
    assert (mixed[:, 0] == BOS_ID).all() and (mixed[~mask] == PAD_ID).all()
    np.testing.assert_array_equal(training_step.mix_tokens(gold, drawn, mask, 1.0), gold)


def test_mix_tokens_keeps_gold_with_probability_epsilon():
    tf.random.set_seed(0)
    gold = np.tile(np.arange(1, 101, dtype=np.int32), (200, 1))  # no padding; drawn never equals gold
    drawn = gold + 1000
    mixed = training_step.mix_tokens(gold, drawn, gold != PAD_ID, 0.3).numpy()
    assert (mixed[:, 1:] == gold[:, 1:]).mean() == pytest.approx(0.3, abs=0.02)


def _teacher_forced_argmax_inputs(model, latent, inputs, mask):
    """Decoder inputs made of the teacher-forced arg-max tokens shifted right (gold <s> and padding)."""
    hidden = model.decoder_hidden(latent, inputs, mask=mask)
    predicted = tf.argmax(model.project(hidden), axis=-1, output_type=tf.int32).numpy()
    expected = np.array(inputs)
    expected[:, 1:] = np.where(mask[:, 1:], predicted[:, :-1], expected[:, 1:])
    return expected


def test_parallel_inputs_with_epsilon_zero_are_shifted_argmax():
    model = compiled_model(sampling_greedy=True)
    inputs, targets = make_batch(SENTENCES, length=9)
    gold, mask = inputs["decoder_tokens"], targets != PAD_ID
    latent, _ = model.encode(inputs["encoder_tokens"])
    expected = _teacher_forced_argmax_inputs(model, latent, gold, mask)
    np.testing.assert_array_equal(expected, _teacher_forced_argmax_inputs(model, latent, gold, mask))
    parallel = training_step._parallel_inputs(model, latent, tf.constant(gold), tf.constant(mask), tf.constant(0.0))
    np.testing.assert_array_equal(parallel.numpy(), expected)
    # Model predictions differ from the gold tokens, so this is not teacher forcing in disguise.
    assert (parallel.numpy() != gold).any()


def test_parallel_passes_repeat_on_their_own_tokens():
    model = compiled_model(sampling_greedy=True, sampling_passes=2)
    inputs, targets = make_batch(SENTENCES, length=9)
    gold, mask = inputs["decoder_tokens"], targets != PAD_ID
    latent, _ = model.encode(inputs["encoder_tokens"])
    first_pass = _teacher_forced_argmax_inputs(model, latent, gold, mask)
    expected = _teacher_forced_argmax_inputs(model, latent, first_pass, mask)
    parallel = training_step._parallel_inputs(model, latent, tf.constant(gold), tf.constant(mask), tf.constant(0.0))
    np.testing.assert_array_equal(parallel.numpy(), expected)


def test_enough_parallel_passes_equal_sequential_greedy_sampling():
    # Duckworth et al. 2019: after n passes the first n inputs equal the step-by-step ones.
    inputs, targets = make_batch(SENTENCES)
    gold, mask = tf.constant(inputs["decoder_tokens"]), tf.constant(targets != PAD_ID)
    common = {"sampling_schedule": "constant", "sampling_k": 0.0, "sampling_greedy": True}
    model = compiled_model(sampling_passes=targets.shape[1], **common)
    latent, _ = model.encode(inputs["encoder_tokens"])
    sequential = training_step.sequential_logits(model, latent, gold, tf.constant(0.0), training=True)

    def parallel_logits(model):
        decoder_inputs = training_step._parallel_inputs(model, latent, gold, mask, tf.constant(0.0))
        return model.project(model.decoder_hidden(latent, decoder_inputs, mask=mask))

    real = targets != PAD_ID
    np.testing.assert_allclose(parallel_logits(model).numpy()[real], sequential.numpy()[real], atol=1e-5)
    # Neither teacher forcing nor a single pass gives these logits.
    teacher_forced = model.project(model.decoder_hidden(latent, gold, mask=mask)).numpy()[real]
    assert np.abs(teacher_forced - sequential.numpy()[real]).max() > 1e-3
    one_pass = compiled_model(**common)
    one_pass.set_weights(model.get_weights())
    assert np.abs(parallel_logits(one_pass).numpy()[real] - sequential.numpy()[real]).max() > 1e-3

    # And through the training loss: parallel with enough passes equals sequential mode.
    sequential_model = compiled_model(sampling_mode="sequential", **common)
    sequential_model.set_weights(model.get_weights())
    batch = (inputs, targets)
    np.testing.assert_allclose(
        training_step.loss_terms(model, batch, training=True)["loss"],
        training_step.loss_terms(sequential_model, batch, training=True)["loss"],
        atol=1e-5,
    )


def test_sequential_mode_applies_decoder_dropout_and_trains_in_fit():
    overrides = {"sampling_schedule": "constant", "sampling_k": 1.0, "dropout_rate": 0.5, "embedding_dropout_rate": 0.5}
    model = compiled_model(sampling_mode="sequential", **overrides)
    inputs, targets = make_batch(SENTENCES)
    gold, real = tf.constant(inputs["decoder_tokens"]), targets != PAD_ID
    latent, _ = model.encode(inputs["encoder_tokens"])
    one = tf.constant(1.0)
    # The step loop applies the decoder's dropout while training (two passes differ) and none otherwise.
    first, second = (training_step.sequential_logits(model, latent, gold, one, training=True) for _ in range(2))
    assert np.abs(first.numpy() - second.numpy())[real].max() > 1e-3
    evaluation = training_step.sequential_logits(model, latent, gold, one, training=False).numpy()[real]
    teacher_forced = model.project(model.decoder_hidden(latent, gold)).numpy()[real]
    np.testing.assert_allclose(evaluation, teacher_forced, atol=1e-5)
    history = model.fit(tf.data.Dataset.from_tensors((inputs, targets)).repeat(2), shuffle=False, verbose=0)
    assert np.isfinite(history.history["loss"][-1])


def test_drawn_tokens_follow_the_softmax():
    draw_tokens = training_step.draw_tokens
    tf.random.set_seed(0)
    probabilities = np.array([0.6, 0.3, 0.1, 0.0], np.float32)
    logits = tf.math.log(tf.constant(np.tile(probabilities, (20000, 1))) + 1e-12)
    drawn = draw_tokens(logits, greedy=False).numpy()
    assert drawn.dtype == np.int32 and drawn.shape == (20000,)
    np.testing.assert_allclose(np.bincount(drawn, minlength=4) / 20000, probabilities, atol=0.015)
    np.testing.assert_array_equal(draw_tokens(logits[:3], greedy=True).numpy(), [0, 0, 0])
