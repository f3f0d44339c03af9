"""Resumable training state: weights files and a pointer to the newest, each written durably.

`save` writes the model's weights (optimizer state included) under a temporary
name, syncs them to disk, renames them into place, syncs the folder, then
rewrites `latest.json` to name them. The previous state is removed only after
that, and one more is kept (`keep=2`), so a kill or a power loss at any moment
leaves a complete state to resume from. `restore` loads the newest state that
reads, saying so when it had to fall back to an older one. Both `model.fit`
(through `callbacks.AtomicBackupAndRestore`) and the multi-worker loop use it;
the loop asks for one epoch by number, because a job killed while its workers
were saving leaves them one epoch apart and they must restart from the same one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from textae import files

POINTER = "latest.json"


class CheckpointError(OSError):
    """A saved training state cannot be read; the message says what to do."""


def save(model, folder, epoch: int, keep: int = 2) -> None:
    """Write `model`'s weights as the state after `epoch`, keeping the `keep` latest epochs' files.

    A later save of the same epoch replaces it.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    weights = _weights_file(folder, epoch)
    temporary = folder / f".epoch-{epoch}.tmp.weights.h5"
    model.save_weights(temporary)
    files.sync_file(temporary)
    os.replace(temporary, weights)
    files.sync_directory(folder)
    files.write_atomic(folder / POINTER, json.dumps({"epoch": epoch, "file": weights.name}).encode("utf-8"))
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
    """Load a saved state into `model`; returns its epoch, 0 if there is none.

    Args:
        model: the built model (its optimizer is built here if needed).
        folder: the checkpoint folder.
        epoch: load exactly this epoch's state (an error if it does not read); None loads the
            newest state that reads, falling back to older ones (and saying so) when the newest is damaged.

    Raises:
        CheckpointError: no saved state reads; the message says how to start afresh.
    """
    folder = Path(folder)
    if epoch == 0:
        return 0
    candidates = [epoch] if epoch is not None else sorted(set(saved_epochs(folder)), reverse=True)
    if not candidates:
        return 0
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    for candidate in candidates:
        file = _weights_file(folder, candidate)
        try:
            model.load_weights(file)
        except Exception as error:  # h5py and Keras raise many types for a torn or missing file
            reason = f"{type(error).__name__}: {str(error)[:200]}"
            if epoch is not None:
                raise CheckpointError(
                    f"Cannot read the checkpoint {file} ({reason}); delete it to resume from the one before."
                ) from error
            print(f"The checkpoint {file} cannot be read ({reason}); trying the one before it.", flush=True)
            continue
        if candidate != candidates[0]:
            print(f"Resuming from an older checkpoint: the one written after epoch {candidate}.", flush=True)
        else:
            print(f"Resuming from the checkpoint written after epoch {candidate}.", flush=True)
        return candidate
    raise CheckpointError(
        f"No checkpoint in {folder} can be read. Delete that folder to train afresh from epoch 1 "
        "(or pass --overwrite, which also replaces the run's model)."
    )


def _weights_file(folder: Path, epoch: int) -> Path:
    return folder / f"epoch-{epoch}.weights.h5"
