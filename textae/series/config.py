"""The typed configuration of a time-series autoencoder: data windows, model, training.

The same shape as `textae.text.config.Config` (sections with `--help` on every field,
stored whole as the bundle's config.json) with `task: "timeseries"` on top, so a
loader can tell the two kinds of model apart. Training settings are the text
model's `TrainConfig`, with defaults suited to short numeric windows.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from textae.config import (
    CELL_TYPES,
    TrainConfig,
    build_config,
    check_choice,
    check_positive,
    check_shares,
    preset_values,
    setting,
    validate_sampling,
)

TASK = "timeseries"
MISSING_RULES = ("interpolate", "error")


@dataclasses.dataclass
class SeriesDataConfig:
    """Where the series comes from and how it is cut into windows."""

    source: str | None = setting(
        None,
        "a .csv/.tsv/.parquet file, a save_to_disk folder, a hub dataset, or aeon:kdd_tsad_135 / "
        "aeon:daphnet_s06r02e0 (aeon's labelled anomaly series)",
    )
    dataset_config: str | None = setting(None, "hub dataset configuration")
    split: str = setting("train", "split to train on (aeon:kdd_tsad_135 has an anomaly-free train split)")
    columns: tuple[str, ...] = setting((), "value columns (default: every numeric column but time and label)")
    time_column: str | None = setting(None, "time column, kept for plots (default: one named time/timestamp/date)")
    label_column: str | None = setting(None, "0/1 anomaly labels, used for measuring only, never for training")
    window: int = setting(64, "time steps per window")
    stride: int = setting(4, "training windows start every N steps")
    score_stride: int = setting(1, "scoring windows start every N steps (1: every step gets every window)")
    validation_fraction: float = setting(0.2, "the last part of the series, held out in time order (never random)")
    missing: str = setting(
        "interpolate", "NaN values: interpolate (linear inside, nearest at the ends; masked out of the loss) or error"
    )


@dataclasses.dataclass
class SeriesModelConfig:
    """Encoder -> latent -> decoder over numeric windows; the loss is masked mean squared error."""

    channels: int = setting(1, "values per time step (set from the data)")
    window: int = setting(64, "time steps per window (set from the data settings)")
    cell_type: str = setting("lstm", "recurrent cell: lstm, gru or rnn")
    bidirectional: bool = setting(True, "bidirectional encoder")
    input_dim: int = setting(32, "width of the dense layer that replaces the text model's embedding")
    hidden_dim: int = setting(64, "recurrent units per layer")
    latent_dim: int = setting(16, "size of the latent vector")
    num_layers: int = setting(1, "recurrent layers in the encoder and in the decoder")
    dropout_rate: float = setting(0.0, "dropout on the dense input and between layers")
    feed_previous: bool = setting(
        False,
        "the decoder also reads the previous value: the true one while teacher forcing, its own output otherwise "
        "(at inference always its own)",
    )
    # Scheduled sampling (Bengio et al. 2015) for feed_previous, with the text model's schedules (textae.schedules).
    sampling_schedule: str = setting("constant", "teacher forcing: constant, linear, exponential or inverse_sigmoid")
    sampling_k: float = setting(1.0, "k of the schedule (constant: the teacher-forcing probability)")
    sampling_c: float = setting(1e-4, "slope c of the linear schedule")
    sampling_min: float = setting(0.0, "lowest teacher-forcing probability")

    def validate(self) -> None:
        check_positive(self, "channels", "window", "input_dim", "hidden_dim", "latent_dim", "num_layers")
        check_choice(self, "cell_type", CELL_TYPES)
        check_shares(self, "dropout_rate")
        validate_sampling(self)


def _series_train_defaults() -> TrainConfig:
    return TrainConfig(epochs=30, batch_size=64, learning_rate=1e-3, early_stopping_patience=5, mixed_precision="off")


@dataclasses.dataclass
class SeriesConfig:
    """Everything needed to rebuild and retrain a time-series model."""

    data: SeriesDataConfig = dataclasses.field(default_factory=SeriesDataConfig)
    model: SeriesModelConfig = dataclasses.field(default_factory=SeriesModelConfig)
    train: TrainConfig = dataclasses.field(default_factory=_series_train_defaults)
    task: str = TASK

    def validate(self) -> None:
        data = self.data
        check_positive(data, "window", "stride", "score_stride")
        if data.score_stride > data.window:
            raise ValueError(
                f"--score-stride ({data.score_stride}) must not exceed --window ({data.window}): steps between "
                "windows would have no score."
            )
        check_choice(data, "missing", MISSING_RULES)
        if not 0.0 < data.validation_fraction < 1.0:
            raise ValueError(f"--validation-fraction must be between 0 and 1, got {data.validation_fraction}.")
        self.model.validate()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SeriesConfig:
        values = dict(values)
        task = values.pop("task", TASK)
        if task != TASK:
            raise ValueError(f"Not a time-series configuration (task {task!r}).")
        return build_config(cls, values, "time-series ")


def series_preset(name: str) -> SeriesConfig:
    return SeriesConfig.from_dict(preset_values(SERIES_PRESETS, name, "time-series "))


SERIES_PRESETS: dict[str, dict[str, Any]] = {
    # Seconds on a CPU: for tests and trying things out.
    "tiny": {
        "data": {"window": 16, "stride": 4},
        "model": {"input_dim": 8, "hidden_dim": 8, "latent_dim": 4, "bidirectional": False},
        "train": {"epochs": 2, "batch_size": 16, "learning_rate": 1e-2},
    },
    # The shipped series model (docs/TIMESERIES.md).
    "timeseries": {"data": {"source": "aeon:kdd_tsad_135"}},
}
