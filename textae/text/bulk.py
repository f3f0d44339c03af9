"""Encoding whole datasets in bounded memory: chunks through `TextAE.encode`, vectors written as they come.

`encode_to_file` writes a `.npy` array (through a memory map, one row per input, NaN rows for inputs the
model cannot take) or a Parquet file (`row`, `text`, `vector`), into a temporary file renamed into place
at the end, so a killed job leaves no half-written output. `encode_dataset` adds a vector column to a
Hugging Face dataset with `Dataset.map(batched=True)` and `save_to_disk`, so the vectors stay next to
the rows they came from.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

CHUNK = 4096  # sentences per call of TextAE.encode
FORMATS = (".npy", ".parquet")


@dataclasses.dataclass
class Report:
    """What an encoding job did."""

    count: int  # inputs read
    failed: list[tuple[int, str]]  # (input index, why the model cannot take it)
    seconds: float

    @property
    def sentences_per_second(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else float("inf")


def chunks(texts: Iterable, size: int = CHUNK) -> Iterator[list]:
    """Lists of at most `size` items of `texts`, in order."""
    iterator = iter(texts)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _encode_chunk(autoencoder, chunk: list, start: int, failed: list) -> np.ndarray:
    checked = autoencoder.check(chunk, errors="skip")
    failed += [(start + index, problem) for index, problem in enumerate(checked.problems) if problem is not None]
    return autoencoder.encode(checked, errors="skip")  # NaN rows where a line has a problem


def encode_to_file(
    autoencoder, texts: Iterable, count: int, output, chunk: int = CHUNK, progress: Callable[[int], None] | None = None
) -> Report:
    """Encode `count` texts into `output` (`.npy` or `.parquet`), `chunk` at a time.

    Args:
        autoencoder: a `TextAE`.
        texts: the inputs, in order (any iterable: a generator keeps memory bounded).
        count: how many `texts` yields (the `.npy` array is allocated up front).
        output: the file to write; its suffix chooses the format.
        chunk: inputs per encoding call.
        progress: called with the number of inputs done after each chunk (a progress bar's `update`).
    """
    output = Path(output)
    if output.suffix not in FORMATS:
        raise ValueError(f"--output must end in {' or '.join(FORMATS)}; got {output.name!r}.")
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(f".{output.name}.tmp-{os.getpid()}{output.suffix}")
    started, failed, done = time.perf_counter(), [], 0
    writer = _NpyWriter(temporary, count, autoencoder.latent_dim) if output.suffix == ".npy" else None
    writer = writer or _ParquetWriter(temporary, autoencoder.latent_dim)
    try:
        for part in chunks(texts, chunk):
            if done + len(part) > count:
                raise ValueError(f"More than the {count} inputs announced were given.")
            writer.write(done, part, _encode_chunk(autoencoder, part, done, failed))
            done += len(part)
            if progress is not None:
                progress(len(part))
        if done != count:
            raise ValueError(f"{count} inputs were announced but {done} were given.")
        writer.close()
        os.replace(temporary, output)
    except BaseException:
        writer.abort()
        temporary.unlink(missing_ok=True)
        raise
    return Report(count=done, failed=failed, seconds=time.perf_counter() - started)


class _NpyWriter:
    def __init__(self, path: Path, count: int, width: int):
        self.array = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(count, width))

    def write(self, start: int, texts: list, vectors: np.ndarray) -> None:
        self.array[start : start + len(vectors)] = vectors

    def close(self) -> None:
        self.array.flush()
        del self.array

    def abort(self) -> None:
        self.array = None


class _ParquetWriter:
    def __init__(self, path: Path, width: int):
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.pa = pa
        self.schema = pa.schema([("row", pa.int64()), ("text", pa.string()), ("vector", pa.list_(pa.float32(), width))])
        self.writer = pq.ParquetWriter(path, self.schema)

    def write(self, start: int, texts: list, vectors: np.ndarray) -> None:
        pa = self.pa
        width = vectors.shape[1]
        vector_column = pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1), pa.float32()), width)
        rows = pa.array(np.arange(start, start + len(texts)), pa.int64())
        text_column = pa.array([text if isinstance(text, str) else None for text in texts], pa.string())
        self.writer.write_table(pa.Table.from_arrays([rows, text_column, vector_column], schema=self.schema))

    def close(self) -> None:
        self.writer.close()

    def abort(self) -> None:
        self.writer.close()


def encode_dataset(autoencoder, loaded, text_column: str, output_dir, chunk: int = CHUNK, vector_column="vector"):
    """`loaded` (a `datasets.Dataset`) with a `vector_column` of latents, saved with `save_to_disk`.

    Rows the model cannot take get a vector of NaN. Returns `(the new dataset, [(row, why it failed)])`.
    """
    if vector_column in loaded.column_names:
        raise ValueError(f"The dataset already has a column {vector_column!r}; name the new one differently.")
    failed: dict[int, str] = {}  # by row: a batch seen twice (datasets may try one first) counts once

    def add_vectors(batch, indices):
        problems: list = []
        vectors = _encode_chunk(autoencoder, batch[text_column], indices[0], problems)
        failed.update(problems)
        return {vector_column: list(vectors)}

    mapped = loaded.map(  # a fresh fingerprint: hashing the function would mean pickling the model
        add_vectors, batched=True, batch_size=chunk, with_indices=True, new_fingerprint=uuid.uuid4().hex,
        load_from_cache_file=False, desc="encoding",
    )  # fmt: skip
    mapped.save_to_disk(str(output_dir))
    return mapped, sorted(failed.items())
