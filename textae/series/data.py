"""Numeric series in: CSV/Parquet files, Hugging Face datasets, and aeon's labelled anomaly series.

`load_series` returns a `Series` (values `(T, C)` float32, optional 0/1 labels,
column names, a missing-value mask) after the checks every later step relies on:
numeric columns, at least one finite value per column, no infinities, no
constant column. NaN values follow `missing`: "interpolate" fills them (linear
inside the series, the nearest value at the ends) and marks them in `observed`,
so that the loss and the anomaly scores skip them; "error" refuses them.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from pathlib import Path

import numpy as np

from textae.data import DataError
from textae.series import windows

AEON_SERIES = {  # name -> (aeon loader, whether it has an anomaly-free "train" split)
    "kdd_tsad_135": ("load_kdd_tsad_135", True),
    "daphnet_s06r02e0": ("load_daphnet_s06r02e0", False),
}
TIME_NAMES = ("time", "timestamp", "date", "datetime")
LABEL_NAMES = ("label", "is_anomaly", "anomaly")
FILE_SUFFIXES = (".csv", ".tsv", ".parquet")


class SeriesError(DataError):
    """A series that cannot be used as given; the message says what to change."""


@dataclasses.dataclass
class Series:
    values: np.ndarray  # (T, C) float32, NaN filled
    columns: list[str]
    labels: np.ndarray | None = None  # (T,) int 0/1, for measuring only
    observed: np.ndarray | None = None  # (T, C) bool: False where a NaN was filled
    time: np.ndarray | None = None
    source: str = ""
    report: list[str] = dataclasses.field(default_factory=list)

    def __len__(self) -> int:
        return len(self.values)

    def part(self, start: int, stop: int | None = None) -> Series:
        """The steps `start:stop`, in time order."""
        cut = slice(start, stop)
        pick = lambda a: None if a is None else a[cut]  # noqa: E731
        return dataclasses.replace(
            self, values=self.values[cut], labels=pick(self.labels), observed=pick(self.observed), time=pick(self.time)
        )


def load_aeon(name: str, split: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """`(X (T, C), y (T,))` of one of aeon's shipped anomaly series (no download)."""
    if name not in AEON_SERIES:
        raise SeriesError(f"Unknown aeon series {name!r}; choose aeon:{' or aeon:'.join(AEON_SERIES)}.")
    try:
        import aeon.datasets
    except ImportError:
        raise SeriesError(
            "aeon is not installed; `pip install aeon` (it is in requirements-dev.txt) to use aeon:" + name
        ) from None
    loader, has_train = AEON_SERIES[name]
    if split == "train" and not has_train:
        split = "test"  # an unsupervised series: there is only the one, labelled
    if split not in ("train", "test"):
        raise SeriesError(f"aeon:{name} has the splits train and test, not {split!r}.")
    function = getattr(aeon.datasets, loader)
    with warnings.catch_warnings():  # aeon 1.6 deprecates the Daphnet excerpt (no labelled anomaly; docs/TIMESERIES.md)
        warnings.simplefilter("ignore", FutureWarning)
        x, y = function(split=split) if has_train else function()
    x = np.asarray(x, dtype=np.float64)
    return (x[:, None] if x.ndim == 1 else x), np.asarray(y).astype(int)


def read_table_file(file, name: str):
    """A DataFrame from a .csv, .tsv or .parquet file (a path or a file object; `name` gives the format)."""
    import pandas as pd

    suffix = Path(name).suffix.lower()
    if suffix == ".parquet":
        return pd.read_parquet(file)
    return pd.read_csv(file, sep="\t" if suffix == ".tsv" else ",")


def _read_table(source: str, dataset_config: str | None, split: str):
    path = Path(source).expanduser()
    if path.suffix.lower() in FILE_SUFFIXES:
        if not path.is_file():
            raise SeriesError(f"No file at {source}; pass a .csv, .tsv or .parquet file.")
        return read_table_file(path, path.name)
    import datasets

    try:
        if path.is_dir():
            loaded = datasets.load_from_disk(str(path))
        else:
            loaded = datasets.load_dataset(source, dataset_config, split=split)
    except (FileNotFoundError, ValueError, ConnectionError) as error:
        raise SeriesError(
            f"Cannot load {source!r} ({' '.join(str(error).split())[:200]}); pass a .csv/.tsv/.parquet file, "
            "a save_to_disk folder, a hub dataset name, or aeon:kdd_tsad_135."
        ) from None
    if isinstance(loaded, datasets.DatasetDict):
        if split not in loaded:
            raise SeriesError(f"{source} has the splits {', '.join(loaded)}, not {split!r}; pass --split.")
        loaded = loaded[split]
    return loaded.to_pandas()


def _pick(frame, name: str | None, candidates: tuple[str, ...], what: str) -> str | None:
    if name:
        if name not in frame.columns:
            raise SeriesError(f"No {what} column {name!r}; the columns are {', '.join(map(str, frame.columns))}.")
        return name
    lowered = {str(column).lower(): column for column in frame.columns}
    return next((lowered[c] for c in candidates if c in lowered), None)


def _from_table(frame, columns, time_column, label_column, source: str):
    import pandas as pd

    time_column = _pick(frame, time_column, TIME_NAMES, "time")
    label_column = _pick(frame, label_column, LABEL_NAMES, "label")
    if columns:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise SeriesError(
                f"No column {missing[0]!r} in {source}; the columns are {', '.join(map(str, frame.columns))}."
            )
        chosen = list(columns)
        text = [c for c in chosen if not pd.api.types.is_numeric_dtype(frame[c])]
        if text:
            raise SeriesError(
                f"Column {text[0]!r} of {source} is not numeric (e.g. {frame[text[0]].iloc[0]!r}); "
                "choose numeric value columns with --columns."
            )
    else:
        others = [c for c in frame.columns if c not in (time_column, label_column)]
        chosen = [
            c for c in others if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
        ]
        if not chosen:
            raise SeriesError(
                f"{source} has no numeric value column (columns: {', '.join(map(str, frame.columns))}); "
                "name them with --columns."
            )
    values = frame[chosen].to_numpy(dtype=np.float64)
    labels = None if label_column is None else frame[label_column].fillna(0).to_numpy().astype(int)
    time = None if time_column is None else frame[time_column].to_numpy()
    return values, [str(c) for c in chosen], labels, time


def load_series(
    source: str,
    *,
    split: str = "train",
    columns: tuple[str, ...] = (),
    time_column: str | None = None,
    label_column: str | None = None,
    dataset_config: str | None = None,
    missing: str = "interpolate",
) -> Series:
    """Load and check one series (see the module docstring)."""
    if not source:
        raise SeriesError("No series given: pass --source with a .csv/.parquet file, a dataset, or aeon:kdd_tsad_135.")
    if source.startswith("aeon:"):
        x, y = load_aeon(source.removeprefix("aeon:"), split)
        names = [f"channel_{i}" for i in range(x.shape[1])] if x.shape[1] > 1 else ["value"]
        if columns:  # the channels by these names
            unknown = [c for c in columns if c not in names]
            if unknown:
                raise SeriesError(f"{source} has no channel {unknown[0]!r}; its channels are {', '.join(names)}.")
            x, names = x[:, [names.index(c) for c in columns]], list(columns)
        values, labels, time = x, y, None
    else:
        frame = _read_table(os.fspath(source), dataset_config, split)
        return series_from_frame(frame, source, columns, time_column, label_column, missing)
    return _checked(values, names, labels, time, source, missing)


def series_from_frame(frame, source: str, columns=(), time_column=None, label_column=None, missing="interpolate"):
    """A checked `Series` from a pandas DataFrame (an uploaded file in the app, a read table here)."""
    values, names, labels, time = _from_table(frame, columns, time_column, label_column, source)
    return _checked(values, names, labels, time, source, missing)


def _checked(values, names, labels, time, source: str, missing: str) -> Series:
    if len(values) == 0:
        raise SeriesError(f"{source} has no rows.")
    try:
        filled, observed, report = windows.check_values(values, names, missing, source)
    except ValueError as error:
        raise SeriesError(str(error)) from None
    return Series(filled, names, labels, observed, time, source, report)
