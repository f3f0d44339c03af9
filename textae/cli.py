"""Command line of `python -m textae`: parse arguments, call `TextAE`, print results.

Every user error (missing model, empty or over-long input, bad option values)
ends with one `textae: error: ...` line on stderr and exit status 2; anything
unexpected with one line and status 1 (set TEXTAE_DEBUG=1 for the traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path

import numpy as np

from textae.bundle import BundleError, default_model_dir, json_default

USER_ERROR, UNEXPECTED_ERROR = 2, 1


class UsageError(ValueError):
    """Wrong input given on the command line."""


def _add_model(parser):
    parser.add_argument("--model", type=Path, default=None, help=f"model folder (default: {default_model_dir()})")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def _add_decoding(parser):
    group = parser.add_argument_group("decoding")
    group.add_argument("--method", choices=("greedy", "beam", "sample"), default="greedy", help="decoding method")
    group.add_argument("--beam-width", type=int, default=4)
    group.add_argument("--length-penalty", type=float, default=0.6)
    group.add_argument("--temperature", type=float, default=1.0)
    group.add_argument("--top-k", type=int, default=0, help="0: off")
    group.add_argument("--top-p", type=float, default=1.0, help="1: off")
    group.add_argument("--max-length", type=int, default=64, help="most tokens per sentence")
    group.add_argument("--seed", type=int, default=None, help="makes sampling reproducible")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="textae", description="Use a trained textae sentence autoencoder.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    command = commands.add_parser("reconstruct", help="encode and decode sentences")
    command.add_argument("sentences", nargs="*", metavar="SENTENCE", help="default: one per line on stdin")
    _add_model(command)
    _add_decoding(command)

    command = commands.add_parser("interpolate", help="decode points on the path between two sentences")
    command.add_argument("a", metavar="A")
    command.add_argument("b", metavar="B")
    command.add_argument("--steps", type=int, default=8, help="points on the path, both ends included")
    command.add_argument("--interpolation", choices=("slerp", "lerp"), default="slerp", help="path shape")
    _add_model(command)
    _add_decoding(command)

    command = commands.add_parser("encode", help="write the latent vectors of a file's lines to .npy")
    command.add_argument("--input", required=True, help="text file, one sentence per line ('-': stdin)")
    command.add_argument("--output", required=True, type=Path, help="where to write the (N, Z) float32 array")
    _add_model(command)

    command = commands.add_parser("score", help="anomaly score: reconstruction loss per token")
    command.add_argument("sentences", nargs="*", metavar="SENTENCE", help="default: one per line on stdin")
    _add_model(command)

    command = commands.add_parser("neighbours", help="the most similar sentences in latent space")
    command.add_argument("query", metavar="QUERY")
    command.add_argument("--candidates", help="text file, one sentence per line (default: the model's latents.npz)")
    command.add_argument("-k", type=int, default=5, help="how many neighbours")
    _add_model(command)

    command = commands.add_parser("sample", help="decode random latent vectors")
    command.add_argument("-n", type=int, default=5, help="how many sentences")
    command.add_argument("--around", help="sample near this sentence (needed for deterministic models)")
    command.add_argument("--radius", type=float, default=0.5, help="distance from --around, times its norm")
    _add_model(command)
    _add_decoding(command)
    return parser


def _read_lines(source: str) -> list[str]:
    """Non-blank lines of a file, or of stdin for '-'."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise UsageError(f"no such file: {source}") from error
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read {source}: {error}") from error
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise UsageError(f"{'stdin' if source == '-' else source} has no text: give one sentence per line.")
    return lines


def _sentences(args) -> list[str]:
    if args.sentences:
        return args.sentences
    if sys.stdin.isatty():
        raise UsageError("no sentences given: pass them as arguments or pipe them in, one per line.")
    return _read_lines("-")


def _settings(args):
    from textae.decoding import DecodingSettings

    settings = DecodingSettings(
        method=args.method,
        max_length=args.max_length,
        beam_width=args.beam_width,
        length_penalty=args.length_penalty,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        seed=args.seed,
    )
    settings.validate()
    return settings


@contextlib.contextmanager
def _quiet_stderr():
    """Send file descriptor 2 to /dev/null: TensorFlow's C++ start-up logs ignore TF_CPP_MIN_LOG_LEVEL."""
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def _load(args):
    """Load the model (and TensorFlow) quietly."""
    from textae.bundle import load_bundle

    with _quiet_stderr():
        # load_bundle checks the folder, its files, config and tokenizer before it imports Keras, so a bad
        # --model fails fast; the stderr it quietens is restored before main() prints the error.
        loaded = load_bundle(args.model or default_model_dir())
        from textae.autoencoder import TextAE

        return TextAE(loaded)


def _print_json(value) -> None:
    print(json.dumps(value, ensure_ascii=False, default=json_default))


def _reconstruct(autoencoder, args, settings):
    results = autoencoder.reconstruct(args.sentences, settings)
    keys = ("input", "output", "exact_match", "bleu", "anomaly_score", "pieces", "token_probabilities")
    return [{key: getattr(r, key) for key in keys} for r in results], [r.output for r in results]


def _interpolate(autoencoder, args, settings):
    path = autoencoder.interpolate(args.a, args.b, args.steps, args.interpolation, settings)
    keys = ("position", "text", "duplicate_of_previous", "vector")
    return [{key: getattr(s, key) for key in keys} for s in path], [f"{s.position:.2f}\t{s.text}" for s in path]


def _encode(autoencoder, args, settings):
    vectors = autoencoder.encode(args.lines)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    np.save(args.output, vectors)
    summary = {"output": str(args.output), "count": len(vectors), "latent_dim": int(vectors.shape[1])}
    return summary, [f"wrote {len(vectors)} vectors of size {vectors.shape[1]} to {args.output}"]


def _score(autoencoder, args, settings):
    sentences = args.sentences
    scores = autoencoder.score(sentences).tolist()
    pairs = list(zip(sentences, scores))
    return [{"text": t, "anomaly_score": s} for t, s in pairs], [f"{s:.4f}\t{t}" for t, s in pairs]


def _neighbours(autoencoder, args, settings):
    found = autoencoder.neighbours(args.query, args.lines, k=args.k)
    return [{"text": t, "similarity": s} for t, s in found], [f"{s:.4f}\t{t}" for t, s in found]


def _sample(autoencoder, args, settings):
    texts = autoencoder.sample(args.n, args.around, args.radius, settings, seed=args.seed)
    return texts, texts


COMMANDS = {
    "reconstruct": _reconstruct,
    "interpolate": _interpolate,
    "encode": _encode,
    "score": _score,
    "neighbours": _neighbours,
    "sample": _sample,
}


def run(args) -> None:
    """Carry out one parsed command: check the input, load the model, print the result."""
    if hasattr(args, "sentences"):
        args.sentences = _sentences(args)  # arguments, or stdin read before the slow model load
    args.lines = None
    if args.command == "encode":
        args.lines = _read_lines(args.input)
    elif args.command == "neighbours" and args.candidates:
        args.lines = _read_lines(args.candidates)
    autoencoder = _load(args)
    settings = _settings(args) if hasattr(args, "method") else None
    data, lines = COMMANDS[args.command](autoencoder, args, settings)
    if args.json:
        _print_json(data)
    else:
        print("\n".join(lines))


def main(argv=None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        run(args)
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
    return 0


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
