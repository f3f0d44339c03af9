"""`python -m textae`: reconstruct, interpolate, encode, score, neighbours, sample.

The parser and commands live in `textae/cli.py`; run `python -m textae --help`.
"""

import sys

from textae.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
