"""`python -m textae`: reconstruct, interpolate, encode, score, neighbours, sample, arithmetic, export, detect, push.

The parser lives in `textae/cli/main.py`, the commands beside it in `textae/cli/`; run `python -m textae --help`.
"""

import sys

from textae.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
