"""Which model folders the app offers, and loading each one once per process.

Visitors choose among discovered folders only; they never type a path.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import streamlit as st

from textae import files, hub
from textae.text import explorer
from textae.text.bundle import (
    CONFIG_FILE,
    LATENTS_FILE,
    MODEL_FILE,
    BundleError,
    load_latents,
    shipped_model_dir,
    task_of,
)

WORKING_DIR = files.working_dir()  # relative paths are taken from here
MODEL_DIRS_VARIABLE = "TEXTAE_MODEL_DIRS"
RUNS_DIR_VARIABLE = "TEXTAE_RUNS_DIR"
CORPUS_SIZE = explorer.SIZE  # sentences on the Explore map


def is_model_folder(path: Path) -> bool:
    """True if `path` looks like a saved model folder (config.json and model.keras)."""
    return (path / CONFIG_FILE).is_file() and (path / MODEL_FILE).is_file()


def _resolve(path: str) -> Path | None:
    """The folder an operator's setting names: a path (relative to the working folder) or an hf:// Hub name,
    downloaded into the Hub cache (None, and one line on the server's stderr, when that fails)."""
    if hub.is_hub_name(path):
        try:
            return Path(hub.resolve(path)).resolve()
        except BundleError as error:
            print(f"textae app: skipping {path}: {error}", file=sys.stderr)
            return None
    candidate = Path(path).expanduser()
    return (candidate if candidate.is_absolute() else WORKING_DIR / candidate).resolve()


def _label(path: Path) -> str:
    return str(path.relative_to(WORKING_DIR)) if path.is_relative_to(WORKING_DIR) else str(path)


def discover_models(environ=os.environ, task: str = "text") -> dict[str, Path]:
    """`{label: folder}` of the model folders of `task` ("text" or "timeseries") to offer, the default first.

    `TEXTAE_MODEL_DIRS` (os.pathsep-separated), when set, replaces the shipped
    model; `TEXTAE_MODEL`, when set, comes first; the `*/model` folders under
    `TEXTAE_RUNS_DIR` (default `runs`) are always added. Each setting is a folder or
    an `hf://OWNER/NAME` Hub name (set by the operator; a visitor never names one).
    Only folders with config.json and model.keras of that task are offered.
    """
    configured = [p for p in environ.get(MODEL_DIRS_VARIABLE, "").split(os.pathsep) if p.strip()]
    shipped = (shipped_model_dir() if task == "text" else files.shipped("series_model")).resolve()
    operator = environ.get(files.MODEL_VARIABLE, "").strip()
    folders = [_resolve(operator)] if operator else []
    folders += [_resolve(p) for p in configured] if configured else [shipped]
    folders = [folder for folder in folders if folder is not None]
    runs = _resolve(environ.get(RUNS_DIR_VARIABLE, "runs"))
    if runs.is_dir():
        folders += sorted(path.resolve() for path in runs.glob("*/model"))
    models = {}
    for folder in dict.fromkeys(folders):
        if is_model_folder(folder) and _task(folder) == task:
            label = _label(folder)
            models[f"{label} (shipped)" if folder == shipped else label] = folder
    return models


def _task(folder: Path) -> str:
    """The folder's task; an unreadable config counts as text, so that the text page shows why it fails."""
    try:
        return task_of(folder)
    except BundleError:
        return "text"


def bundle_key(folder: Path) -> str:
    """What a model folder holds now: its path and the identity of its files.

    Training replaces `runs/*/model` after every epoch (a new folder renamed into place, so new
    inodes and times), and `latents.npz` can be rewritten on its own: every cache of the app is
    keyed on this, so a replaced model is loaded again and never mixed with the old one's latents.
    """
    parts = [str(folder)]
    for name in (MODEL_FILE, CONFIG_FILE, LATENTS_FILE):
        try:
            stat = (Path(folder) / name).stat()
        except OSError:
            parts.append(f"{name}:-")
            continue
        parts.append(f"{name}:{stat.st_ino}:{stat.st_size}:{stat.st_mtime_ns}")
    return "|".join(parts)


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def load_autoencoder(path: str, model_key: str):
    """The `TextAE` (or `SeriesAE`) for a model folder as `bundle_key` describes it, loaded once per process."""
    import textae

    return textae.load(path)


@st.cache_data(show_spinner=False, max_entries=4)
def corpus_latents(_autoencoder, model_key: str, size: int = CORPUS_SIZE) -> tuple[list[str], np.ndarray]:
    """Up to `size` corpus sentences and their `(N, Z)` latents.

    From the model folder's `latents.npz` when present; otherwise the sentences
    `training.ship` would store (`textae.text.explorer`), encoded now.
    """
    cached = load_latents(_autoencoder.path)
    if cached is not None:
        sentences, vectors = cached
        if len(sentences) > size:
            keep = np.sort(np.random.default_rng(0).choice(len(sentences), size, replace=False))
            sentences, vectors = [sentences[i] for i in keep], vectors[keep]
        return sentences, vectors
    return explorer.explorer_latents(_autoencoder, size)
