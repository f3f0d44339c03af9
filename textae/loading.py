"""`textae.load()`: a model folder as the object for its kind, the one place that sees both halves."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from textae import hub
from textae.bundle import task_of

if TYPE_CHECKING:
    from textae.series.autoencoder import SeriesAE
    from textae.text.autoencoder import TextAE


def load(path: str | os.PathLike | None = None) -> TextAE | SeriesAE:
    """Load a model folder: a `TextAE`, or a `SeriesAE` for a time-series model.

    Args:
        path: the model folder, or `hf://OWNER/NAME[@REVISION]` on the Hugging Face Hub (downloaded once into
            its cache); None loads `$TEXTAE_MODEL` (either kind) when set, else the shipped text model.

    Raises:
        BundleError: the folder is missing, incomplete or corrupt (the message says what to do).
    """
    folder = hub.model_folder(path)
    if task_of(folder) == "timeseries":
        from textae.series.autoencoder import SeriesAE
        from textae.series.bundle import load_series_bundle

        return SeriesAE(load_series_bundle(folder))
    from textae.text.autoencoder import TextAE
    from textae.text.bundle import load_bundle

    return TextAE(load_bundle(folder))
