"""Shared fixtures: a tiny deterministic corpus and a tokenizer trained on it."""

import os

# datasets and TensorFlow read these when imported, so they must be set first.
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"

import random  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _float32_policy():
    """Each test starts in float32: an in-process training run sets Keras's global dtype policy
    (mixed_bfloat16 on CPUs with bfloat16 units), which would otherwise leak into later tests."""
    yield
    if "keras" in sys.modules:  # nothing to reset in a test that never imported it
        import keras

        keras.mixed_precision.set_global_policy("float32")


_SUBJECTS = (
    "The cat",
    "A young girl",
    "My brother",
    "The old man",
    "Our teacher",
    "The small dog",
    "A tired student",
    "The farmer",
    "Her friend",
    "The children",
    "A doctor",
    "The captain",
)
_VERBS = ("saw", "liked", "found", "painted", "carried", "opened", "wanted", "cleaned", "followed", "heard")
_OBJECTS = (
    "a red ball",
    "the green door",
    "an old book",
    "the big river",
    "a quiet house",
    "the blue car",
    "some fresh bread",
    "a long letter",
    "the tall tree",
    "a warm coat",
    "the empty box",
    "a bright star",
)
_ENDINGS = (
    "",
    " yesterday",
    " in the morning",
    " after school",
    " near the park",
    " with great care",
    " every day",
    " last week",
    " at night",
    " before dinner",
)
_PUNCTUATION = (".", ".", ".", "!", "?")


@pytest.fixture(scope="session")
def tiny_sentences() -> list[str]:
    """About 200 short, varied, distinct English sentences; the same on every run."""
    generator = random.Random(0)
    sentences: list[str] = []
    seen: set[str] = set()
    while len(sentences) < 200:
        sentence = (
            f"{generator.choice(_SUBJECTS)} {generator.choice(_VERBS)} {generator.choice(_OBJECTS)}"
            f"{generator.choice(_ENDINGS)}{generator.choice(_PUNCTUATION)}"
        )
        if generator.random() < 0.15:
            sentence = f"{sentence[:-1]}, and {generator.randint(2, 99)} more{sentence[-1]}"
        if sentence not in seen:
            seen.add(sentence)
            sentences.append(sentence)
    return sentences


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_sentences):
    """A 100-piece tokenizer without byte fallback, trained on `tiny_sentences`."""
    from textae.text.config import TokenizerConfig
    from textae.text.tokenizer import Tokenizer

    return Tokenizer.train(tiny_sentences, TokenizerConfig(vocab_size=100, byte_fallback=False))


# --------------------------------------------------------------------------- trained tiny model
TINY_TRAINED_COUNT = 32


@pytest.fixture(scope="session")
def tiny_sentences_trained(tiny_sentences, tiny_tokenizer) -> list[str]:
    """The sentences `tiny_bundle`'s model was trained on (and reconstructs exactly).

    Sentences with a character outside the tiny vocabulary (an `<unk>`, e.g. a rare
    digit) are skipped: no model could reproduce them exactly.
    """
    from textae.text.tokenizer import UNK_ID

    known = [s for s, ids in zip(tiny_sentences, tiny_tokenizer.encode(tiny_sentences)) if UNK_ID not in ids]
    return known[:TINY_TRAINED_COUNT]


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory, tiny_tokenizer, tiny_sentences_trained):
    """Path of a saved model folder whose tiny model reconstructs `tiny_sentences_trained`.

    Teacher forcing only (constant schedule, k=1), a high learning rate and every
    sentence in each batch, so it learns the 32 sentences in a few seconds.
    """
    import keras

    from textae.text.bundle import save_bundle
    from textae.text.config import Config, ModelConfig, TokenizerConfig
    from textae.text.model import TextAutoencoder
    from textae.text.pipeline import make_dataset

    keras.utils.set_random_seed(0)
    model_config = ModelConfig(
        vocab_size=tiny_tokenizer.vocab_size,
        embedding_dim=16,
        hidden_dim=64,
        latent_dim=16,
        bidirectional=False,
        sampling_schedule="constant",
        sampling_k=1.0,
    )
    config = Config(tokenizer=TokenizerConfig(vocab_size=100, byte_fallback=False), model=model_config)
    config.train.learning_rate = 2e-2
    model = TextAutoencoder(model_config)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=config.train.learning_rate, clipnorm=1.0))
    token_ids = tiny_tokenizer.encode(tiny_sentences_trained)
    dataset = make_dataset(token_ids, batch_size=TINY_TRAINED_COUNT, repeat=True, seed=0, bucket_boundaries=None)
    history = model.fit(dataset, steps_per_epoch=300, epochs=1, verbose=0, shuffle=False)
    metrics = {"train": {name: float(values[-1]) for name, values in history.history.items()}}
    path = tmp_path_factory.mktemp("bundle") / "model"
    save_bundle(path, model, tiny_tokenizer, config, metrics=metrics)
    return path


def sine_series(length=600, channels=2, seed=0):
    """`(length, channels)` float32 sines of different periods with a little noise; the same on every run."""
    import numpy as np

    steps = np.arange(length)
    rng = np.random.default_rng(seed)
    columns = [np.sin(2 * np.pi * steps / (20 + 7 * c)) + 0.05 * rng.normal(size=length) for c in range(channels)]
    return np.stack(columns, axis=1).astype(np.float32)


def write_series_csv(path, values, extra=None):
    """`values` as a CSV with a timestamp column and columns v0, v1, ... (plus `extra` columns)."""
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame(values, columns=[f"v{i}" for i in range(values.shape[1])])
    frame.insert(0, "timestamp", np.arange(len(values)))
    for name, column in (extra or {}).items():
        frame[name] = column
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def tiny_series_run(tmp_path_factory):
    """A `TrainResult` of the tiny time-series preset, 6 epochs on a two-channel sine series (seconds)."""
    from textae.series.config import series_preset
    from textae.training.series_trainer import train_series

    folder = tmp_path_factory.mktemp("series")
    config = series_preset("tiny")
    config.data.source = str(write_series_csv(folder / "train.csv", sine_series(600, 2)))
    config.data.score_stride = 2
    config.train.epochs = 6
    return train_series(config, folder / "run", verbose=0)
