"""Scripts that build the corpus, train, evaluate and benchmark textae models.

Installed as `textae-train`, `textae-evaluate` and `textae-benchmark`; in a checkout `python -m training.<name>`.
"""

from __future__ import annotations

import os
import sys


def program_name(module: str) -> str:
    """What `--help` calls the command: `textae-train` when run as that console script, else `python -m ...`."""
    invoked = os.path.basename(sys.argv[0]) if sys.argv else ""
    return invoked if invoked.startswith("textae-") else f"python -m training.{module}"
