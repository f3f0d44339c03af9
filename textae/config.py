"""The configuration mechanism both halves share, and the training settings they have in common.

Each task's typed config (`textae.text.config.Config`, `textae.series.config.SeriesConfig`) is made of
dataclass sections whose fields are `setting(default, help)`: `python -m training.train --help` shows the
help, `build_section` turns a dict (a config file, a bundle's config.json) back into a section, and the
`check_*` helpers and `validate_sampling` are the one place each rule is written.
"""

from __future__ import annotations

import dataclasses
from typing import Any

CELL_TYPES = ("lstm", "gru", "rnn")
SAMPLING_SCHEDULES = ("constant", "linear", "exponential", "inverse_sigmoid")
LEARNING_RATE_SCHEDULES = ("constant", "cosine")


def setting(default, help_text: str):
    """A config field with its command-line help (`python -m training.train --help` shows it)."""
    return dataclasses.field(default=default, metadata={"help": help_text})


def build_section(section_type, values: dict[str, Any], section: str):
    """A section dataclass from a dict; unknown keys are a ValueError, lists become tuples where the field is one."""
    fields = {f.name: f for f in dataclasses.fields(section_type)}
    unknown = set(values) - set(fields)
    if unknown:
        raise ValueError(f"Unknown {section} setting(s) {sorted(unknown)}; known: {sorted(fields)}.")
    values = dict(values)
    for name, value in values.items():
        if isinstance(value, list) and isinstance(fields[name].default, tuple):
            values[name] = tuple(value)  # JSON has no tuples
    return section_type(**values)


def build_config(config_type, values: dict[str, Any], kind: str = ""):
    """A task's config from nested dicts: each section starts from its defaults; unknown sections or keys are a
    ValueError. Fields without a default factory (such as a config's `task` tag) are left to `config_type`."""
    sections = [field for field in dataclasses.fields(config_type) if field.default_factory is not dataclasses.MISSING]
    unknown = set(values) - {field.name for field in dataclasses.fields(config_type)}
    if unknown:
        expected = ", ".join(field.name for field in sections)
        raise ValueError(f"Unknown {kind}config section(s) {sorted(unknown)}; expected {expected}.")
    built = {}
    for field in sections:
        default = field.default_factory()
        given = {**dataclasses.asdict(default), **dict(values.get(field.name) or {})}
        built[field.name] = build_section(type(default), given, field.name)
    return config_type(**built)


def preset_values(presets: dict[str, dict], name: str, kind: str = "") -> dict:
    """The settings of a named preset; ValueError listing the presets when there is none of that name."""
    if name not in presets:
        raise ValueError(f"Unknown {kind}preset {name!r}; choose one of {', '.join(presets)}.")
    return presets[name]


def check_positive(config, *names: str) -> None:
    """ValueError unless every named setting is above 0."""
    for name in names:
        value = getattr(config, name)
        if value <= 0:
            raise ValueError(f"{name} must be positive, got {value}.")


def check_choice(config, name: str, choices: tuple[str, ...]) -> None:
    """ValueError unless the setting is one of `choices`."""
    value = getattr(config, name)
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}.")


def check_shares(config, *names: str) -> None:
    """ValueError unless every named setting is a share: between 0 and 1, both included."""
    for name in names:
        value = getattr(config, name)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1, got {value}.")


def validate_sampling(config) -> None:
    """The teacher-forcing schedule's settings (`sampling_schedule`, `_k`, `_c`, `_min`; `textae.schedules`
    computes it), for the text and the series model alike."""
    check_choice(config, "sampling_schedule", SAMPLING_SCHEDULES)
    check_shares(config, "sampling_min")
    if config.sampling_c < 0:
        raise ValueError(f"sampling_c must be 0 or more, got {config.sampling_c}.")
    schedule, k = config.sampling_schedule, config.sampling_k
    if schedule == "exponential" and not 0.0 < k < 1.0:
        raise ValueError(f"The exponential schedule needs 0 < sampling_k < 1 (epsilon = k**i), got {k}.")
    if schedule == "inverse_sigmoid" and k < 1.0:
        raise ValueError(f"The inverse sigmoid schedule needs sampling_k >= 1, got {k}.")
    if schedule == "linear" and not 0.0 < k <= 1.0:
        raise ValueError(f"The linear schedule starts at epsilon = sampling_k, which must be in (0, 1]; got {k}.")


@dataclasses.dataclass
class TrainConfig:
    """Optimisation, distribution and bookkeeping of a training run."""

    epochs: int = setting(10, "passes over the training data")
    batch_size: int = setting(128, "global batch (per replica times replicas)")
    learning_rate: float = setting(2e-3, "optimizer learning rate (the peak, after any warm-up)")
    learning_rate_schedule: str = setting(
        "constant", "constant or cosine (decays to 5% of the peak over --decay-steps)"
    )
    warmup_steps: int = setting(0, "linear learning-rate warm-up from 0 over this many steps")
    decay_steps: int = setting(0, "cosine: steps of the decay after the warm-up (0: epochs x batches per epoch)")
    optimizer: str = setting("adam", "adam or sgd")
    clipnorm: float = setting(1.0, "clip the global gradient norm (0: off)")
    seed: int = setting(0, "random seed")
    strategy: str = setting("auto", "auto, default, mirrored, multi-worker or tpu")
    mixed_precision: str = setting(
        "auto", "auto (float16 on GPUs, bfloat16 on CPUs with AMX/AVX512-BF16), on/float16, bfloat16 or off"
    )
    checkpoint_every_steps: int = setting(0, "also checkpoint every N steps (0: each epoch only)")
    early_stopping_patience: int = setting(3, "stop after N epochs without a better validation loss (0: off)")
    reduce_lr_patience: int = setting(0, "halve the learning rate after N flat epochs (0: off)")
    keep_best: bool = setting(False, "replace RUN/model only by an epoch with a lower validation loss")
    steps_per_epoch: int | None = setting(None, "batches per epoch (default: the whole data)")
    validation_size: int = setting(2000, "validation sentences at most")
    max_minutes: float | None = setting(None, "stop after this much wall time, keeping the model")
    init_from: str | None = setting(
        None, "start from this model folder's weights and tokenizer, carrying on its step count (training.increments)"
    )
