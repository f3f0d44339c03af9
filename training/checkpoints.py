"""Resumable training state: a weights file and a pointer to it, each replaced atomically.

`save` writes the model's weights (optimizer state included) under a temporary
name, renames them into place, then rewrites `latest.json` to name them; older
weights are removed only after that. A kill at any moment leaves the old state
or the new one, never a torn one. Both `model.fit` (through
`callbacks.AtomicBackupAndRestore`) and the multi-worker loop use it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from textae.files import write_atomic

POINTER = "latest.json"


def save(model, folder, epoch: int) -> None:
    """Write `model`'s weights as the state after `epoch` (a later save of the same epoch replaces it)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / f"epoch-{epoch}.weights.h5"
    temporary = folder / f".epoch-{epoch}.tmp.weights.h5"
    model.save_weights(temporary)
    os.replace(temporary, weights)
    write_atomic(folder / POINTER, json.dumps({"epoch": epoch, "file": weights.name}).encode("utf-8"))
    for old in folder.glob("epoch-*.weights.h5"):
        if old != weights:
            old.unlink(missing_ok=True)


def restore(model, folder) -> int:
    """Load the latest saved state into `model`; returns its epoch, 0 when nothing was saved."""
    folder = Path(folder)
    try:
        latest = json.loads((folder / POINTER).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return 0
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    model.load_weights(folder / latest["file"])
    print(f"Resuming from the checkpoint written after epoch {latest['epoch']}.", flush=True)
    return int(latest["epoch"])
