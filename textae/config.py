"""One typed configuration for textae: tokenizer, data, model and training.

Every trained model folder stores the whole `Config` as `config.json`, so a
model can always be rebuilt from its folder. `PRESETS` holds named starting
points (`tiny` trains in seconds for tests, `default` is the shipped model).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

CELL_TYPES = ("lstm", "gru", "rnn")
LATENT_MODES = ("deterministic", "variational")
SAMPLING_SCHEDULES = ("constant", "linear", "exponential", "inverse_sigmoid")
SAMPLING_MODES = ("parallel", "sequential")
KL_SCHEDULES = ("linear", "logistic", "cyclical", "constant")
LEARNING_RATE_SCHEDULES = ("constant", "cosine")


@dataclasses.dataclass
class TokenizerConfig:
    """SentencePiece settings."""

    vocab_size: int = 4000
    model_type: str = "unigram"  # or "bpe"
    character_coverage: float = 0.9995
    byte_fallback: bool = True
    max_sentences: int = 300_000  # sentences fed to the trainer at most


@dataclasses.dataclass
class DataConfig:
    """Where the text comes from and how it is cleaned and batched."""

    dataset: str | None = None  # hub name, local path, or None for the shipped corpus
    dataset_config: str | None = None
    split: str = "train"
    text_column: str | None = None
    data_files: tuple[str, ...] = ()
    streaming: bool = False
    limit: int | None = None
    lowercase: bool = False
    split_sentences: bool = False
    deduplicate: bool = True
    min_tokens: int = 1
    max_tokens: int = 48  # longer sentences are dropped, not truncated
    # Denoising noise on the encoder input (Shen et al. 2020).
    word_dropout_rate: float = 0.0
    word_blank_rate: float = 0.0
    shuffle_distance: int = 0


@dataclasses.dataclass
class ModelConfig:
    """Architecture and training objective of the recurrent autoencoder."""

    vocab_size: int = 4000
    embedding_dim: int = 128
    hidden_dim: int = 256
    latent_dim: int = 256
    num_layers: int = 1
    cell_type: str = "lstm"
    bidirectional: bool = True
    reverse_encoder_input: bool = False
    embedding_dropout_rate: float = 0.0
    dropout_rate: float = 0.0  # between layers and before the output projection
    tie_embeddings: bool = False
    latent_mode: str = "deterministic"
    # Scheduled sampling (Bengio et al. 2015).
    sampling_schedule: str = "inverse_sigmoid"
    sampling_mode: str = "parallel"
    sampling_k: float = 2000.0  # k of the paper's schedules
    sampling_c: float = 1e-4  # slope c of the linear schedule
    sampling_min: float = 0.75  # floor epsilon_min (all schedules)
    sampling_passes: int = 1  # parallel mode: extra forward passes
    sampling_greedy: bool = False  # argmax instead of sampling the model's token
    # Variational mode: KL annealing and free bits.
    kl_schedule: str = "logistic"
    kl_anneal_steps: int = 5000
    kl_cycles: int = 4
    free_bits: float = 0.0  # nats per latent dimension
    label_smoothing: float = 0.0  # training objective only; reported losses stay plain cross-entropy

    def validate(self) -> None:
        """Raise ValueError naming the first impossible setting."""
        _positive(self, "vocab_size", "embedding_dim", "hidden_dim", "latent_dim", "num_layers")
        _choice(self, "cell_type", CELL_TYPES)
        _choice(self, "latent_mode", LATENT_MODES)
        _choice(self, "sampling_schedule", SAMPLING_SCHEDULES)
        _choice(self, "sampling_mode", SAMPLING_MODES)
        _choice(self, "kl_schedule", KL_SCHEDULES)
        for name in ("embedding_dropout_rate", "dropout_rate", "sampling_min", "label_smoothing"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}.")
        if self.sampling_passes < 1:
            raise ValueError(f"sampling_passes must be at least 1, got {self.sampling_passes}.")
        for name in ("free_bits", "sampling_c"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be 0 or more, got {getattr(self, name)}.")
        if self.sampling_schedule == "exponential" and not 0.0 < self.sampling_k < 1.0:
            raise ValueError(
                f"The exponential schedule needs 0 < sampling_k < 1 (epsilon = k**i), got {self.sampling_k}."
            )
        if self.sampling_schedule == "inverse_sigmoid" and self.sampling_k < 1.0:
            raise ValueError(f"The inverse sigmoid schedule needs sampling_k >= 1, got {self.sampling_k}.")
        if self.sampling_schedule == "linear" and not 0.0 < self.sampling_k <= 1.0:
            raise ValueError(
                f"The linear schedule starts at epsilon = sampling_k, which must be in (0, 1]; got {self.sampling_k}."
            )
        if self.vocab_size < 5:
            raise ValueError(f"vocab_size must be at least 5 (4 special ids), got {self.vocab_size}.")


@dataclasses.dataclass
class TrainConfig:
    """Optimisation, distribution and bookkeeping of a training run."""

    epochs: int = 10
    batch_size: int = 128  # global: per replica times replicas
    learning_rate: float = 2e-3  # the peak rate when there is a warm-up
    learning_rate_schedule: str = "constant"  # or "cosine": decay to 5 % of the peak over decay_steps
    warmup_steps: int = 0  # linear warm-up from 0 to learning_rate
    decay_steps: int = 0  # cosine: steps after the warm-up (0: the rest of the run, epochs x batches)
    optimizer: str = "adam"
    clipnorm: float = 1.0
    seed: int = 0
    strategy: str = "auto"
    mixed_precision: str = "auto"
    checkpoint_every_steps: int = 0  # 0: once per epoch
    early_stopping_patience: int = 3
    reduce_lr_patience: int = 0  # 0: off
    steps_per_epoch: int | None = None
    validation_size: int = 2000
    max_minutes: float | None = None  # stop (and keep the model) after this wall time


@dataclasses.dataclass
class Config:
    """Everything needed to rebuild and retrain a model."""

    tokenizer: TokenizerConfig = dataclasses.field(default_factory=TokenizerConfig)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Config:
        """Build a Config from nested dicts; unknown keys are a ValueError."""
        sections = {}
        for field in dataclasses.fields(cls):  # each section's default_factory is its dataclass
            sections[field.name] = _build(field.default_factory, values.get(field.name, {}), field.name)
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"Unknown config section(s) {sorted(unknown)}; expected tokenizer, data, model, train.")
        return cls(**sections)


def _build(section_type, values: dict[str, Any], section: str):
    names = {f.name: f for f in dataclasses.fields(section_type)}
    unknown = set(values) - set(names)
    if unknown:
        raise ValueError(f"Unknown {section} setting(s) {sorted(unknown)}; known: {sorted(names)}.")
    values = dict(values)
    if "data_files" in values and values["data_files"] is not None:
        values["data_files"] = tuple(values["data_files"])
    return section_type(**values)


def _positive(config, *names: str) -> None:
    for name in names:
        value = getattr(config, name)
        if value <= 0:
            raise ValueError(f"{name} must be positive, got {value}.")


def _choice(config, name: str, choices: tuple[str, ...]) -> None:
    value = getattr(config, name)
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}.")


def preset(name: str) -> Config:
    """Return a fresh Config for a named preset: tiny, small or default."""
    if name not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}; choose one of {', '.join(PRESETS)}.")
    return Config.from_dict(PRESETS[name])


PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {
        "tokenizer": {"vocab_size": 128, "byte_fallback": False, "max_sentences": 5000},
        "data": {"limit": 1000, "max_tokens": 48},
        "model": {"vocab_size": 128, "embedding_dim": 16, "hidden_dim": 16, "latent_dim": 8, "bidirectional": False},
        "train": {"epochs": 2, "batch_size": 32, "learning_rate": 1e-2, "validation_size": 64},
    },
    "small": {
        "tokenizer": {"vocab_size": 1000},
        "data": {"limit": 50_000},
        "model": {"vocab_size": 1000, "embedding_dim": 64, "hidden_dim": 128, "latent_dim": 64},
        "train": {"epochs": 5, "batch_size": 64},
    },
    # The recipe study's choice (docs/RECIPE.md): teacher forcing and a 512-dimensional latent; bfloat16 comes
    # from --mixed-precision auto on CPUs that have bfloat16 units.
    "default": {"model": {"latent_dim": 512, "sampling_schedule": "constant", "sampling_k": 1.0}},
}
