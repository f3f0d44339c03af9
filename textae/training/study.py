"""python -m training.study: the recipe study, short training probes at equal wall time.

    python -m training.study --minutes 8 --output runs/study            # every probe, one after another
    python -m training.study --minutes 8 --output runs/study baseline h512
    python -m training.study --output runs/study --table                 # the table of what has run

Each probe is `python -m training.train` with the study's baseline (BASELINE_FLAGS: the `default`
preset before the study) and a few flags changed (PROBES), run
for `--minutes` of training time (data preparation not counted) on the shipped corpus. Probes run
one at a time: two on two cores would measure each other. Every probe is then measured on the
same fixed validation sample, by sentence length in *words* (tokenizers differ between probes,
so token buckets would hold different sentences), and its row is appended to `results.jsonl`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from textae import quiet  # noqa: E402
from textae.training import program_name  # noqa: E402

quiet.start_tensorflow()  # before anything imports TensorFlow: its C++ start-up lines stay hidden

WORD_BUCKETS = [(1, 5), (6, 10), (11, 15), (16, 20)]  # the shipped corpus keeps 1 to 20 words

# Every probe starts from the study's baseline, the `default` preset as it was before the study (it has
# changed since to the study's choice), in float32 (auto would differ by CPU).
BASELINE_FLAGS = [
    "--latent-dim", "256", "--sampling-schedule", "inverse_sigmoid", "--sampling-k", "2000", "--mixed-precision", "off",
]  # fmt: skip

# name -> flags on top of the baseline.
PROBES: dict[str, list[str]] = {
    "baseline": [],
    "teacher-forcing": ["--sampling-schedule", "constant", "--sampling-k", "1"],
    "h512": ["--hidden-dim", "512"],
    "z512": ["--latent-dim", "512"],
    "v8k": ["--vocab-size", "8000"],
    "v16k": ["--vocab-size", "16000"],
    "layers2": ["--num-layers", "2"],
    "gru": ["--cell-type", "gru"],
    "reverse": ["--reverse-encoder-input"],
    "lr4e-3": ["--learning-rate", "4e-3"],
    "batch64": ["--batch-size", "64"],
    "batch256": ["--batch-size", "256"],
    # Warm-up, then cosine decay over about the steps an 8-minute baseline probe takes.
    "cosine": ["--learning-rate-schedule", "cosine", "--warmup-steps", "200", "--decay-steps", "1600"],
    "label-smoothing": ["--label-smoothing", "0.1"],
    "bfloat16": ["--mixed-precision", "bfloat16"],
    # Combinations of the winners above.
    "tf-z512": ["--sampling-schedule", "constant", "--sampling-k", "1", "--latent-dim", "512"],
    # The chosen `default` preset, with bfloat16 as auto picks it on CPUs with bfloat16 units.
    "recipe": "--sampling-schedule constant --sampling-k 1 --latent-dim 512 --mixed-precision bfloat16".split(),
}


def run_probe(name: str, flags: list[str], minutes: float, output: Path) -> dict:
    """Train one probe, measure it, append its row to `output/results.jsonl` and return it."""
    run = output / name
    command = [
        sys.executable, "-m", "textae.training.train", "--preset", "default", "--output", str(run), "--overwrite",
        "--epochs", "1000", "--early-stopping-patience", "0", "--max-minutes", str(minutes),
        *BASELINE_FLAGS, *flags,
    ]  # fmt: skip
    log = (output / f"{name}.log").open("w", encoding="utf-8")
    completed = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False)
    row = {"probe": name, "flags": " ".join(flags), "minutes": minutes, "returncode": completed.returncode}
    if completed.returncode == 0:
        row.update(measure_run(run))
    with (output / "results.jsonl").open("a", encoding="utf-8") as file:
        file.write(json.dumps(row) + "\n")
    return row


def measure_run(run: Path) -> dict:
    """Figures of a probe's bundle on the validation sample, by words, plus its training record."""
    from textae.text import bundle, pipeline
    from textae.training import curves, evaluate, inputs

    loaded = bundle.load_bundle(run / "model")
    config = loaded.config
    _, validation, _ = inputs.load_sentences(config)
    ids, report = pipeline.tokenize_texts(loaded.tokenizer, validation, min_tokens=1, max_tokens=config.data.max_tokens)
    kept = [validation[index] for index in report["kept_indices"]]
    words = [len(text.split()) for text in kept]
    results = evaluate.measure(
        loaded.model, loaded.tokenizer, ids, config.data.max_tokens, examples=0, lengths=words, buckets=WORD_BUCKETS
    )
    points = curves.read_curves(run / "logs")
    metrics = json.loads((run / "model" / "metrics.json").read_text(encoding="utf-8"))
    return {
        "epochs": metrics.get("epochs"),
        "steps": points[-1]["step"] if points else None,
        "parameters": loaded.model.count_params(),
        "tokens_per_sentence": sum(len(row) for row in ids) / len(ids),
        "loss": results["loss"],
        "exact_match": results["exact_match"],
        "bleu": results["bleu"],
        "by_words": {label: entry.get("exact_match") for label, entry in results["by_length"].items()},
        "bleu_by_words": {label: entry.get("bleu") for label, entry in results["by_length"].items()},
        "loss_by_words": {label: entry.get("loss") for label, entry in results["by_length"].items()},
        "sentences": len(ids),
    }


def table(rows: list[dict]) -> list[str]:
    """The probes as a Markdown table: exact match by words, and BLEU and loss for the longer sentences."""
    labels = [f"{low}-{high}" for low, high in WORD_BUCKETS]
    long = labels[-2:]
    dash = lambda label: label.replace("-", "–")  # noqa: E731
    lines = [
        "| probe | flags | epochs | steps | tokens/sentence | val. loss | exact match | BLEU | "
        + " | ".join(f"EM {dash(label)} words" for label in labels)
        + " | "
        + " | ".join(f"BLEU {dash(label)}" for label in long)
        + " | "
        + " | ".join(f"loss {dash(label)}" for label in long)
        + " |",
        "|---|---|---:|---:|---:|---:|---:|---:|" + "---:|" * (len(labels) + 2 * len(long)),
    ]

    def cell(values: dict, label: str, digits: int) -> str:
        value = (values or {}).get(label)
        return "–" if value is None else f"{value:.{digits}f}"

    for row in rows:
        if row.get("returncode"):
            lines.append(f"| {row['probe']} | `{row['flags']}` | failed (exit {row['returncode']}) |")
            continue
        epochs = row["epochs"] if row["epochs"] is not None else "–"
        cells = [cell(row["by_words"], label, 3) for label in labels]
        cells += [cell(row.get("bleu_by_words"), label, 1) for label in long]
        cells += [cell(row.get("loss_by_words"), label, 3) for label in long]
        lines.append(
            f"| {row['probe']} | `{row['flags'] or '(default)'}` | {epochs} | {row['steps']:,} "
            f"| {row['tokens_per_sentence']:.1f} | {row['loss']:.3f} | {row['exact_match']:.3f} | {row['bleu']:.1f} "
            f"| {' | '.join(cells)} |"
        )
    return lines


def read_results(output: Path) -> list[dict]:
    path = output / "results.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def draw_curves(specs: list[str], plot: Path, parser: argparse.ArgumentParser) -> int:
    """--curves NAME=RUN[@PACE] ...: one PNG comparing the runs' long-sentence curves (training.plots)."""
    from textae.training import curves, plots

    runs, paces = {}, {}
    for spec in specs:
        name, _, rest = spec.partition("=")
        run, _, pace = rest.partition("@")
        points = curves.read_curves(Path(run) / "logs")
        if not name or not points:
            parser.error(f"{spec!r}: give NAME=RUN with a run folder whose logs/curves.jsonl has points")
        runs[name] = points
        if pace:
            paces[name] = float(pace)
    if paces and set(paces) != set(runs):
        parser.error("give a pace (@SECONDS_PER_STEP) for every run or for none")
    plot.parent.mkdir(parents=True, exist_ok=True)
    plot.write_bytes(plots.compare_curves(runs, ("9-16", "17-24", "25-32"), paces or None))
    for name, points in runs.items():
        last = points[-1]
        figures = ", ".join(f"{b} {last['by_length'][b]['exact_match']:.3f}" for b in ("9-16", "17-24", "25-32"))
        print(f"{name}: step {last['step']:,}, {last['minutes']:.1f} min; exact match {figures}")
    print(f"wrote {plot}")
    return 0


def tokenizer_sizes(dataset: str, sizes: list[int]) -> list[str]:
    """--vocab-sizes: for each size, a tokenizer trained on the dataset's training split (as a run trains it) and
    the tokens per sentence of its validation split, overall, by source, and the share of long sentences."""
    import numpy as np

    from textae import data
    from textae.text.config import TokenizerConfig
    from textae.text.tokenizer import Tokenizer

    train = data.load_texts(dataset, split="train", text_column="text")
    texts = data.load_texts(dataset, split="validation", text_column="text")
    sources = data.load_texts(dataset, split="validation", text_column="source")
    names = sorted(set(sources))
    lines = [
        "| vocabulary | tokens/sentence | share 17+ | share 25+ | " + " | ".join(names) + " |",
        "|---:|---:|---:|---:|" + "---:|" * len(names),
    ]
    for size in sizes:
        tokenizer = Tokenizer.train(train[: TokenizerConfig().max_sentences], TokenizerConfig(vocab_size=size))
        lengths = np.array([len(ids) for ids in tokenizer.encode(texts)])
        by_source = [lengths[np.array(sources) == name].mean() for name in names]
        lines.append(
            f"| {size:,} | {lengths.mean():.2f} | {(lengths >= 17).mean():.3f} | {(lengths >= 25).mean():.3f} | "
            + " | ".join(f"{value:.1f}" for value in by_source)
            + " |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=program_name("study"), description=__doc__.split("\n\n")[0])
    parser.add_argument("--verbose", action="store_true", help=quiet.VERBOSE_HELP)
    parser.add_argument("probes", nargs="*", help=f"probes to run (default: all of {', '.join(PROBES)})")
    parser.add_argument("--minutes", type=float, default=8.0, help="training minutes per probe")
    parser.add_argument("--output", default="runs/study", help="folder of the probe runs and results.jsonl")
    parser.add_argument("--flags", nargs=argparse.REMAINDER, help="run one extra probe named by the first probe")
    parser.add_argument("--table", action="store_true", help="print the table of the results so far and stop")
    parser.add_argument("--remeasure", action="store_true", help="measure the finished probes' bundles again")
    parser.add_argument(
        "--curves", nargs="+", metavar="NAME=RUN[@SECONDS_PER_STEP]",
        help="draw the runs' validation curves side by side (17-24 and 25-32 tokens) into --plot and stop",
    )  # fmt: skip
    parser.add_argument("--plot", default="docs/study_curves.png", help="--curves: the PNG to write")
    parser.add_argument(
        "--vocab-sizes", nargs="+", type=int, metavar="SIZE",
        help="train a tokenizer of each size on --dataset's training split; print tokens per sentence and stop",
    )  # fmt: skip
    parser.add_argument("--dataset", default="data/mix", help="--vocab-sizes: a training.mix folder")
    args = parser.parse_args(argv)
    output = Path(args.output)
    if args.curves:
        return draw_curves(args.curves, Path(args.plot), parser)
    if args.vocab_sizes:
        print("\n".join(tokenizer_sizes(args.dataset, args.vocab_sizes)))
        return 0
    if args.remeasure:
        rows = [
            {**row, **measure_run(output / row["probe"])} if not row["returncode"] else row
            for row in read_results(output)
        ]
        (output / "results.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    if args.table or args.remeasure:
        print("\n".join(table(read_results(output))))
        return 0
    unknown = [name for name in args.probes if name not in PROBES and args.flags is None]
    if unknown:
        parser.error(f"unknown probe(s) {', '.join(unknown)}; known: {', '.join(PROBES)} (or give --flags)")
    if args.minutes <= 0:
        parser.error(f"--minutes must be positive, got {args.minutes}")
    output.mkdir(parents=True, exist_ok=True)
    if args.flags is not None:
        if len(args.probes) != 1:
            parser.error("--flags needs exactly one probe name before it")
        todo = {args.probes[0]: args.flags}
    else:
        todo = {name: PROBES[name] for name in (args.probes or PROBES)}
    for name, flags in todo.items():
        row = run_probe(name, flags, args.minutes, output)
        print(json.dumps(row), flush=True)
    print("\n".join(table(read_results(output))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
