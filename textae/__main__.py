"""`python -m textae`: reconstruct, interpolate, encode, score, neighbours, sample.

The parser and commands live in `textae/cli.py`; run `python -m textae --help`.
"""

import os
import sys

# Before TensorFlow is imported: keep its C++ start-up logs off the terminal (override by setting it).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from textae.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
