"""`textae.load()`: a model folder as the object for its kind, the one place that sees both halves."""

from __future__ import annotations

import os

from textae.bundle import default_model_dir, task_of


def load(path=None):
    """Load a model folder: a `TextAE`, or a `SeriesAE` for a time-series model.

    Args:
        path: the model folder; None loads `$TEXTAE_MODEL` when set, else the shipped text model.

    Raises:
        BundleError: the folder is missing, incomplete or corrupt (the message says what to do).
    """
    folder = default_model_dir() if path is None else os.fspath(path)
    if task_of(folder) == "timeseries":
        from textae.series.autoencoder import SeriesAE
        from textae.series.bundle import load_series_bundle

        return SeriesAE(load_series_bundle(folder))
    from textae.text.autoencoder import TextAE
    from textae.text.bundle import load_bundle

    return TextAE(load_bundle(folder))
