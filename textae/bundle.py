"""A trained model is a folder: the parts every kind of model shares.

Every folder holds

    model.keras      the Keras model, loaded with safe_mode=True
    config.json      {"format_version", "config": the task's Config.to_dict(), "created", "textae_version"}
    metrics.json     training and evaluation figures
    MODEL_CARD.md    what the model is, how it was made, its limits

and the files of its task (`textae.text.bundle`, `textae.series.bundle`). `save_bundle` writes a folder
atomically; `read_folder` reads the shared files and turns anything missing or corrupt into a `BundleError`
that names the file and what to do.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import secrets
import shutil
from pathlib import Path

import numpy as np

from textae import files

FORMAT_VERSION = 1
MODEL_FILE = "model.keras"
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
CARD_FILE = "MODEL_CARD.md"
TRAIN_HINT = "train one with `python -m training.train`"


class BundleError(ValueError):
    """A model folder is missing, incomplete or unreadable; the message says what to do."""


@dataclasses.dataclass
class Folder:
    """The shared files of a model folder, read and checked."""

    path: Path
    config: dict  # the task's config as a dict ("task" says which)
    metrics: dict
    card: str


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


def to_json_bytes(value) -> bytes:
    return json.dumps(value, indent=2, sort_keys=True, default=json_default).encode()


def save_bundle(path, model, config, metrics: dict | None, card: str, extra_files: dict | None = None) -> Path:
    """Write a model folder atomically.

    Everything goes into a sibling `.{name}.tmp-XXXX` folder first and is synced to
    disk; then an existing folder is renamed to `.{name}.old-XXXX`, the new one takes
    its name, and the old one is deleted. A crash at any moment leaves the previous
    good folder (under its own name, or under the `.old-` name) intact.

    Args:
        path: The model folder to create or replace.
        model: A built textae Keras model.
        config: The task's config (with `to_dict()`).
        metrics: Evaluation results (JSON-serializable; numpy scalars are fine).
        card: Markdown model card.
        extra_files: The task's own `{file name: bytes}` (a tokenizer, latents, a normaliser...).

    Returns:
        The folder's path.
    """
    target = Path(path).expanduser().absolute()
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
            CONFIG_FILE: to_json_bytes(header),
            METRICS_FILE: to_json_bytes(dict(metrics or {})),
            CARD_FILE: card.encode(),
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


def read_json(file: Path, what: str) -> dict:
    """A JSON object from `file`; BundleError naming `what` when it is unreadable or not an object."""
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
    config = read_json(folder / CONFIG_FILE, "model config").get("config", {})
    return config.get("task", "text") if isinstance(config, dict) else "text"


def read_folder(path, task: str, required: tuple[str, ...], wrong_task: str, train_hint: str = TRAIN_HINT) -> Folder:
    """The shared files of the model folder at `path`, checked: it must hold a `task` model and `required` files.

    Raises:
        BundleError: with `wrong_task` when it holds the other kind of model; naming the file when one is
            missing, is not valid JSON, or comes from an unknown format version.
    """
    folder = Path(path).expanduser().absolute()
    if task_of(folder) != task:
        raise BundleError(f"{folder} {wrong_task}")
    for name in (CONFIG_FILE, MODEL_FILE, *required):
        if not (folder / name).is_file():
            raise BundleError(f"The model folder {folder} has no {name}; it is incomplete. Retrain it ({train_hint}).")
    header = read_json(folder / CONFIG_FILE, "model config")
    version = header.get("format_version")
    if version != FORMAT_VERSION:
        raise BundleError(
            f"{folder / CONFIG_FILE} has format_version {version!r}, but this textae reads version {FORMAT_VERSION}. "
            f"Use the textae version that wrote it ({header.get('textae_version', 'unknown')}) or {train_hint}."
        )
    config = header.get("config", {})
    if not isinstance(config, dict):
        raise BundleError(f"{folder / CONFIG_FILE} has no config object; {train_hint}.")
    metrics = read_json(folder / METRICS_FILE, "metrics file") if (folder / METRICS_FILE).is_file() else {}
    card_file = folder / CARD_FILE
    card = card_file.read_text(encoding="utf-8", errors="replace") if card_file.is_file() else ""
    return Folder(folder, config, metrics, card)


def load_keras_model(file: Path, kind: str):
    """The textae model in `file`, loaded with safe_mode=True; BundleError if it is damaged or of another kind.

    The caller imports the module that registers `kind` with Keras (`textae.text.model`, `textae.series.model`).
    """
    import keras

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
