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
import json
import zipfile
from pathlib import Path

import numpy as np

from textae import bundle
from textae.bundle import BundleError
from textae.series_config import SeriesConfig
from textae.windows import Normaliser

SERIES_FILE = "series.json"
EXAMPLE_FILE = "example.npz"
TRAIN_HINT = "train one with `python -m training.train --task timeseries`"


@dataclasses.dataclass
class SeriesBundle:
    path: Path
    model: object  # textae.series_model.SeriesAutoencoder
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
    extra = {SERIES_FILE: json.dumps(info, indent=2, sort_keys=True, default=bundle.json_default).encode()}
    if example is not None:
        extra[EXAMPLE_FILE] = example_bytes(*example)
    return bundle.save_bundle(path, model, None, config, metrics, card, extra_files=extra)


def load_series_bundle(path) -> SeriesBundle:
    folder = Path(path).expanduser().absolute()
    task = bundle.task_of(folder)
    if task != "timeseries":
        raise BundleError(
            f"{folder} holds a text model, not a time-series one: use the text commands (textae reconstruct ...)."
        )
    for name in (bundle.MODEL_FILE, SERIES_FILE):
        if not (folder / name).is_file():
            raise BundleError(f"The model folder {folder} has no {name}; it is incomplete. Retrain it ({TRAIN_HINT}).")
    header = json.loads((folder / bundle.CONFIG_FILE).read_text(encoding="utf-8"))
    if header.get("format_version") != bundle.FORMAT_VERSION:
        raise BundleError(f"{folder / bundle.CONFIG_FILE} has an unknown format_version; {TRAIN_HINT}.")
    try:
        config = SeriesConfig.from_dict(header["config"])
        info = json.loads((folder / SERIES_FILE).read_text(encoding="utf-8"))
        normaliser = Normaliser.from_dict(info["normaliser"])
        columns, threshold = list(info["columns"]), float(info["threshold"])
    except (KeyError, TypeError, ValueError) as error:
        raise BundleError(f"{folder} has an invalid time-series config ({error}); {TRAIN_HINT}.") from error
    model = bundle.load_keras_model(folder / bundle.MODEL_FILE, kind="SeriesAutoencoder")
    metrics_file, card_file = folder / bundle.METRICS_FILE, folder / bundle.CARD_FILE
    metrics = json.loads(metrics_file.read_text(encoding="utf-8")) if metrics_file.is_file() else {}
    card = card_file.read_text(encoding="utf-8", errors="replace") if card_file.is_file() else ""
    return SeriesBundle(folder, model, config, normaliser, columns, threshold, info, metrics, card)
