"""A text model folder: the shared files of `textae.bundle`, and the text model's own.

tokenizer.model  the SentencePiece model
latents.npz      optional: cached corpus latents (`sentences`, `vectors`) for the explorer
curves.jsonl     optional: the learning curve's points (`training.increments`)
"""

from __future__ import annotations

import dataclasses
import io
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from textae import files
from textae.bundle import (  # noqa: F401  (shared names, re-exported for the text half's callers)
    CARD_FILE,
    CONFIG_FILE,
    FORMAT_VERSION,
    METRICS_FILE,
    MODEL_FILE,
    TRAIN_HINT,
    BundleError,
    default_model_dir,
    json_default,
    load_keras_model,
    read_folder,
    shipped_model_dir,
    task_of,
)
from textae.bundle import save_bundle as save_folder
from textae.text import model as _model  # noqa: F401  (registers TextAutoencoder with Keras)
from textae.text.config import Config
from textae.text.model_card import render_model_card
from textae.text.tokenizer import Tokenizer

TOKENIZER_FILE = "tokenizer.model"
LATENTS_FILE = "latents.npz"


@dataclasses.dataclass
class Bundle:
    """A loaded model folder."""

    path: Path
    model: Any  # textae.text.model.TextAutoencoder
    tokenizer: Tokenizer
    config: Config
    metrics: dict
    card: str

    def load_latents(self) -> tuple[list[str], np.ndarray] | None:
        """The cached `(sentences, vectors (N, Z))` of `latents.npz`, or None if absent."""
        return load_latents(self.path)


def latents_to_bytes(sentences, vectors) -> bytes:
    """Serialize corpus latents as the bytes of a `latents.npz` file."""
    sentences = np.asarray(list(sentences), dtype=np.str_)
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or len(vectors) != len(sentences):
        raise ValueError(f"Need one (Z,) vector per sentence; got {len(sentences)} sentences, vectors {vectors.shape}.")
    buffer = io.BytesIO()
    np.savez_compressed(buffer, sentences=sentences, vectors=vectors)
    return buffer.getvalue()


def load_latents(path) -> tuple[list[str], np.ndarray] | None:
    """Read `latents.npz` from a model folder; None if the folder has none."""
    file = Path(path) / LATENTS_FILE
    if not file.is_file():
        return None
    try:
        with np.load(file, allow_pickle=False) as data:
            return [str(s) for s in data["sentences"]], data["vectors"].astype(np.float32)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        raise BundleError(f"Cannot read {file}: {error}. Delete it and recompute the corpus latents.") from error


def save_latents(path, sentences, vectors) -> Path:
    """Write (or replace) `latents.npz` inside an existing model folder, atomically."""
    return files.write_atomic(Path(path) / LATENTS_FILE, latents_to_bytes(sentences, vectors))


def save_bundle(path, model, tokenizer, config, metrics=None, card=None, extra_files=None) -> Path:
    """Write a text model folder atomically (`textae.bundle.save_bundle`), with its tokenizer.

    Args:
        path: The model folder to create or replace.
        model: A built `TextAutoencoder`.
        tokenizer: Its `Tokenizer`.
        config: The `Config` it was trained with.
        metrics: Evaluation results (JSON-serializable; numpy scalars are fine).
        card: Markdown model card; rendered from config and metrics when None.
        extra_files: More `{file name: bytes}` to store, e.g. `{"latents.npz": latents_to_bytes(...)}`.
    """
    card = card if card is not None else render_model_card(config, dict(metrics or {}))
    extra = {TOKENIZER_FILE: tokenizer.to_bytes(), **dict(extra_files or {})}
    return save_folder(path, model, config, metrics, card, extra_files=extra)


def load_bundle(path) -> Bundle:
    """Load a text model folder written by `save_bundle`.

    Raises:
        BundleError: The folder or one of its files is missing, corrupt or from an
            unknown format version; the message names the file and what to do.
    """
    read = read_folder(
        path, "text", (TOKENIZER_FILE,),
        "holds a time-series model, not a text model: use `textae detect` or textae.load(), which returns a "
        "SeriesAE for it.",
    )  # fmt: skip
    try:
        config = Config.from_dict(read.config)
    except (TypeError, ValueError) as error:
        raise BundleError(f"{read.path / CONFIG_FILE} has an invalid config: {error}") from error
    try:
        tokenizer = Tokenizer.load(read.path / TOKENIZER_FILE)
    except (OSError, ValueError) as error:
        raise BundleError(f"Cannot load {read.path / TOKENIZER_FILE}: {error}") from error
    model = load_keras_model(read.path / MODEL_FILE, "TextAutoencoder")
    model_vocab = model.model_config.vocab_size
    if model_vocab < tokenizer.vocab_size:
        raise BundleError(
            f"{read.path / MODEL_FILE} has a vocabulary of {model_vocab} but {TOKENIZER_FILE} has "
            f"{tokenizer.vocab_size} pieces: they come from different runs. Save them together ({TRAIN_HINT})."
        )
    return Bundle(path=read.path, model=model, tokenizer=tokenizer, config=config, metrics=read.metrics, card=read.card)
