"""What each `python -m textae` command does with a loaded model and its parsed arguments.

Each returns `(data, lines)`: what `--json` prints, and the text lines printed otherwise. The parser,
the input reading and the error handling are in `textae/cli.py`.
"""

from __future__ import annotations

import contextlib
import json
import sys

import numpy as np

from textae import quiet


class UsageError(ValueError):
    """Wrong input given on the command line."""


def reconstruct(autoencoder, args, settings):
    results = autoencoder.reconstruct(args.texts, settings, errors="skip")
    keys = ("input", "output", "exact_match", "bleu", "anomaly_score", "pieces", "token_probabilities")
    records = [None if r is None else {key: getattr(r, key) for key in keys} for r in results]
    return records, ["" if r is None else r.output for r in results]  # one output line per input line


def interpolate(autoencoder, args, settings):
    path = autoencoder.interpolate(args.a, args.b, args.steps, args.interpolation, settings)
    keys = ("position", "text", "duplicate_of_previous", "vector")
    return [{key: getattr(s, key) for key in keys} for s in path], [f"{s.position:.2f}\t{s.text}" for s in path]


def encode(autoencoder, args, settings):
    from textae.text import bulk

    label = (lambda index: f"line {args.numbers[index]}") if args.numbers else (lambda index: f"row {index + 1}")
    with _progress(args.total) as bar:
        if args.output_dataset:
            _, failed = bulk.encode_dataset(autoencoder, args.loaded, args.column, args.output_dataset)
            where = args.output_dataset
        else:
            failed = bulk.encode_to_file(autoencoder, args.read_texts(), args.total, args.output, progress=bar).failed
            where = args.output
    if args.line_numbers:
        args.line_numbers.write_text("".join(f"{number}\n" for number in args.numbers), encoding="utf-8")
    args.failures = [(label(index), problem) for index, problem in failed]
    summary = {"output": str(where), "count": args.total, "failed": len(failed), "latent_dim": autoencoder.latent_dim}
    note = f" ({len(failed)} NaN rows for the inputs that failed)" if failed else ""
    return summary, [f"wrote {args.total} vectors of size {autoencoder.latent_dim} to {where}{note}"]


@contextlib.contextmanager
def _progress(total: int):
    """A progress bar's `update` on a terminal (sentences per second, time left); None when piped."""
    if not sys.stderr.isatty():
        yield None
        return
    from tqdm.auto import tqdm

    with tqdm(total=total, unit=" sentences", file=sys.stderr) as bar:
        yield bar.update


def score(autoencoder, args, settings):
    scores = autoencoder.score(args.texts, errors="skip").tolist()  # NaN for a line that failed
    pairs = list(zip(args.texts, scores))
    records = [None if np.isnan(s) else {"text": t, "anomaly_score": s} for t, s in pairs]
    return records, [f"{s:.4f}\t{t}" for t, s in pairs]


def neighbours(autoencoder, args, settings):
    found = autoencoder.neighbours(args.query, args.lines, k=args.k)
    return [{"text": t, "similarity": s} for t, s in found], [f"{s:.4f}\t{t}" for t, s in found]


def sample(autoencoder, args, settings):
    texts = autoencoder.sample(args.n, args.around, args.radius, settings, seed=args.seed)
    return texts, texts


def arithmetic(autoencoder, args, settings):
    groups = []
    for name, group in zip(("A", "B"), args.groups):
        checked = autoencoder.check(group, errors="skip")
        if len(checked.usable) < len(group):
            print(f"textae: skipped {len(group) - len(checked.usable)} sentences of group {name} the model cannot "
                  "take", file=sys.stderr)  # fmt: skip
        if not checked.usable:
            raise UsageError(f"group {name} has no sentence the model can take.")
        groups.append(checked.usable_texts)
    vector = autoencoder.offset(*groups)
    usable = autoencoder.check(args.texts, errors="skip").usable
    moved = dict(
        zip(usable, autoencoder.apply_offset([args.texts[i] for i in usable], vector, args.strength, settings))
    )
    records, lines = [], []
    for index, text in enumerate(args.texts):
        if index not in moved:
            records.append(None)
            continue
        outputs = [{"strength": k, "output": output} for k, output in zip(args.strength, moved[index])]
        records.append({"input": text, "outputs": outputs})
        lines += [text, *(f"  {item['strength']:+g}\t{item['output']}" for item in outputs)]
    return records, lines


def export_model(autoencoder, args, settings):
    from textae.text import export

    if args.max_length < 1:
        raise UsageError(f"--max-length must be at least 1, got {args.max_length}.")
    with quiet.unless_verbose():  # TensorFlow logs every traced function while writing
        path = export.export(autoencoder, args.output, max_length=args.max_length, text_signatures=args.text_signatures)
    info = json.loads((path / export.INFO_FILE).read_text(encoding="utf-8"))
    summary = {"output": str(path), **info}
    return summary, [f"wrote a SavedModel with signatures {', '.join(info['signatures'])} to {path}"]


COMMANDS = {
    "reconstruct": reconstruct,
    "interpolate": interpolate,
    "encode": encode,
    "score": score,
    "neighbours": neighbours,
    "sample": sample,
    "arithmetic": arithmetic,
    "export": export_model,
}
