"""Resumable training state: weights files and a pointer to the newest, each written durably.

`save` writes the model's weights (optimizer state included) under a temporary
name, syncs them to disk, renames them into place, syncs the folder, then
rewrites `latest.json` to name them. The previous state is removed only after
that, and one more is kept (`keep=2`), so a kill or a power loss at any moment
leaves a complete state to resume from. A state is `(epoch, step)`: the epochs
finished and the batches done in the next one (0 at an epoch's end). `restore_state`
loads the newest state that reads, saying so when it had to fall back to an older one. Both `model.fit`
(through `training.resume`) and the multi-worker loop use it;
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


def save(model, folder, epoch: int, keep: int = 2, step: int = 0, layout: dict | None = None) -> None:
    """Write `model`'s weights as the state `(epoch, step)`, keeping the `keep` latest states' files.

    A later save of the same state replaces it. `layout` (e.g. steps per epoch) is recorded beside it,
    for a resume to check that it counts steps the same way (`layout_of`).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    weights = _weights_file(folder, epoch, step)
    temporary = folder / f".{weights.name.removesuffix('.weights.h5')}.tmp.weights.h5"
    model.save_weights(temporary)
    files.sync_file(temporary)
    os.replace(temporary, weights)
    files.sync_directory(folder)
    pointer = {"epoch": epoch, "step": step, "file": weights.name, **(layout or {})}
    files.write_atomic(folder / POINTER, json.dumps(pointer).encode("utf-8"))
    for old in saved_states(folder)[:-keep]:
        _weights_file(folder, *old).unlink(missing_ok=True)


def layout_of(folder) -> dict:
    """What `latest.json` records beside the state (see `save`); {} when nothing was saved."""
    try:
        pointer = json.loads((Path(folder) / POINTER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {key: value for key, value in pointer.items() if key not in ("epoch", "step", "file")}


def latest_epoch(folder) -> int:
    """The epoch `latest.json` names; 0 when nothing was saved."""
    try:
        return int(json.loads((Path(folder) / POINTER).read_text(encoding="utf-8"))["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def saved_states(folder) -> list[tuple[int, int]]:
    """The `(epoch, step)` states whose weights are in `folder`, oldest first."""
    states = []
    for file in Path(folder).glob("epoch-*.weights.h5"):
        parts = file.name.removesuffix(".weights.h5").split("-")  # epoch-E or epoch-E-step-S
        states.append((int(parts[1]), int(parts[3]) if len(parts) == 4 else 0))
    return sorted(states)


def saved_epochs(folder) -> list[int]:
    """The epochs with an end-of-epoch state in `folder`, oldest first."""
    return [epoch for epoch, step in saved_states(folder) if step == 0]


def restore(model, folder, epoch: int | None = None) -> int:
    """Load the state after `epoch` (None: the newest end-of-epoch state that reads); returns its epoch.

    The multi-worker loop's entry point: its workers resume from one epoch's end, by number.
    """
    if epoch == 0:
        return 0
    states = [(epoch, 0)] if epoch is not None else [(e, 0) for e in saved_epochs(folder)]
    return _restore(model, Path(folder), states, exact=epoch is not None)[0]


def restore_state(model, folder) -> tuple[int, int]:
    """Load the newest state `(epoch, step)` that reads (falling back to older ones); (0, 0) if none.

    Raises:
        CheckpointError: no saved state reads; the message says how to start afresh.
    """
    return _restore(model, Path(folder), saved_states(folder), exact=False)


def _restore(model, folder: Path, states: list[tuple[int, int]], exact: bool) -> tuple[int, int]:
    candidates = sorted(set(states), reverse=True)
    if not candidates:
        return 0, 0
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    for candidate in candidates:
        file = _weights_file(folder, *candidate)
        try:
            model.load_weights(file)
        except Exception as error:  # h5py and Keras raise many types for a torn or missing file
            reason = f"{type(error).__name__}: {str(error)[:200]}"
            if exact:
                raise CheckpointError(
                    f"Cannot read the checkpoint {file} ({reason}); delete it to resume from the one before."
                ) from error
            print(f"The checkpoint {file} cannot be read ({reason}); trying the one before it.", flush=True)
            continue
        where = (
            f"after epoch {candidate[0]}" if not candidate[1] else f"at epoch {candidate[0] + 1}, step {candidate[1]}"
        )
        older = "an older checkpoint: the one " if candidate != candidates[0] else "the checkpoint "
        print(f"Resuming from {older}written {where}.", flush=True)
        return candidate
    raise CheckpointError(
        f"No checkpoint in {folder} can be read. Delete that folder to train afresh from epoch 1 "
        "(or pass --overwrite, which also replaces the run's model)."
    )


def _weights_file(folder: Path, epoch: int, step: int = 0) -> Path:
    return folder / (f"epoch-{epoch}.weights.h5" if not step else f"epoch-{epoch}-step-{step}.weights.h5")
