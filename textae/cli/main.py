"""Command line of `python -m textae`: parse arguments, call `TextAE`, print results.

Every user error (missing model, no input, bad option values) ends with one
`textae: error: ...` line on stderr and exit status 2; anything unexpected with
one line and status 1 (set TEXTAE_DEBUG=1 for the traceback). `reconstruct`,
`encode` and `score` are batch jobs: a bad line (empty, over-long) does not stop
them. Each is reported on stderr (`textae: line 3 is 61 tokens long; ...`) and,
with --json, as an `{"input", "error"}` record in its place; every input keeps
its place in the output (an empty line, a NaN score, a NaN row of vectors), and
the exit status is 2 when any input failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from textae import __version__, hub, quiet
from textae.bundle import BundleError, json_default, shipped_model_dir
from textae.cli import hub as hub_commands
from textae.cli import inputs as command_inputs
from textae.cli import series as series_commands
from textae.cli import text as commands
from textae.cli.text import UsageError
from textae.text import attributes

USER_ERROR, UNEXPECTED_ERROR = 2, 1


def _add_model(parser):
    parser.add_argument(
        "--model",
        default=None,
        help=f"model folder or hf://OWNER/NAME (default: $TEXTAE_MODEL, else {shipped_model_dir()})",
    )
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.add_argument("--verbose", action="store_true", help=quiet.VERBOSE_HELP)


def _add_decoding(parser):
    group = parser.add_argument_group("decoding")
    group.add_argument("--method", choices=("greedy", "beam", "sample"), default="greedy", help="decoding method")
    group.add_argument("--beam-width", type=int, default=4, help="beams per sentence (--method beam)")
    group.add_argument(
        "--length-penalty", type=float, default=0.6, help="beam: GNMT alpha; beams ranked by score / length penalty"
    )
    group.add_argument("--temperature", type=float, default=1.0, help="sample: divides the logits (below 1: safer)")
    group.add_argument("--top-k", type=int, default=0, help="sample among the k most likely tokens (0: off)")
    group.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling mass (1: off)")
    group.add_argument("--max-length", type=int, default=64, help="most tokens per sentence")
    group.add_argument("--seed", type=int, default=None, help="makes sampling reproducible")
    group.add_argument(
        "--correction-steps", type=int, default=1,
        help="re-encode the output and correct the latent this many times, keeping the candidate whose "
        "re-encoding is nearest the latent (0: plain decoding; each step costs about one more decode; see README)",
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="textae",
        description="Use a trained textae autoencoder (sentences, or numeric series with `detect`).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"textae {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    command = subparsers.add_parser("reconstruct", help="encode and decode sentences")
    command.add_argument("sentences", nargs="*", metavar="SENTENCE", help="default: one per line on stdin")
    _add_model(command)
    _add_decoding(command)

    command = subparsers.add_parser("interpolate", help="decode points on the path between two sentences")
    command.add_argument("a", metavar="A")
    command.add_argument("b", metavar="B")
    command.add_argument("--steps", type=int, default=8, help="points on the path, both ends included")
    command.add_argument("--interpolation", choices=("slerp", "lerp"), default="slerp", help="path shape")
    _add_model(command)
    _add_decoding(command)

    command = subparsers.add_parser("encode", help="write the latent vectors of many sentences, in bounded memory")
    group = command.add_argument_group("input (one of)")
    group.add_argument("--input", help="text file, one sentence per line ('-': stdin)")
    group.add_argument("--data-files", nargs="+", help="local .txt/.csv/.tsv/.json/.jsonl/.parquet files")
    group.add_argument("--dataset", help="Hugging Face hub dataset name or save_to_disk folder")
    group.add_argument("--dataset-config", help="hub dataset configuration")
    group.add_argument("--split", default="train", help="dataset split")
    group.add_argument("--text-column", help="column holding the text (detected when there is one string column)")
    group = command.add_argument_group("output (one of)")
    group.add_argument("--output", type=Path, help=".npy: the (N, Z) float32 array; .parquet: row, text, vector")
    group.add_argument("--output-dataset", type=Path, help="save_to_disk folder: the dataset with a vector column")
    command.add_argument(
        "--line-numbers",
        type=Path,
        help="with --input: write the input line number of each row (blank lines have none)",
    )
    _add_model(command)

    command = subparsers.add_parser("score", help="anomaly score: reconstruction loss per token")
    command.add_argument("sentences", nargs="*", metavar="SENTENCE", help="default: one per line on stdin")
    _add_model(command)

    command = subparsers.add_parser(
        "neighbours", aliases=["neighbors"], help="the most similar sentences in latent space"
    )
    command.add_argument("query", metavar="QUERY")
    command.add_argument("--candidates", help="text file, one sentence per line (default: the model's latents.npz)")
    command.add_argument("-k", type=int, default=5, help="how many neighbours")
    _add_model(command)

    command = subparsers.add_parser(
        "arithmetic", help="move sentences along an attribute direction, mean(z_B) - mean(z_A) (Shen et al. 2020)"
    )
    command.add_argument("sentences", nargs="*", metavar="SENTENCE", help="default: one per line on stdin")
    command.add_argument("--pair", choices=list(attributes.PAIRS), help="a shipped pair of groups (assets/attributes)")
    command.add_argument("--from", dest="group_a", help="group A: text file, one sentence per line")
    command.add_argument("--to", dest="group_b", help="group B: text file, one sentence per line")
    command.add_argument("--strength", type=float, nargs="+", default=[1.0], help="how far to move, times the vector")
    _add_model(command)
    _add_decoding(command)

    command = subparsers.add_parser("export", help="write the model as a TensorFlow SavedModel for serving")
    command.add_argument("--output", required=True, type=Path, help="the SavedModel folder to create")
    command.add_argument("--max-length", type=int, default=64, help="most tokens decode emits per sentence")
    command.add_argument(
        "--text-signatures", action="store_true",
        help="also encode_text and reconstruct_text on raw strings: needs tensorflow-text to write, and the "
        "TensorFlow Text ops to load (a TF Serving build that links them); the default needs only TensorFlow",
    )  # fmt: skip
    _add_model(command)

    command = subparsers.add_parser("sample", help="decode random latent vectors")
    command.add_argument("-n", type=int, default=5, help="how many sentences")
    command.add_argument("--around", help="sample near this sentence (needed for deterministic models)")
    command.add_argument("--radius", type=float, default=0.5, help="distance from --around, times its norm")
    _add_model(command)
    _add_decoding(command)

    series_commands.add_parser(subparsers)
    hub_commands.add_parser(subparsers)
    for command in subparsers.choices.values():  # every command's --help shows its defaults
        command.formatter_class = argparse.ArgumentDefaultsHelpFormatter
    return parser


def _settings(args):
    from textae.text.decoding import DecodingSettings

    settings = DecodingSettings(
        method=args.method,
        max_length=args.max_length,
        beam_width=args.beam_width,
        length_penalty=args.length_penalty,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        seed=args.seed,
        correction_steps=args.correction_steps,
    )
    settings.validate()
    return settings


def _load(args):
    """Load the model (and TensorFlow) quietly."""
    from textae.text.bundle import load_bundle

    with quiet.unless_verbose():
        # load_bundle checks the folder, its files, config and tokenizer before it imports Keras, so a bad
        # --model fails fast; the stderr it quietens is restored before main() prints the error.
        loaded = load_bundle(hub.model_folder(args.model))
        from textae.text.autoencoder import TextAE

        return TextAE(loaded)


def _print_json(value) -> None:
    print(json.dumps(value, ensure_ascii=False, default=json_default))


def run(args) -> int:
    """Carry out one parsed command: check the input, load the model, print the result.

    Returns the number of input lines that failed (reconstruct, encode and score go on past a bad
    line: each is reported on stderr and, with --json, as a record with an `error` field).
    """
    if args.command == "detect":
        series_commands.detect(args)
        return 0
    if args.command == "push":
        hub_commands.push(args)
        return 0
    labelled = None
    if hasattr(args, "sentences"):
        labelled = command_inputs.sentences(args)  # arguments, or stdin read before the slow model load
    elif args.command == "encode":
        command_inputs.encode_source(args)  # checked (and a text file counted) before the slow model load
    args.lines = None
    if args.command == "arithmetic":
        args.groups = command_inputs.groups(args)  # read before the slow model load
    if args.command == "neighbours" and args.candidates:
        args.lines = [text for _, text in command_inputs.read_lines(args.candidates)]
    autoencoder = _load(args)
    settings = _settings(args) if hasattr(args, "method") else None
    problems = []
    if labelled is not None:
        args.labels, args.texts = [label for label, _ in labelled], [text for _, text in labelled]
        problems = autoencoder.check(args.texts, errors="skip").problems
        for label, problem in zip(args.labels, problems):
            if problem is not None:
                print(f"textae: {label} {problem}", file=sys.stderr)
    data, lines = commands.COMMANDS[args.command](autoencoder, args, settings)
    for label, problem in getattr(args, "failures", []):  # found while encoding in chunks
        problems.append(problem)
        print(f"textae: {label} {problem}", file=sys.stderr)
    if args.json:
        if isinstance(data, list) and labelled is not None:  # a record for every input, failed ones included
            data = [
                {"input": text, "error": f"{label} {problem}"} if problem is not None else record
                for record, problem, label, text in zip(data, problems, args.labels, args.texts)
            ]
        _print_json(data)
    else:
        print("\n".join(lines))
    return sum(problem is not None for problem in problems)


def main(argv=None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    if args.command == "neighbors":  # the American spelling is an alias
        args.command = "neighbours"
    # TensorFlow starts only now: --help, --version and argument errors answer at once. Started here, before a
    # command imports it, its C++ start-up lines stay hidden.
    quiet.start_tensorflow(argv=sys.argv[1:] if argv is None else list(argv))
    try:
        failed = run(args)
    except (BundleError, UsageError, ValueError) as error:  # InputError is a ValueError
        print(f"textae: error: {_one_line(error)}", file=sys.stderr)
        return USER_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # e.g. `| head`: stop quietly
        return 0
    except Exception as error:  # one line instead of a traceback
        if os.environ.get("TEXTAE_DEBUG"):
            raise
        hint = "set TEXTAE_DEBUG=1 to see the traceback"
        print(f"textae: error: unexpected {type(error).__name__}: {_one_line(error)} ({hint})", file=sys.stderr)
        return UNEXPECTED_ERROR
    if failed:
        total = args.total if args.command == "encode" else len(args.texts)
        print(f"textae: error: {failed} of {total} inputs failed (see above); the others were processed.",
              file=sys.stderr)  # fmt: skip
        return USER_ERROR
    return 0


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
