"""Text in, tokenizer and tf.data batches out, for a training run.

The tokenizer is trained on the training sentences only (never on the test
split). Validation sentences come from the shipped corpus's validation split,
or, for other data, from a fixed hash-selected 3% of the training text, so a
sentence never moves between the two when the data is re-read.
"""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np

from textae import data
from textae.text import cleaning, pipeline
from textae.text.config import Config
from textae.text.tokenizer import Tokenizer
from textae.training import corpus


@dataclasses.dataclass
class PreparedData:
    """Everything a run needs from the text."""

    tokenizer: Tokenizer
    train_ids: list[np.ndarray]
    validation_ids: list[np.ndarray]
    validation_texts: list[str]
    report: list[str]


def _is_validation(sentence: str) -> bool:
    return int(hashlib.sha256(sentence.encode("utf-8")).hexdigest(), 16) % 100 < 3


def load_sentences(config: Config) -> tuple[list[str], list[str], list[str]]:
    """Clean training and validation sentences and a report, as the config asks."""
    settings = config.data
    raw = data.load_texts(
        settings.dataset,
        dataset_config=settings.dataset_config,
        split=settings.split,
        text_column=settings.text_column,
        data_files=tuple(settings.data_files),
        streaming=settings.streaming,
        limit=settings.limit,
    )
    clean = dict(
        lowercase=settings.lowercase, split_sentences=settings.split_sentences, deduplicate=settings.deduplicate
    )
    texts, cleaned = cleaning.clean_texts(raw, limit=settings.limit, **clean)
    report = [f"training text: {cleaned.summary()}"]
    shipped = settings.dataset is None and not settings.data_files
    own_split = (
        not settings.data_files and data.has_split(settings.dataset, "validation") and settings.split != "validation"
    )
    if shipped or own_split:  # the shipped corpus, or a local folder with a validation split (a mix)
        validation_raw = data.load_texts(settings.dataset, split="validation", text_column=settings.text_column)
        validation, _ = cleaning.clean_texts(validation_raw, **clean)
    else:
        validation = [text for text in texts if _is_validation(text)]
        texts = [text for text in texts if not _is_validation(text)]
        if not texts or not validation:
            # Too little text for a hash split: hold out the last sentences instead.
            held = max(1, len(texts + validation) // 10)
            texts, validation = (texts + validation)[:-held], (texts + validation)[-held:]
        if not texts:
            raise data.DataError("Need at least two sentences to train (one is held out for validation).")
    # A fixed sample that represents the split whatever order the text came in (hash order; the shipped
    # corpus is stored in that order, so there it is simply the first sentences).
    validation = sorted(validation, key=corpus.order_key)[: config.train.validation_size]
    where = "shipped split" if shipped else "the dataset's validation split" if own_split else "hash-held-out 3%"
    report.append(f"validation: {len(validation):,} sentences ({where})")
    return texts, validation, report


def prepare(config: Config, tokenizer: Tokenizer | None = None) -> PreparedData:
    """Load, clean, tokenize. Trains a tokenizer unless one is given (on resume).

    Also sets `config.model.vocab_size` to the tokenizer's real size (tiny
    corpora can give fewer pieces than asked for).
    """
    texts, validation, report = load_sentences(config)
    if tokenizer is None:
        tokenizer = Tokenizer.train(texts[: config.tokenizer.max_sentences], config.tokenizer)
    config.model.vocab_size = tokenizer.vocab_size
    limits = dict(min_tokens=config.data.min_tokens, max_tokens=config.data.max_tokens)
    train_ids, train_report = pipeline.tokenize_texts(tokenizer, texts, **limits)
    validation_ids, validation_report = pipeline.tokenize_texts(tokenizer, validation, **limits)
    kept_validation = [validation[index] for index in validation_report["kept_indices"]]
    report.append(
        f"tokens: {train_report['kept']:,} training sentences kept "
        f"({train_report['too_long']:,} over {config.data.max_tokens} tokens, "
        f"{train_report['too_short']:,} too short), "
        f"{train_report['tokens']:,} tokens; vocabulary {tokenizer.vocab_size:,}"
    )
    if not train_ids:
        raise data.DataError(f"No training sentence has {config.data.min_tokens}–{config.data.max_tokens} tokens.")
    train_ids, repeated = oversample_long(train_ids, config.data.long_tokens, config.data.long_repeats)
    if repeated:
        report.append(
            f"long sentences: {repeated:,} of {config.data.long_tokens}+ tokens, "
            f"seen {config.data.long_repeats}x per pass"
        )
    return PreparedData(tokenizer, train_ids, validation_ids, kept_validation, report)


def oversample_long(ids: list[np.ndarray], long_tokens: int, repeats: int) -> tuple[list[np.ndarray], int]:
    """`ids` with every sentence of `long_tokens` or more tokens `repeats` times (the copies appended)."""
    if repeats <= 1 or long_tokens <= 0:
        return ids, 0
    long = [row for row in ids if len(row) >= long_tokens]
    return ids + long * (repeats - 1), len(long)


def make_datasets(prepared: PreparedData, config: Config):
    """Training (shuffled, noised) and validation (fixed order) datasets."""
    settings = config.data
    train = pipeline.make_dataset(
        prepared.train_ids,
        config.train.batch_size,
        shuffle=True,
        seed=config.train.seed,
        word_dropout_rate=settings.word_dropout_rate,
        word_blank_rate=settings.word_blank_rate,
        shuffle_distance=settings.shuffle_distance,
    )
    validation = pipeline.make_dataset(prepared.validation_ids, config.train.batch_size, shuffle=False)
    return train, validation


def training_stream(prepared: PreparedData, config: Config, first_pass: int = 0, skip_batches: int = 0):
    """The endless training stream (`pipeline.training_stream`) from pass `first_pass`, less `skip_batches`."""
    settings = config.data
    return pipeline.training_stream(
        prepared.train_ids,
        config.train.batch_size,
        seed=config.train.seed,
        first_pass=first_pass,
        skip_batches=skip_batches,
        word_dropout_rate=settings.word_dropout_rate,
        word_blank_rate=settings.word_blank_rate,
        shuffle_distance=settings.shuffle_distance,
    )
