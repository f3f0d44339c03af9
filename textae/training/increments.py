"""Training in increments that add up: a run that starts from a saved or shipped bundle (`--init-from`).

A long run on CPU machines outlives any one machine. `--init-from BUNDLE` starts a new run folder from a
bundle's weights and tokenizer and carries on where it stopped:
- the architecture is the bundle's (its model settings replace the command's; regularisation and the
  other training settings stay the command's), and so is the tokenizer;
- the step count goes on: the learning-rate schedule is read at (the bundle's steps + this run's steps), so
  a warm-up and decay planned over the whole long run continue across increments;
- the optimizer's moments start from zero (they are not in a bundle), so the rate is re-warmed linearly over
  `REWARM_STEPS` steps while Adam's bias correction rebuilds them;
- the bundle's learning curve (`curves.jsonl`) is the new run's first points, so the curve and its minutes
  continue across machines.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import keras
import tensorflow as tf

from textae import hub
from textae.text import bundle
from textae.text.config import Config

REWARM_STEPS = 500
CURVES_FILE = "curves.jsonl"  # the learning curve's points, in a run's logs/ and in a bundle
# The model settings that shape the weights: an --init-from run takes them from the bundle.
ARCHITECTURE = (
    "vocab_size", "embedding_dim", "hidden_dim", "latent_dim", "num_layers", "cell_type", "bidirectional",
    "reverse_encoder_input", "tie_embeddings", "latent_mode",
)  # fmt: skip


@dataclasses.dataclass
class Start:
    """What a run takes from the bundle it starts from."""

    path: Path
    loaded: bundle.Bundle
    steps: int  # optimizer steps the bundle's model has had, over all its increments
    curves: bytes  # its learning curve (JSON lines), b"" when it has none


def bundle_steps(metrics: dict) -> int:
    """The optimizer steps recorded in a bundle's metrics (a shipped bundle keeps them under "training")."""
    training = metrics.get("training", metrics)
    try:
        return int(training.get("optimizer_steps", 0))
    except (TypeError, ValueError):
        return 0


def load_start(path: str | os.PathLike, config: Config) -> Start:
    """Load the bundle at `path` and make `config` match its architecture and tokenizer (in place).

    Raises:
        BundleError: the bundle is missing, damaged or a time-series model.
    """
    loaded = bundle.load_bundle(hub.resolve(path))
    for name in ARCHITECTURE:
        setattr(config.model, name, getattr(loaded.config.model, name))
    config.tokenizer = dataclasses.replace(loaded.config.tokenizer)
    config.model.validate()
    curves_file = loaded.path / CURVES_FILE
    curves = curves_file.read_bytes() if curves_file.is_file() else b""
    return Start(loaded.path, loaded, bundle_steps(loaded.metrics), curves)


def seed_curves(start: Start, log_dir: Path) -> None:
    """Begin a new run's learning curve with the bundle's points (not when the run already has its own)."""
    target = log_dir / CURVES_FILE
    if start.curves and not target.exists():
        log_dir.mkdir(parents=True, exist_ok=True)
        target.write_bytes(start.curves)


def copy_weights(start: Start, model) -> None:
    """Put the bundle's weights into the freshly built training model (same architecture, same order)."""
    model.set_weights(start.loaded.model.get_weights())


def read_log_curves(log_dir: Path) -> bytes:
    """A run's curve points as bytes, for its bundle (b"" before the first measurement)."""
    path = Path(log_dir) / CURVES_FILE
    return path.read_bytes() if path.is_file() else b""


@keras.saving.register_keras_serializable(package="textae")
class ContinuedSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """A learning rate read `offset` steps further on, re-warmed linearly over the first `rewarm_steps`.

    Args:
        schedule: the run's schedule (a `LearningRateSchedule`) or a constant rate.
        offset: the steps done by the increments before this one.
        rewarm_steps: steps over which the rate climbs back from 0 (fresh optimizer moments).
    """

    def __init__(self, schedule, offset: int, rewarm_steps: int = REWARM_STEPS):
        self.schedule = schedule
        self.offset = int(offset)
        self.rewarm_steps = int(rewarm_steps)

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        warm = tf.minimum(1.0, (step + 1.0) / float(max(self.rewarm_steps, 1)))
        if isinstance(self.schedule, keras.optimizers.schedules.LearningRateSchedule):
            rate = self.schedule(step + float(self.offset))
        else:
            rate = tf.constant(float(self.schedule))
        return tf.cast(rate, tf.float32) * warm

    def get_config(self):
        schedule = self.schedule
        if isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
            schedule = keras.saving.serialize_keras_object(schedule)
        return {"schedule": schedule, "offset": self.offset, "rewarm_steps": self.rewarm_steps}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config["schedule"], dict):
            config["schedule"] = keras.saving.deserialize_keras_object(config["schedule"])
        return cls(**config)
