"""Resumable training state: a weights file and a pointer to it, each replaced atomically.

`save` writes the model's weights (optimizer state included) under a temporary
name, renames them into place, then rewrites `latest.json` to name them; older
weights are removed only after that. A kill at any moment leaves the old state
or the new one, never a torn one. Both `model.fit` (through
`callbacks.AtomicBackupAndRestore`) and the multi-worker loop use it; the loop
keeps the previous epoch too, because a job killed while its workers were
saving leaves them one epoch apart and they must restart from the same one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from textae.files import write_atomic

POINTER = "latest.json"


def save(model, folder, epoch: int, keep: int = 1) -> None:
    """Write `model`'s weights as the state after `epoch`, keeping the `keep` latest epochs' files.

    A later save of the same epoch replaces it.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    weights = _weights_file(folder, epoch)
    temporary = folder / f".epoch-{epoch}.tmp.weights.h5"
    model.save_weights(temporary)
    os.replace(temporary, weights)
    write_atomic(folder / POINTER, json.dumps({"epoch": epoch, "file": weights.name}).encode("utf-8"))
    for old in saved_epochs(folder)[:-keep]:
        _weights_file(folder, old).unlink(missing_ok=True)


def latest_epoch(folder) -> int:
    """The epoch `latest.json` names; 0 when nothing was saved."""
    try:
        return int(json.loads((Path(folder) / POINTER).read_text(encoding="utf-8"))["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def saved_epochs(folder) -> list[int]:
    """The epochs whose weights are in `folder`, oldest first."""
    return sorted(int(file.name.split("-")[1].split(".")[0]) for file in Path(folder).glob("epoch-*.weights.h5"))


def restore(model, folder, epoch: int | None = None) -> int:
    """Load the saved state after `epoch` (default: the latest) into `model`; returns its epoch, 0 if none."""
    folder = Path(folder)
    epoch = latest_epoch(folder) if epoch is None else epoch
    if epoch == 0:
        return 0
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    model.load_weights(_weights_file(folder, epoch))
    print(f"Resuming from the checkpoint written after epoch {epoch}.", flush=True)
    return epoch


def _weights_file(folder: Path, epoch: int) -> Path:
    return folder / f"epoch-{epoch}.weights.h5"
