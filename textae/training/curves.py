"""Learning curves by sentence length: measured every epoch, logged, and drawn as a PNG.

After every epoch `LengthCurves` measures the model on the run's fixed validation sample
(`training.evaluate.measure`: loss, exact match and BLEU per length bucket), appends one JSON
line to `logs/curves.jsonl`, writes the figures as TensorBoard scalars (`by_length/...`) and
redraws `logs/learning_curves.png`: validation loss and exact match per bucket against wall-clock
minutes. A resumed run continues the same file and clock.
"""

from __future__ import annotations

import json
import math
import os
import time

import keras
import tensorflow as tf

from textae.files import write_atomic
from textae.training import evaluate, plots

CURVES_FILE = "curves.jsonl"
PLOT_FILE = "learning_curves.png"


def read_curves(log_dir: str | os.PathLike) -> list[dict]:
    """The points written so far (an empty list when there are none; a torn last line is skipped)."""
    path = os.path.join(log_dir, CURVES_FILE)
    points = []
    try:
        with open(path, encoding="utf-8") as file:
            for line in file:
                try:
                    points.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
    except FileNotFoundError:
        pass
    return points


class LengthCurves(keras.callbacks.Callback):
    """Measure the validation sample by length after every epoch; log it and redraw the curves.

    Args:
        tokenizer: the run's tokenizer.
        validation_ids: the fixed validation sample, tokenized.
        max_tokens: the model's length limit (it sets the buckets).
        log_dir: the run's TensorBoard folder.
        step_offset: steps done before this run (an --init-from increment), added to each point's step.
    """

    def __init__(self, tokenizer, validation_ids, max_tokens: int, log_dir: str, step_offset: int = 0):
        super().__init__()
        self.step_offset = step_offset  # the steps of earlier increments (--init-from)
        self.tokenizer = tokenizer
        self.validation_ids = list(validation_ids)
        self.max_tokens = max_tokens
        self.log_dir = log_dir
        self.writer = tf.summary.create_file_writer(os.path.join(log_dir, "by_length"))
        self.points = read_curves(log_dir)
        self.offset = self.points[-1]["minutes"] if self.points else 0.0  # a resumed run goes on from there
        self.start = None

    @property
    def latest(self) -> dict | None:
        """The last measurement (overall figures and `by_length`), for the run's bundle."""
        if not self.points:
            return None
        return {key: self.points[-1][key] for key in ("loss", "exact_match", "bleu", "by_length")}

    def on_train_begin(self, logs=None):
        if self.start is None:  # a resumed epoch and the rest are two fits: one clock for both
            self.start = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        if not self.validation_ids or not all(math.isfinite(float(v)) for v in (logs or {}).values()):
            return  # nothing to measure, or a NaN epoch (the NaN guard stops the run and keeps the last bundle)
        try:
            results = evaluate.measure(self.model, self.tokenizer, self.validation_ids, self.max_tokens, examples=0)
        except (ValueError, tf.errors.OpError) as error:  # a measurement never costs the run
            print(f"\nSkipped the by-length validation measurement: {error}", flush=True)
            return
        if not math.isfinite(results["loss"]):
            return
        point = {
            "epoch": epoch + 1,
            "step": self.step_offset + int(self.model.optimizer.iterations.numpy()),
            "minutes": round(self.offset + (time.monotonic() - self.start) / 60.0, 3),
            "loss": results["loss"],
            "exact_match": results["exact_match"],
            "bleu": results["bleu"],
            "by_length": results["by_length"],
        }
        self.points.append(point)
        os.makedirs(self.log_dir, exist_ok=True)
        with open(os.path.join(self.log_dir, CURVES_FILE), "a", encoding="utf-8") as file:
            file.write(json.dumps(point) + "\n")
        with self.writer.as_default():
            tf.summary.scalar("exact_match", point["exact_match"], step=epoch + 1)
            tf.summary.scalar("bleu", point["bleu"], step=epoch + 1)
            for label, entry in point["by_length"].items():
                if entry["sentences"]:
                    tf.summary.scalar(f"exact_match_{label}", entry["exact_match"], step=epoch + 1)
                    tf.summary.scalar(f"bleu_{label}", entry["bleu"], step=epoch + 1)
        self.writer.flush()
        write_atomic(os.path.join(self.log_dir, PLOT_FILE), plots.learning_curves(self.points))
        line = "  ".join(
            f"{label} {entry['exact_match']:.2f}" for label, entry in point["by_length"].items() if entry["sentences"]
        )
        print(f"\nValidation exact match by length (tokens): {line}", flush=True)
