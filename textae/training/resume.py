"""`model.fit` that resumes at the exact step it saved.

A killed run leaves its newest state `(epoch, step)` in `RUN/backup` (`callbacks.StepCheckpoints`).
Running the same command again loads it and goes on from the next batch: the training data is a
stream whose batches depend only on their position (`pipeline.training_stream`), so the run sees the
batches it would have seen. Keras cannot start an epoch part-way, so a resumed epoch is one `fit`
of its remaining steps and the epochs after it a second `fit`; the progress bar of each knows its
length, the resumed epoch keeps its number, and the run trains exactly the epochs asked for in total.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable

import keras

from textae.training import checkpoints
from textae.training.callbacks import NaNGuard, StepCheckpoints


def progress_verbosity(verbose="auto"):
    """Keras's progress bar on a terminal; one line per epoch when the output is redirected to a file, so logs
    are not full of the bar's carriage returns and colour codes ("auto" leaves it to the output)."""
    if verbose == "auto":
        return 1 if sys.stdout.isatty() else 2
    return verbose


def resumable_fit(
    model,
    stream: Callable[[int, int], object],
    steps_per_epoch: int,
    validation,
    callbacks: list,
    *,
    epochs: int,
    backup_dir,
    guard: NaNGuard,
    every_steps: int = 0,
    verbose="auto",
    layout: dict | None = None,
) -> tuple[dict, tuple[int, int]]:
    """Train to `epochs`, resuming from `backup_dir`; returns the history and the state resumed from.

    Args:
        stream: `stream(epoch, step)` is the training data from that epoch and step on (endless).
        steps_per_epoch: batches per epoch.
        callbacks: the run's callbacks; `guard` must be among them, before anything that saves.
        every_steps: also save the state every this many batches (0: at epoch ends only).
        layout: more numbers that fix what a step is (batches per pass); a resume refuses a change.

    The backup is deleted when training ends without a NaN (a NaN keeps it, and the last good bundle).
    """
    layout = {"steps_per_epoch": steps_per_epoch, **(layout or {})}
    saved = checkpoints.layout_of(backup_dir)
    changed = {key: (saved[key], value) for key, value in layout.items() if key in saved and saved[key] != value}
    if changed:
        what = ", ".join(f"{key} {before} then, {now} now" for key, (before, now) in changed.items())
        raise ValueError(
            f"The checkpoint in {backup_dir} counts steps differently ({what}): the settings that size an epoch "
            "changed. Run with the same --batch-size, --limit and --steps-per-epoch, or pass --overwrite to start "
            "afresh."
        )
    start = checkpoints.restore_state(model, backup_dir)
    epoch, step = start
    if step:
        print(f"Resuming at epoch {epoch + 1}, step {step} of {steps_per_epoch}.", flush=True)
    saver = StepCheckpoints(backup_dir, guard, every_steps, start, layout)
    history: dict[str, list] = {}

    def fit(first_epoch: int, first_step: int, *extra) -> None:
        result = model.fit(
            stream(first_epoch, first_step),
            validation_data=validation,
            initial_epoch=first_epoch,
            epochs=epochs,  # the progress bar says "Epoch E/epochs" of the whole run
            steps_per_epoch=steps_per_epoch - first_step,
            # The state is saved after the bundle: a kill between them replays the epoch, never skips its bundle.
            callbacks=[guard, *[c for c in callbacks if c is not guard], saver, *extra],
            verbose=progress_verbosity(verbose),
            shuffle=False,  # the stream is already in its order
        )
        for key, values in result.history.items():
            history.setdefault(key, []).extend(values)

    if step and epoch < epochs:
        first = _OneEpoch()
        fit(epoch, step, first)  # the rest of the resumed epoch
        epoch, step = epoch + 1, 0
        if first.stopped_by_others:  # a time limit, early stopping or a NaN ended the run there
            epochs = epoch
    if epoch < epochs:
        fit(epoch, 0)
    if guard.failed_at is None:
        shutil.rmtree(backup_dir, ignore_errors=True)
    return history, start


class _OneEpoch(keras.callbacks.Callback):
    """Ends a fit after its first epoch (the resumed one); notes whether another callback stopped it first."""

    def __init__(self):
        super().__init__()
        self.stopped_by_others = False

    def on_epoch_end(self, epoch, logs=None):
        self.stopped_by_others = bool(self.model.stop_training)
        self.model.stop_training = True
