"""A trained model is a folder: save it atomically, load it with clear errors.

model.keras      the Keras model (weights, architecture, optimizer state)
tokenizer.model  the SentencePiece model
config.json      {"format_version", "config": Config.to_dict(), "created", "textae_version"}
metrics.json     evaluation results
MODEL_CARD.md    what the model is, how it was made, its limits
latents.npz      optional: cached corpus latents (`sentences`, `vectors`) for the explorer
"""

from __future__ import annotations

import dataclasses
import datetime
import io
import json
import os
import secrets
import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from textae import files
from textae.config import Config
from textae.model_card import render_model_card
from textae.tokenizer import Tokenizer

FORMAT_VERSION = 1
MODEL_FILE = "model.keras"
TOKENIZER_FILE = "tokenizer.model"
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
CARD_FILE = "MODEL_CARD.md"
LATENTS_FILE = "latents.npz"
TRAIN_HINT = "train one with `python -m training.train`"


class BundleError(ValueError):
    """A model folder is missing, incomplete or unreadable; the message says what to do."""


@dataclasses.dataclass
class Bundle:
    """A loaded model folder."""

    path: Path
    model: Any  # textae.model.TextAutoencoder
    tokenizer: Tokenizer
    config: Config
    metrics: dict
    card: str

    def load_latents(self) -> tuple[list[str], np.ndarray] | None:
        """The cached `(sentences, vectors (N, Z))` of `latents.npz`, or None if absent."""
        return load_latents(self.path)


def shipped_model_dir() -> Path:
    """The shipped model: `assets/model` in a checkout, `textae/shipped/model` in an installed package."""
    return files.shipped("model")


def default_model_dir() -> Path:
    """The model used when no path is given: `$TEXTAE_MODEL` when set, else the shipped model."""
    configured = os.environ.get(files.MODEL_VARIABLE, "").strip()
    return Path(configured).expanduser() if configured else shipped_model_dir()


def _version() -> str:
    from textae import __version__

    return __version__


def json_default(value):
    """Let numpy scalars and arrays into json.dumps."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


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
    """Write a model folder atomically.

    Everything goes into a sibling `.{name}.tmp-XXXX` folder first and is synced to
    disk; then an existing folder is renamed to `.{name}.old-XXXX`, the new one takes
    its name, and the old one is deleted. A crash at any moment leaves the previous
    good folder (under its own name, or under the `.old-` name) intact.

    Args:
        path: The model folder to create or replace.
        model: A built `TextAutoencoder` (or `SeriesAutoencoder`).
        tokenizer: Its `Tokenizer` (None for a time-series model).
        config: The `Config` it was trained with.
        metrics: Evaluation results (JSON-serializable; numpy scalars are fine).
        card: Markdown model card; rendered from config and metrics when None.
        extra_files: More `{file name: bytes}` to store, e.g. `{"latents.npz": latents_to_bytes(...)}`.

    Returns:
        The folder's path.
    """
    target = Path(path).expanduser().absolute()
    metrics = dict(metrics or {})
    extra_files = dict(extra_files or {})
    for name in extra_files:
        if Path(name).name != name or name.startswith("."):
            raise ValueError(f"extra_files names must be plain file names, got {name!r}.")
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.parent / f".{target.name}.tmp-{secrets.token_hex(4)}"
    temporary.mkdir()
    try:
        if not model.built:
            model.build()  # a model trained with a custom train_step only is never marked built
        model.save(str(temporary / MODEL_FILE))
        files.sync_file(temporary / MODEL_FILE)
        header = {
            "format_version": FORMAT_VERSION,
            "config": config.to_dict(),
            "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "textae_version": _version(),
        }
        contents = {
            **({TOKENIZER_FILE: tokenizer.to_bytes()} if tokenizer is not None else {}),  # a series model has none
            CONFIG_FILE: json.dumps(header, indent=2, sort_keys=True, default=json_default).encode(),
            METRICS_FILE: json.dumps(metrics, indent=2, sort_keys=True, default=json_default).encode(),
            CARD_FILE: (card if card is not None else render_model_card(config, metrics)).encode(),
            **extra_files,
        }
        for name, data in contents.items():
            files.write_synced(temporary / name, data)
        files.sync_directory(temporary)
        _swap_in(temporary, target)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return target


def _swap_in(temporary: Path, target: Path) -> None:
    """Rename `temporary` to `target`, moving an existing `target` aside first."""
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.old-{secrets.token_hex(4)}"
        os.rename(target, old)
    try:
        os.rename(temporary, target)
    except BaseException:
        if old is not None:
            os.rename(old, target)
        raise
    files.sync_directory(target.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _missing(folder: Path) -> BundleError:
    leftovers = sorted(folder.parent.glob(f".{folder.name}.old-*")) if folder.parent.is_dir() else []
    if leftovers:
        return BundleError(
            f"No model folder at {folder}, but an interrupted save left the previous model in {leftovers[-1]}; "
            f"rename it to {folder.name} or {TRAIN_HINT}."
        )
    return BundleError(
        f"No model folder at {folder}. Pass a trained model folder (--model DIR, or textae.load(DIR)), "
        f"set {files.MODEL_VARIABLE} to one, or {TRAIN_HINT}."
    )


def _read_json(file: Path, what: str) -> dict:
    try:
        value = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BundleError(f"The {what} {file} is not valid JSON ({error}); restore it or retrain the model.") from error
    if not isinstance(value, dict):
        raise BundleError(f"The {what} {file} should hold a JSON object; restore it or retrain the model.")
    return value


def task_of(path) -> str:
    """ "text" or "timeseries": what the model folder at `path` holds (BundleError if it holds none)."""
    folder = Path(path).expanduser().absolute()
    if not folder.is_dir():
        raise _missing(folder)
    if not (folder / CONFIG_FILE).is_file():
        raise BundleError(
            f"The model folder {folder} has no {CONFIG_FILE}; it is incomplete. Retrain it ({TRAIN_HINT})."
        )
    config = _read_json(folder / CONFIG_FILE, "model config").get("config", {})
    return config.get("task", "text") if isinstance(config, dict) else "text"


def load_bundle(path) -> Bundle:
    """Load a model folder written by `save_bundle`.

    Raises:
        BundleError: The folder or one of its files is missing, corrupt or from an
            unknown format version; the message names the file and what to do.
    """
    folder = Path(path).expanduser().absolute()
    if task_of(folder) != "text":
        raise BundleError(
            f"{folder} holds a time-series model, not a text model: use `textae series ...` or textae.load(), "
            "which returns a SeriesAE for it."
        )
    for name in (CONFIG_FILE, TOKENIZER_FILE, MODEL_FILE):
        if not (folder / name).is_file():
            raise BundleError(f"The model folder {folder} has no {name}; it is incomplete. Retrain it ({TRAIN_HINT}).")

    header = _read_json(folder / CONFIG_FILE, "model config")
    version = header.get("format_version")
    if version != FORMAT_VERSION:
        raise BundleError(
            f"{folder / CONFIG_FILE} has format_version {version!r}, but this textae reads version {FORMAT_VERSION}. "
            f"Use the textae version that wrote it ({header.get('textae_version', 'unknown')}) or {TRAIN_HINT}."
        )
    try:
        config = Config.from_dict(header.get("config", {}))
    except (TypeError, ValueError) as error:
        raise BundleError(f"{folder / CONFIG_FILE} has an invalid config: {error}") from error

    try:
        tokenizer = Tokenizer.load(folder / TOKENIZER_FILE)
    except (OSError, ValueError) as error:
        raise BundleError(f"Cannot load {folder / TOKENIZER_FILE}: {error}") from error

    model = load_keras_model(folder / MODEL_FILE)
    model_vocab = model.model_config.vocab_size
    if model_vocab < tokenizer.vocab_size:
        raise BundleError(
            f"{folder / MODEL_FILE} has a vocabulary of {model_vocab} but {TOKENIZER_FILE} has {tokenizer.vocab_size} "
            f"pieces: they come from different runs. Save them together ({TRAIN_HINT})."
        )

    metrics = _read_json(folder / METRICS_FILE, "metrics file") if (folder / METRICS_FILE).is_file() else {}
    card_file = folder / CARD_FILE
    card = card_file.read_text(encoding="utf-8", errors="replace") if card_file.is_file() else ""
    return Bundle(path=folder, model=model, tokenizer=tokenizer, config=config, metrics=metrics, card=card)


def load_keras_model(file: Path, kind: str = "TextAutoencoder"):
    """The textae model in `file`, loaded with safe_mode=True; BundleError if it is damaged or of another kind."""
    import keras

    from textae import model as _model  # noqa: F401  (registers TextAutoencoder with Keras)
    from textae import series_model as _series_model  # noqa: F401  (and SeriesAutoencoder)

    try:
        model = keras.saving.load_model(file, safe_mode=True)
    except Exception as error:  # Keras raises many types for a damaged archive
        raise BundleError(
            f"Cannot load the Keras model {file} ({type(error).__name__}: {str(error)[:300]}). "
            f"The file is damaged or from an incompatible version; {TRAIN_HINT}."
        ) from error
    if type(model).__name__ != kind or not hasattr(model, "model_config"):
        raise BundleError(f"{file} holds a {type(model).__name__}, not a textae {kind}; {TRAIN_HINT}.")
    return model
