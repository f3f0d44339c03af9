"""Shared fixtures: a tiny deterministic corpus and a tokenizer trained on it."""

import os

# datasets and TensorFlow read these when imported, so they must be set first.
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"

import random  # noqa: E402

import pytest  # noqa: E402

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
    from textae.config import TokenizerConfig
    from textae.tokenizer import Tokenizer

    return Tokenizer.train(tiny_sentences, TokenizerConfig(vocab_size=100, byte_fallback=False))
