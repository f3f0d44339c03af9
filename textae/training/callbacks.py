"""Keras callbacks of a training run: NaN guard, checkpoints, bundles, samples, time limit."""

from __future__ import annotations

import math
import os
import time

import keras
import tensorflow as tf

from textae.text import decoding, encoding, pipeline
from textae.training import checkpoints


class NaNGuard(keras.callbacks.Callback):
    """Stop at the first non-finite loss and remember it, so nothing saves NaN weights."""

    def __init__(self):
        super().__init__()
        self.failed_at = None

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)) and self.failed_at is None:
            self.failed_at = batch
            self.model.stop_training = True
            print(
                f"\nThe loss became {float(loss)} at batch {batch}: stopping. The last good model is kept; "
                "try a lower --learning-rate or a smaller --clipnorm.",
                flush=True,
            )


class StepCheckpoints(keras.callbacks.Callback):
    """Durable training state `(epoch, step)` after every epoch and every `every_steps` batches.

    Saves go through `training.checkpoints` (a kill at any moment leaves the old or the new state,
    never a torn one) and never hold NaN weights. `start` is the state the run resumed from: the first
    epoch of a resumed run begins at its step, so its batches are counted from there.
    """

    def __init__(self, folder, guard: NaNGuard, every_steps: int = 0, start=(0, 0), layout: dict | None = None):
        super().__init__()
        self.folder, self.guard, self.every_steps, self.start = folder, guard, every_steps, start
        self.layout = layout or {}
        self.epoch, self.offset, self.since_save = start[0], 0, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.offset = self.start[1] if epoch == self.start[0] else 0

    def on_train_batch_end(self, batch, logs=None):
        self.since_save += 1
        last = batch + 1 == self.params.get("steps")  # the epoch's end saves it anyway
        if self.every_steps and self.since_save >= self.every_steps and not last:
            self.since_save = 0
            self._save(self.epoch, self.offset + batch + 1)

    def on_epoch_end(self, epoch, logs=None):
        self.since_save = 0
        self._save(epoch + 1, 0)

    def _save(self, epoch: int, step: int) -> None:
        if self.guard.failed_at is None:
            checkpoints.save(self.model, self.folder, epoch, step=step, layout=self.layout)


class BundleWriter(keras.callbacks.Callback):
    """Write the model bundle (atomically) after every good epoch, or only after improving ones.

    Args:
        save: function of `(logs, epoch)` that writes the bundle.
        guard: the run's NaNGuard; nothing is written after a NaN.
        keep_best: write only when `val_loss` is below every earlier epoch's (`--keep-best`), so a late
            epoch that overfits or spikes never replaces a better model.
        best: the best `val_loss` so far (a resumed run's bundle).
    """

    def __init__(self, save, guard: NaNGuard, keep_best: bool = False, best: float = math.inf):
        super().__init__()
        self.save = save
        self.guard = guard
        self.keep_best = keep_best
        self.best = best

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        if self.guard.failed_at is not None or not all(math.isfinite(float(v)) for v in logs.values()):
            return
        loss = logs.get("val_loss")
        if self.keep_best and loss is not None:
            if loss >= self.best:
                print(f"\nval_loss {loss:.4f} is not below {self.best:.4f}: the bundle keeps the better epoch.")
                return
            self.best = float(loss)
        self.save(logs, epoch + 1)


class SampleReconstructions(keras.callbacks.Callback):
    """Print (and log to TensorBoard) greedy reconstructions of a few validation sentences."""

    def __init__(self, tokenizer, texts: list[str], log_dir: str | None = None, count: int = 3):
        super().__init__()
        self.tokenizer = tokenizer
        self.texts = texts[:count]
        self.writer = tf.summary.create_file_writer(os.path.join(log_dir, "samples")) if log_dir else None

    def reconstructions(self) -> list[str]:
        ids = self.tokenizer.encode(self.texts)
        mean = encoding.encode(self.model, ids)
        longest = max(len(i) for i in ids)
        result = decoding.decode(self.model, mean, decoding.DecodingSettings(max_length=2 * longest + 8))
        return self.tokenizer.decode(result.tokens)

    def on_epoch_end(self, epoch, logs=None):
        if not self.texts:
            return
        outputs = self.reconstructions()
        lines = [f"  {'=' if a == b else '≠'} {a}\n    → {b}" for a, b in zip(self.texts, outputs)]
        print("\nSample reconstructions:\n" + "\n".join(lines), flush=True)
        if self.writer is not None:
            table = "\n".join(f"| {a} | {b} |" for a, b in zip(self.texts, outputs))
            with self.writer.as_default():
                tf.summary.text("reconstructions", "| input | reconstruction |\n|---|---|\n" + table, step=epoch + 1)
            self.writer.flush()


class TimeLimit(keras.callbacks.Callback):
    """Stop training cleanly (keeping the model) after `minutes` of wall time."""

    def __init__(self, minutes: float | None):
        super().__init__()
        self.seconds = None if minutes is None else 60.0 * minutes
        self.start = None
        self.reached = False

    def on_train_begin(self, logs=None):
        if self.start is None:  # a resumed epoch and the rest are two fits: one clock for both
            self.start = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        if self.seconds is not None and time.monotonic() - self.start > self.seconds:
            self.model.stop_training = True
            if not self.reached:
                print(
                    f"\nReached the time limit of {self.seconds / 60:.1f} minutes; stopping and saving the model.",
                    flush=True,
                )
            self.reached = True


def padding_report(dataset, max_batches: int = 50) -> str:
    """One line on how much of the training batches is padding."""
    return f"padding: {pipeline.padding_fraction(dataset, max_batches=max_batches):.1%} of positions"
