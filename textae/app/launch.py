"""`textae-app`: start Streamlit on the installed app script; arguments after it go to `streamlit run`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from textae import quiet

SCRIPT = Path(__file__).resolve().parent / "streamlit_app.py"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="textae-app",
        description="Open textae's web app (the page of `streamlit run app.py` in a checkout).",
        epilog="Other options are passed to `streamlit run`, e.g. textae-app --server.port 8502 "
        "--server.headless true. Models offered: the shipped one, $TEXTAE_MODEL_DIRS, and runs/*/model "
        "under $TEXTAE_RUNS_DIR (default ./runs).",
    )
    parser.add_argument("--verbose", action="store_true", help=quiet.VERBOSE_HELP)
    args, streamlit_args = parser.parse_known_args(argv)
    if args.verbose:
        os.environ[quiet.VARIABLE] = "1"  # read by the app script in Streamlit's process
    from streamlit.web import cli as streamlit_cli

    sys.argv = ["streamlit", "run", str(SCRIPT), *streamlit_args]
    return streamlit_cli.main()


if __name__ == "__main__":
    sys.exit(main())
