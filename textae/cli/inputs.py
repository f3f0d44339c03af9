"""What the `python -m textae` commands read: sentences from arguments or stdin, text files and datasets.

Everything here runs before the model is loaded, so bad input fails fast. Text files are read lazily
where a command can stream them (`encode`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from textae.cli.text import UsageError
from textae.text import attributes


def read_lines(source: str) -> list[tuple[int, str]]:
    """`(line number, text)` of the non-blank lines of a file, or of stdin for '-'."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise UsageError(f"no such file: {source}") from error
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read {source}: {error}") from error
    lines = [(number, line.strip()) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not lines:
        raise UsageError(f"{'stdin' if source == '-' else source} has no text: give one sentence per line.")
    return lines


def sentences(args) -> list[tuple[str, str]]:
    """`(label, text)` of each sentence: "sentence N" for arguments, "line N" for stdin."""
    if args.sentences:
        return [(f"sentence {number}", text) for number, text in enumerate(args.sentences, 1)]
    if sys.stdin.isatty():
        raise UsageError("no sentences given: pass them as arguments or pipe them in, one per line.")
    return [(f"line {number}", text) for number, text in read_lines("-")]


def groups(args) -> tuple[list[str], list[str]]:
    """Groups A and B of `arithmetic`: a shipped pair, or two files."""
    if args.pair and (args.group_a or args.group_b):
        raise UsageError("give either --pair or --from and --to, not both.")
    if args.pair:
        return attributes.load(args.pair)
    if not (args.group_a and args.group_b):
        raise UsageError(f"give --pair ({', '.join(attributes.PAIRS)}) or both --from A.txt and --to B.txt.")
    return [text for _, text in read_lines(args.group_a)], [text for _, text in read_lines(args.group_b)]


def encode_source(args) -> None:
    """Check `encode`'s input and output options; set `args.total` and a lazy reader of its texts."""
    if sum(map(bool, (args.input, args.data_files, args.dataset))) != 1:
        raise UsageError("give one input: --input FILE (or - for stdin), --data-files FILE..., or --dataset NAME.")
    if (args.output is None) == (args.output_dataset is None):
        raise UsageError("give one output: --output FILE (.npy or .parquet) or --output-dataset DIR.")
    if args.output is not None and args.output.suffix not in (".npy", ".parquet"):
        raise UsageError(f"--output must end in .npy or .parquet; got {args.output.name!r}.")
    if args.line_numbers and not args.input:
        raise UsageError("--line-numbers goes with --input (dataset rows are numbered by their position).")
    if args.input:
        if args.output_dataset:
            raise UsageError("--output-dataset needs a dataset input (--data-files or --dataset).")
        if args.input == "-":
            lines = read_lines("-")  # standard input cannot be read twice
            args.numbers, args.total = [number for number, _ in lines], len(lines)
            args.read_texts = lambda: (text for _, text in lines)
        else:
            numbers = [number for number, _ in stream_lines(args.input)]  # a first pass counts, in bounded memory
            if not numbers:
                raise UsageError(f"{args.input} has no text: give one sentence per line.")
            args.numbers, args.total = numbers, len(numbers)
            args.read_texts = lambda: (text for _, text in stream_lines(args.input))
        return
    from textae import data

    if not sys.stderr.isatty():  # the progress bars of datasets, piped, are noise in a log
        import datasets

        datasets.disable_progress_bars()
    try:
        loaded = data.open_dataset(
            args.dataset, dataset_config=args.dataset_config, split=args.split, data_files=args.data_files or ()
        )
        args.column = data.text_column_name(loaded, args.text_column)
    except data.DataError as error:
        raise UsageError(str(error)) from error
    if not hasattr(loaded, "__len__"):
        raise UsageError("a streamed dataset has no known length; encode a downloaded one.")
    args.loaded, args.total, args.numbers = loaded, len(loaded), None
    args.read_texts = lambda: (text for batch in loaded.iter(batch_size=4096) for text in batch[args.column])


def stream_lines(source: str):
    """`(line number, text)` of the non-blank lines of a file, read lazily."""
    try:
        with open(source, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if line.strip():
                    yield number, line.strip()
    except FileNotFoundError as error:
        raise UsageError(f"no such file: {source}") from error
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read {source}: {error}") from error
