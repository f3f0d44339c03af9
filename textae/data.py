"""Hugging Face datasets in, Python strings out.

`load_texts` reads one text column from the shipped corpus, local files, a
`save_to_disk` folder or a Hugging Face hub dataset; `textae.text.cleaning.clean_texts`
turns those strings into the sentences a model trains on.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterable
from pathlib import Path

import datasets

from textae import files

SHIPPED_CORPUS_DIR = files.shipped("corpus")
SHIPPED_SPLITS = ("train", "validation", "test")
LOCAL_HINT = "local files (.txt, .csv, .tsv, .json, .jsonl, .parquet) or a save_to_disk folder"
# File suffix (compression suffix removed) -> (datasets builder, builder keyword arguments).
# Undecodable bytes become U+FFFD instead of stopping the load; clean_texts repairs them.
BUILDERS = {
    ".txt": ("text", {"encoding_errors": "replace"}),
    ".text": ("text", {"encoding_errors": "replace"}),
    ".csv": ("csv", {"encoding_errors": "replace"}),
    ".tsv": ("csv", {"sep": "\t", "encoding_errors": "replace"}),
    ".json": ("json", {}),
    ".jsonl": ("json", {}),
    ".parquet": ("parquet", {}),
}
COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz", ".zst", ".zip")


class DataError(ValueError):
    """Text could not be loaded or nothing usable was left; the message says what to do."""


def load_texts(
    dataset: str | None = None,
    *,
    dataset_config: str | None = None,
    split: str = "train",
    text_column: str | None = None,
    data_files: Iterable[str] | str = (),
    streaming: bool = False,
    limit: int | None = None,
) -> list[str]:
    """Load one text column as a list of strings.

    Where the text comes from:
    - `data_files` (or `dataset` naming a local file): the files, read with the
      builder their extension selects (.txt/.txt.gz, .csv, .tsv, .json,
      .jsonl, .parquet). Local files form one split, so `split` is ignored.
    - `dataset` naming a folder written by `save_to_disk`: that dataset, or
      `split` of a saved `DatasetDict`; or a folder of split files
      (`train.jsonl.gz`, `validation.jsonl.gz`, ... as `training.mix` writes): that split's file.
    - `dataset` any other string: a Hugging Face hub dataset.
    - neither: `split` ("train", "validation" or "test") of the shipped corpus.

    Args:
        dataset: Hub name, local path, or None for the shipped corpus.
        dataset_config: Hub configuration name, e.g. "wikitext-103-raw-v1".
        split: Split to read.
        text_column: Column to read; detected when there is exactly one string column.
        data_files: Local data files.
        streaming: Stream the dataset instead of downloading it whole.
        limit: Read at most this many rows.

    Returns:
        The raw strings (missing values become ""), not yet cleaned.

    Raises:
        DataError: If the data cannot be found or read, or the column is ambiguous.
    """
    if limit is not None and limit <= 0:
        raise DataError(f"limit must be positive or None, got {limit}.")
    loaded = open_dataset(
        dataset, dataset_config=dataset_config, split=split, data_files=data_files, streaming=streaming
    )
    return _extract_column(loaded, text_column_name(loaded, text_column), limit)


def open_dataset(
    dataset: str | None = None,
    *,
    dataset_config: str | None = None,
    split: str = "train",
    data_files: Iterable[str] | str = (),
    streaming: bool = False,
):
    """The `datasets.Dataset` (or `IterableDataset` when streaming) that `load_texts` reads its column from.

    Raises:
        DataError: If the data cannot be found or read.
    """
    files = [data_files] if isinstance(data_files, (str, os.PathLike)) else [str(f) for f in data_files]
    if files:
        return _load_files(files, streaming)
    if dataset is None:
        return _load_shipped(split, streaming)
    if Path(dataset).expanduser().is_dir():
        return _load_folder(Path(dataset).expanduser(), split)
    if Path(dataset).expanduser().is_file():
        return _load_files([dataset], streaming)
    if _looks_like_path(dataset):
        raise DataError(f"No file or folder at {dataset!r}. Check the path, or pass a hub dataset name.")
    return _load_hub(dataset, dataset_config, split, streaming)


def _looks_like_path(name: str) -> bool:
    """Hub names look like "name" or "owner/name"; anything else is meant as a path."""
    return name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name or _suffix(name) in BUILDERS


def _suffix(path: str) -> str:
    """Return the data suffix of a file name, ignoring a compression suffix."""
    suffixes = [suffix.lower() for suffix in Path(path).suffixes]
    if suffixes and suffixes[-1] in COMPRESSION_SUFFIXES:
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def _load_files(files: list[str], streaming: bool):
    missing = [file for file in files if not Path(file).expanduser().is_file()]
    if missing:
        raise DataError(f"Data file(s) not found: {', '.join(missing)}. Check the --data-files paths.")
    unknown = [file for file in files if _suffix(file) not in BUILDERS]
    if unknown:
        raise DataError(f"Cannot tell the format of {', '.join(unknown)} from its extension; use {LOCAL_HINT}.")
    choices = {(BUILDERS[_suffix(file)][0], _suffix(file) == ".tsv") for file in files}
    if len(choices) > 1:
        raise DataError(f"The data files mix formats ({', '.join(files)}); pass files of one format at a time.")
    builder, options = BUILDERS[_suffix(files[0])]
    paths = [str(Path(file).expanduser().resolve()) for file in files]
    try:
        return datasets.load_dataset(
            builder, data_files={"train": paths}, split="train", streaming=streaming, **options
        )
    except Exception as error:  # the builders raise many types; all mean "this file cannot be read"
        raise DataError(
            f"Could not read {', '.join(files)} as {builder} ({type(error).__name__}: {error}). "
            "Check that the file is valid UTF-8 text in that format."
        ) from error


def _load_shipped(split: str, streaming: bool):
    if split not in SHIPPED_SPLITS:
        raise DataError(f"The shipped corpus has splits {', '.join(SHIPPED_SPLITS)}; got {split!r}.")
    path = SHIPPED_CORPUS_DIR / f"{split}.txt.gz"
    if not path.is_file():
        raise DataError(
            f"The shipped corpus file {path} is missing. Rebuild it with `python -m training.corpus`, "
            f"or point --dataset / --data-files at {LOCAL_HINT}."
        )
    return _load_files([str(path)], streaming)


def split_files(path: Path) -> dict[str, Path]:
    """A folder of split files (`train.jsonl.gz`, `test.txt`, ...: a split name and a data suffix), by split."""
    found = {}
    for file in sorted(path.iterdir()) if path.is_dir() else ():
        name = file.name.split(".", 1)[0]
        if file.is_file() and name and _suffix(file.name) in BUILDERS:
            found.setdefault(name, file)
    return found


def has_split(dataset: str | None, split: str) -> bool:
    """Whether a local folder dataset (split files or `save_to_disk`) has `split`; False for anything else."""
    if dataset is None or not Path(dataset).expanduser().is_dir():
        return False
    path = Path(dataset).expanduser()
    if (path / "dataset_dict.json").exists():
        return split in json.loads((path / "dataset_dict.json").read_text(encoding="utf-8")).get("splits", [])
    return split in split_files(path)


def has_column(dataset: str | None, split: str, column: str) -> bool:
    """Whether a local dataset (`dataset` a folder or file) has `column`; False for the shipped corpus and the hub."""
    if dataset is None or not Path(dataset).expanduser().exists():
        return False
    try:
        return column in _string_columns(open_dataset(dataset, split=split))[0]
    except DataError:
        return False


def _load_folder(path: Path, split: str):
    by_split = split_files(path)
    if by_split and not (path / "dataset_dict.json").exists() and not (path / "state.json").exists():
        if split not in by_split:
            raise DataError(f"The folder {str(path)!r} has split files {', '.join(by_split)}; got split {split!r}.")
        return _load_files([str(by_split[split])], streaming=False)
    if not any((path / name).exists() for name in ("dataset_dict.json", "dataset_info.json", "state.json")):
        raise DataError(
            f"{str(path)!r} is a folder but neither one written by Dataset.save_to_disk nor one of split files "
            "(train.jsonl.gz, test.txt, ...). "
            f"Pass the files inside it with --data-files instead ({LOCAL_HINT})."
        )
    try:
        loaded = datasets.load_from_disk(str(path))
    except Exception as error:
        raise DataError(
            f"Could not load the saved dataset at {str(path)!r} ({type(error).__name__}: {error})."
        ) from error
    if isinstance(loaded, datasets.DatasetDict):
        if split not in loaded:
            raise DataError(f"The saved dataset at {str(path)!r} has splits {', '.join(loaded)}; got {split!r}.")
        loaded = loaded[split]
    return loaded


def _load_hub(name: str, dataset_config: str | None, split: str, streaming: bool):
    try:
        return datasets.load_dataset(name, dataset_config, split=split, streaming=streaming)
    except datasets.exceptions.DatasetNotFoundError as error:
        raise DataError(
            f"There is no dataset {name!r} on the Hugging Face hub, or it is private ({error}). "
            f"Check the name, or point --dataset / --data-files at {LOCAL_HINT}."
        ) from error
    except (ConnectionError, TimeoutError) as error:
        raise _unreachable(name, error) from error
    except Exception as error:
        message = str(error)
        if "offline" in message.lower() or "connect" in message.lower() or isinstance(error, OSError):
            raise _unreachable(name, error) from error
        if "split" in message.lower() or "config" in message.lower():
            raise DataError(
                f"Could not load dataset {name!r} (config {dataset_config!r}, split {split!r}): {message}"
            ) from error
        raise DataError(
            f"Could not load dataset {name!r} from the Hugging Face hub ({type(error).__name__}: {message})."
        ) from error


def _unreachable(name: str, error: BaseException) -> DataError:
    return DataError(
        f"Could not reach the Hugging Face hub for dataset {name!r} ({type(error).__name__}: {error}). "
        f"Check your connection, or point --dataset / --data-files at {LOCAL_HINT}."
    )


def _string_columns(loaded) -> tuple[list[str], list[str]]:
    """Return (all columns, string columns), peeking at a row when features are unknown."""
    features = loaded.features
    if features is None:  # streaming datasets may not know their features up front
        first = next(iter(loaded), {})
        return list(first), [name for name, value in first.items() if isinstance(value, str)]
    string_types = ("string", "large_string")
    names = list(features)
    return names, [name for name in names if getattr(features[name], "dtype", None) in string_types]


def text_column_name(loaded, text_column: str | None = None) -> str:
    """`text_column` if `loaded` has it, else its only string column.

    Raises:
        DataError: the column is missing, or there is not exactly one string column to choose.
    """
    columns, string_columns = _string_columns(loaded)
    if text_column is None:
        if len(string_columns) > 1 and "text" in string_columns:
            return "text"  # the usual name (a mix's rows are {"text", "source"})
        if len(string_columns) != 1:
            found = ", ".join(string_columns) if string_columns else "none"
            raise DataError(
                f"Cannot tell which column holds the text: string columns are {found} (all columns: "
                f"{', '.join(columns)}). Pass text_column (--text-column) to choose one."
            )
        return string_columns[0]
    if text_column not in columns:
        raise DataError(f"There is no column {text_column!r}; the columns are {', '.join(columns)}. Pass one of them.")
    return text_column


def _extract_column(loaded, text_column: str, limit: int | None) -> list[str]:
    if isinstance(loaded, datasets.Dataset):
        if limit is not None:
            loaded = loaded.select(range(min(limit, len(loaded))))
        values = loaded.select_columns([text_column])[:][text_column]
    else:
        values = [row[text_column] for row in itertools.islice(loaded, limit)]
    texts = []
    for value in values:
        if value is not None and not isinstance(value, str):
            raise DataError(
                f"Column {text_column!r} holds {type(value).__name__} values, not text. Pick a text column."
            )
        texts.append(value or "")
    return texts
