"""What the text and the series trainer both read from and write into a run's model folder."""

from __future__ import annotations

import json
import math
from pathlib import Path

from textae.files import write_atomic


def bundle_val_loss(model_path: Path) -> float:
    """The validation loss recorded in a run's bundle (what a resumed --keep-best run must beat)."""
    try:
        return float(json.loads((model_path / "metrics.json").read_text(encoding="utf-8"))["val_loss"])
    except (OSError, ValueError, KeyError, TypeError):
        return math.inf


def record_wall_time(model_path: Path, seconds: float) -> None:
    """Add the run's whole wall time (data preparation included) to the bundle's metrics."""
    metrics_path = model_path / "metrics.json"
    try:
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return
    metrics["wall_seconds"] = round(seconds, 1)
    write_atomic(metrics_path, (json.dumps(metrics, indent=2, sort_keys=True) + "\n").encode("utf-8"))
