"""python -m textae push MODEL_DIR OWNER/NAME: share a model folder as a Hugging Face Hub repository."""

from __future__ import annotations

import sys

from textae import hub


def add_parser(subparsers) -> None:
    command = subparsers.add_parser(
        "push", help="upload a model folder to the Hugging Face Hub (its card becomes the repository's README)"
    )
    command.add_argument("folder", help="the model folder to upload (a run's model/, or assets/model)")
    command.add_argument("repo", help="the Hub repository, OWNER/NAME (created when missing)")
    command.add_argument("--private", action="store_true", help="create the repository private")
    command.add_argument("--token", help="a Hub token (default: huggingface-cli login's, or $HF_TOKEN)")


def push(args, api=None) -> None:
    """Upload and say where to; errors are ValueErrors (BundleError) that main() prints as one line."""
    try:
        url = hub.push(args.folder, args.repo, private=args.private, token=args.token, api=api)
    except OSError as error:  # the Hub unreachable, a refused token: one line, with the way out
        raise ValueError(f"Could not push to {args.repo}: {' '.join(str(error).split())[:200]}") from None
    print(f"pushed {args.folder} to https://huggingface.co/{args.repo}", file=sys.stderr)
    print(url)
