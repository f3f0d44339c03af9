"""A time-series model folder: the text bundle's format and atomic save, with the series' own files.

config.json      the SeriesConfig ("task": "timeseries"), format version, creation time
model.keras      the SeriesAutoencoder (loaded with safe_mode=True)
series.json      the channels, the normalisation fitted on the training part, the threshold and its rule
metrics.json     training and evaluation figures
example.npz      the held-out series (values, labels when known) that the app shows first
MODEL_CARD.md
"""

from __future__ import annotations

import dataclasses
import io
import zipfile
from pathlib import Path

import numpy as np

from textae import bundle
from textae.bundle import BundleError
from textae.series import model as _model  # noqa: F401  (registers SeriesAutoencoder with Keras)
from textae.series.config import SeriesConfig
from textae.series.windows import Normaliser

SERIES_FILE = "series.json"
EXAMPLE_FILE = "example.npz"
TRAIN_HINT = "train one with `python -m training.train --task timeseries`"


@dataclasses.dataclass
class SeriesBundle:
    path: Path
    model: object  # textae.series.model.SeriesAutoencoder
    config: SeriesConfig
    normaliser: Normaliser
    columns: list[str]
    threshold: float
    info: dict
    metrics: dict
    card: str


def example_bytes(values: np.ndarray, labels: np.ndarray | None) -> bytes:
    buffer = io.BytesIO()
    arrays = {"values": np.asarray(values, np.float32)}
    if labels is not None:
        arrays["labels"] = np.asarray(labels, np.int8)
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def load_example(path) -> tuple[np.ndarray, np.ndarray | None] | None:
    """`(values (T, C), labels (T,) or None)` of a folder's example series, or None."""
    file = Path(path) / EXAMPLE_FILE
    if not file.is_file():
        return None
    try:
        with np.load(file, allow_pickle=False) as data:
            return data["values"], (data["labels"].astype(int) if "labels" in data else None)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        raise BundleError(f"Cannot read {file}: {error}. Delete it; the model works without it.") from error


def save_series_bundle(path, model, config: SeriesConfig, info: dict, metrics: dict, card: str, example=None) -> Path:
    """Write the folder atomically (`textae.bundle.save_bundle`); `info` must hold columns, normaliser, threshold."""
    extra = {SERIES_FILE: bundle.to_json_bytes(info)}
    if example is not None:
        extra[EXAMPLE_FILE] = example_bytes(*example)
    return bundle.save_bundle(path, model, config, metrics, card, extra_files=extra)


def load_series_bundle(path) -> SeriesBundle:
    """Load a time-series model folder; every missing or corrupt file is a `BundleError` that names it."""
    read = bundle.read_folder(
        path, "timeseries", (SERIES_FILE,),
        "holds a text model, not a time-series one: use the text commands (textae reconstruct ...).", TRAIN_HINT,
    )  # fmt: skip
    info = bundle.read_json(read.path / SERIES_FILE, "series file")
    try:
        config = SeriesConfig.from_dict(read.config)
        normaliser = Normaliser.from_dict(info["normaliser"])
        columns, threshold = list(info["columns"]), float(info["threshold"])
    except (KeyError, TypeError, ValueError) as error:
        raise BundleError(f"{read.path} has an invalid time-series config ({error}); {TRAIN_HINT}.") from error
    model = bundle.load_keras_model(read.path / bundle.MODEL_FILE, kind="SeriesAutoencoder")
    return SeriesBundle(read.path, model, config, normaliser, columns, threshold, info, read.metrics, read.card)
