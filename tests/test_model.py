"""TextAutoencoder: serialization, cuDNN eligibility, mixed precision, the loss and learning."""

import importlib

import keras
import numpy as np
import pytest
import tensorflow as tf
from batches import make_batch

from textae.text import training_step
from textae.text.config import ModelConfig
from textae.text.model import TextAutoencoder
from textae.text.tokenizer import PAD_ID

# Sentences of token ids (no <s>/</s>) for a vocabulary of 30.
SENTENCES = [[5, 6, 7, 8], [9, 10], [11, 12, 13, 14, 15, 16], [17]]


def tiny_config(**overrides):
    values = {"vocab_size": 30, "embedding_dim": 8, "hidden_dim": 16, "latent_dim": 4}
    return ModelConfig(**{**values, **overrides})


def tiny_model(**overrides):
    keras.utils.set_random_seed(0)
    model = TextAutoencoder(tiny_config(**overrides))
    model.build()
    return model


@pytest.fixture
def float32_policy_after():
    yield
    keras.mixed_precision.set_global_policy("float32")


# --------------------------------------------------------------------------- serialization
@pytest.mark.parametrize(
    "overrides",
    [
        {"cell_type": "lstm", "latent_mode": "deterministic", "tie_embeddings": False},
        {"cell_type": "lstm", "latent_mode": "variational", "tie_embeddings": True, "num_layers": 2},
        {"cell_type": "gru", "latent_mode": "deterministic", "tie_embeddings": True, "num_layers": 2},
        {"cell_type": "gru", "latent_mode": "variational", "tie_embeddings": False, "reverse_encoder_input": True},
        {"cell_type": "rnn", "latent_mode": "deterministic", "tie_embeddings": False, "num_layers": 2},
        {"cell_type": "rnn", "latent_mode": "variational", "tie_embeddings": True, "bidirectional": False},
    ],
    ids=lambda overrides: "-".join(str(value) for value in overrides.values()),
)
def test_keras_file_round_trip_gives_identical_logits(tmp_path, overrides):
    model = tiny_model(**overrides)
    inputs, _ = make_batch(SENTENCES)
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    assert type(restored) is TextAutoencoder
    assert restored.model_config == model.model_config
    np.testing.assert_array_equal(restored(inputs).numpy(), model(inputs).numpy())
    for original, loaded in zip(model.weights, restored.weights):
        np.testing.assert_array_equal(loaded.numpy(), original.numpy())


def test_model_accepts_config_dict():
    model = TextAutoencoder(tiny_config().__dict__)
    assert model.model_config == tiny_config()


# --------------------------------------------------------------------------- cuDNN
def _recurrent_layers(model):
    for layer in model.encoder_layers + model.decoder_layers:
        if isinstance(layer, keras.layers.Bidirectional):
            yield layer.forward_layer
            yield layer.backward_layer
        else:
            yield layer


@pytest.mark.parametrize("cell_type", ["lstm", "gru"])
def test_default_config_is_cudnn_eligible(monkeypatch, cell_type):
    # No GPU here: pretend there is one so that cudnn_ok checks only the arguments.
    keras_rnn = importlib.import_module("keras.src.backend.tensorflow.rnn")
    monkeypatch.setattr(keras_rnn, "_is_gpu_available", lambda: True)
    config = ModelConfig() if cell_type == "lstm" else ModelConfig(cell_type="gru")
    model = TextAutoencoder(config)
    layers = list(_recurrent_layers(model))
    assert len(layers) == 3 * config.num_layers  # a bidirectional encoder and a decoder per layer
    assert any(layer.go_backwards for layer in layers)
    for layer in layers:
        assert layer.activation is keras.activations.tanh
        assert layer.recurrent_activation is keras.activations.sigmoid
        assert layer.recurrent_dropout == 0 and layer.unroll is False and layer.use_bias is True
        reset_after = None
        if cell_type == "gru":
            assert layer.reset_after is True
            reset_after = layer.reset_after
        assert keras_rnn.cudnn_ok(
            layer.activation, layer.recurrent_activation, layer.unroll, layer.use_bias, reset_after=reset_after
        )


def test_reverse_encoder_input_reverses_only_the_real_tokens():
    forward = tiny_model()
    reverse = tiny_model(reverse_encoder_input=True)
    reverse.set_weights(forward.get_weights())
    inputs, _ = make_batch(SENTENCES)
    reversed_inputs, _ = make_batch([sentence[::-1] for sentence in SENTENCES])
    np.testing.assert_allclose(
        reverse.encode(inputs["encoder_tokens"])[0], forward.encode(reversed_inputs["encoder_tokens"])[0], atol=1e-6
    )


# --------------------------------------------------------------------------- mixed precision
@pytest.mark.parametrize("tie_embeddings", [False, True])
def test_mixed_precision_logits_are_float32(float32_policy_after, tie_embeddings):
    keras.mixed_precision.set_global_policy("mixed_float16")
    model = TextAutoencoder(tiny_config(tie_embeddings=tie_embeddings, latent_mode="variational"))
    inputs, targets = make_batch(SENTENCES)
    assert model(inputs).dtype == tf.float32
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    metrics = model.train_step((inputs, targets))
    assert np.isfinite(float(metrics["loss"]))


# --------------------------------------------------------------------------- the loss
@pytest.mark.parametrize(
    "overrides",
    [{"latent_mode": "deterministic"}, {"latent_mode": "variational", "tie_embeddings": True}],
    ids=["deterministic", "variational-tied"],
)
def test_one_training_step_changes_every_trainable_weight(overrides):
    model = tiny_model(**overrides)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    before = [variable.numpy().copy() for variable in model.trainable_variables]
    model.train_step(make_batch(SENTENCES))
    unchanged = [
        variable.path
        for variable, old in zip(model.trainable_variables, before)
        if np.array_equal(variable.numpy(), old)
    ]
    assert not unchanged


@pytest.mark.parametrize("latent_mode", ["deterministic", "variational"])
def test_padding_changes_neither_loss_nor_gradients(latent_mode):
    model = tiny_model(latent_mode=latent_mode, num_layers=2)

    def loss_and_gradients(batch):
        with tf.GradientTape() as tape:
            loss = training_step.loss_terms(model, batch, training=False)["loss"]
        gradients = tape.gradient(loss, model.trainable_variables)
        return loss.numpy(), [tf.convert_to_tensor(gradient).numpy() for gradient in gradients]

    short_loss, short_gradients = loss_and_gradients(make_batch(SENTENCES))
    long_loss, long_gradients = loss_and_gradients(make_batch(SENTENCES, length=11))
    np.testing.assert_allclose(long_loss, short_loss, rtol=1e-6)
    for short, long in zip(short_gradients, long_gradients):
        np.testing.assert_allclose(long, short, atol=1e-6)


@pytest.mark.parametrize("latent_mode", ["deterministic", "variational"])
def test_loss_is_masked_mean_cross_entropy(latent_mode):
    model = tiny_model(latent_mode=latent_mode)
    inputs, targets = make_batch(SENTENCES, length=8)
    logits = model(inputs).numpy().astype(np.float64)  # (B, T+1, V)
    log_probabilities = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    picked = np.take_along_axis(log_probabilities, targets[..., None], axis=-1)[..., 0]  # (B, T+1)
    real = targets != PAD_ID
    assert real.sum() == sum(len(sentence) + 1 for sentence in SENTENCES)
    objective = -picked[real].sum()
    if latent_mode == "variational":
        # Evaluation weighs the KL term 1: the loss is the negative ELBO per token.
        mean, log_variance = (value.numpy().astype(np.float64) for value in model.encode(inputs["encoder_tokens"]))
        objective += 0.5 * np.sum(np.exp(log_variance) + mean**2 - 1.0 - log_variance)
    terms = training_step.loss_terms(model, (inputs, targets), training=False)
    np.testing.assert_allclose(terms["loss"].numpy(), objective / real.sum(), rtol=1e-5)
    assert terms["tokens"].numpy() == real.sum()


@pytest.mark.parametrize(
    "field, value",
    [
        ("vocab_size", 0),
        ("vocab_size", 3),
        ("embedding_dim", 0),
        ("hidden_dim", -1),
        ("latent_dim", 0),
        ("num_layers", 0),
        ("cell_type", "transformer"),
        ("latent_mode", "vae"),
        ("sampling_schedule", "cosine"),
        ("sampling_mode", "beam"),
        ("kl_schedule", "sawtooth"),
        ("embedding_dropout_rate", 1.5),
        ("dropout_rate", -0.1),
        ("sampling_min", 2.0),
    ],
)
def test_invalid_config_raises_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        TextAutoencoder(tiny_config(**{field: value}))


# --------------------------------------------------------------------------- learning
def random_sentences(count=32, vocab_size=100, seed=0):
    """`count` sentences of 3 to 7 random ordinary token ids (4 .. vocab_size - 1)."""
    generator = np.random.default_rng(seed)
    return [generator.integers(4, vocab_size, size=length).tolist() for length in generator.integers(3, 8, count)]


@pytest.mark.parametrize("latent_mode", ["deterministic", "variational"])
@pytest.mark.parametrize("cell_type", ["lstm", "gru", "rnn"])
def test_tiny_model_overfits_32_sentences(cell_type, latent_mode):
    sentences = random_sentences()
    batch = make_batch(sentences)
    keras.utils.set_random_seed(0)
    config = ModelConfig(
        vocab_size=100,
        embedding_dim=16,
        hidden_dim=32,
        latent_dim=16,
        bidirectional=False,
        cell_type=cell_type,
        latent_mode=latent_mode,
        sampling_schedule="constant",  # teacher forcing: learns fastest
        sampling_k=1.0,
        kl_schedule="linear",
        kl_anneal_steps=100_000,  # the KL weight stays below 0.002, so the latent can hold the sentence
    )
    model = TextAutoencoder(config)
    model.compile(optimizer=keras.optimizers.Adam(1e-2, clipnorm=1.0))
    dataset = tf.data.Dataset.from_tensors(batch).repeat()
    model.fit(dataset, steps_per_epoch=200, epochs=1, shuffle=False, verbose=0)

    terms = training_step.loss_terms(model, batch, training=False)  # the latent mean in variational mode
    assert terms["correct"].numpy() == terms["tokens"].numpy()

    decoding = pytest.importorskip("textae.text.decoding")
    mean, _ = model.encode(batch[0]["encoder_tokens"])
    result = decoding.decode(model, mean.numpy(), decoding.DecodingSettings(max_length=10))
    decoded = [row[:length].tolist() for row, length in zip(result.tokens, result.lengths)]
    assert decoded == sentences
    assert result.finished.all()


@pytest.mark.parametrize(
    "overrides, policy",
    [
        ({}, "float32"),
        ({"num_layers": 2}, "float32"),
        ({}, "mixed_float16"),
        ({"cell_type": "gru"}, "float32"),
        ({"tie_embeddings": True}, "float32"),
    ],
)
def test_decoder_step_with_step_weights_matches_the_keras_cell(float32_policy_after, overrides, policy):
    keras.mixed_precision.set_global_policy(policy)
    model = tiny_model(**overrides)
    latent = tf.random.stateless_normal((3, model.model_config.latent_dim), seed=[0, 1])
    states = model.decoder_initial_state(latent)
    tokens = tf.constant([4, 7, 9])
    logit_bias = np.zeros(model.model_config.vocab_size, np.float32)
    logit_bias[[0, 2]] = -np.inf  # banned tokens, as decoding passes them
    logit_bias[5] = 0.5
    weights = model.decoder_step_weights(logit_bias=tf.constant(logit_bias))
    if model.model_config.cell_type == "lstm":
        assert len(weights["cells"]) == model.model_config.num_layers
    else:
        assert weights["cells"] is None  # GRU steps through the Keras cell
    for _ in range(3):  # a few steps, so that the states carry over
        expected, expected_states = model.decoder_step(tokens, states, latent)
        logits, states = model.decoder_step(tokens, states, latent, weights=weights)
        atol = 1e-5 if policy == "float32" else 1e-2
        assert logits.dtype == tf.float32
        np.testing.assert_allclose(logits.numpy(), expected.numpy() + logit_bias, atol=atol)
        for got, want in zip(tf.nest.flatten(states), tf.nest.flatten(expected_states)):
            assert got.dtype == want.dtype
            np.testing.assert_allclose(np.float32(got), np.float32(want), atol=atol)
        tokens = tf.argmax(logits, -1, output_type=tf.int32)


def test_decoder_word_dropout_replaces_only_real_tokens_after_bos_and_only_in_training():
    import tensorflow as tf

    from textae.text.config import ModelConfig
    from textae.text.model import TextAutoencoder
    from textae.text.tokenizer import BOS_ID, PAD_ID, UNK_ID

    model = TextAutoencoder(ModelConfig(vocab_size=50, embedding_dim=4, hidden_dim=4, latent_dim=4,
                                        decoder_word_dropout_rate=0.5))  # fmt: skip
    tokens = tf.constant([[BOS_ID] + [7] * 200 + [PAD_ID] * 50] * 4, tf.int32)
    dropped = model.drop_decoder_words(tokens, training=True).numpy()
    assert (dropped[:, 0] == BOS_ID).all() and (dropped[:, 201:] == PAD_ID).all()
    share = (dropped[:, 1:201] == UNK_ID).mean()
    assert 0.4 < share < 0.6 and set(dropped[:, 1:201].ravel()) == {7, UNK_ID}
    assert (model.drop_decoder_words(tokens, training=False).numpy() == tokens.numpy()).all()
