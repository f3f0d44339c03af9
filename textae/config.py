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


def _setting(default, help_text: str):
    """A config field with its command-line help (`python -m training.train --help` shows it)."""
    return dataclasses.field(default=default, metadata={"help": help_text})


@dataclasses.dataclass
class TokenizerConfig:
    """SentencePiece settings."""

    vocab_size: int = _setting(4000, "subword vocabulary size (tokenizer and model)")
    model_type: str = _setting("unigram", "SentencePiece algorithm: unigram or bpe")
    character_coverage: float = _setting(0.9995, "share of characters covered by pieces; the rest fall back to bytes")
    byte_fallback: bool = _setting(True, "encode unknown characters as bytes (needs vocab_size > 300)")
    max_sentences: int = _setting(300_000, "sentences used to train the tokenizer at most")


@dataclasses.dataclass
class DataConfig:
    """Where the text comes from and how it is cleaned and batched."""

    dataset: str | None = _setting(
        None, "Hugging Face hub name, local file or save_to_disk folder (default: the shipped corpus)"
    )
    dataset_config: str | None = _setting(None, "hub dataset configuration, e.g. wikitext-103-raw-v1")
    split: str = _setting("train", "dataset split to train on")
    text_column: str | None = _setting(None, "column holding the text (auto-detected when there is one string column)")
    data_files: tuple[str, ...] = _setting((), "local .txt/.csv/.tsv/.json/.jsonl/.parquet files")
    streaming: bool = _setting(False, "stream a large hub dataset instead of downloading it whole")
    limit: int | None = _setting(None, "use at most this many sentences")
    lowercase: bool = _setting(False, "lower-case all text")
    split_sentences: bool = _setting(False, "split paragraphs into sentences")
    deduplicate: bool = _setting(True, "drop repeated sentences")
    min_tokens: int = _setting(1, "drop sentences with fewer tokens")
    max_tokens: int = _setting(48, "drop sentences with more tokens")
    long_tokens: int = _setting(17, "sentences of this many tokens or more are --long-repeats times in each pass")
    long_repeats: int = _setting(1, "passes' copies of each long sentence (1: no oversampling)")
    # Denoising noise on the encoder input (Shen et al. 2020).
    word_dropout_rate: float = _setting(0.0, "denoising: drop each encoder token with this probability")
    word_blank_rate: float = _setting(0.0, "denoising: replace each encoder token by <unk> with this probability")
    shuffle_distance: int = _setting(0, "denoising: move encoder tokens at most this far")


@dataclasses.dataclass
class ModelConfig:
    """Architecture and training objective of the recurrent autoencoder."""

    vocab_size: int = _setting(4000, "output vocabulary size; --vocab-size sets it with the tokenizer's")
    embedding_dim: int = _setting(128, "token embedding size")
    hidden_dim: int = _setting(256, "recurrent state size")
    latent_dim: int = _setting(256, "size of the latent (context) vector")
    num_layers: int = _setting(1, "recurrent layers in the encoder and in the decoder")
    cell_type: str = _setting("lstm", "lstm, gru or rnn")
    bidirectional: bool = _setting(True, "bidirectional encoder")
    reverse_encoder_input: bool = _setting(False, "feed the encoder the sentence backwards")
    embedding_dropout_rate: float = _setting(0.0, "dropout on embeddings")
    decoder_word_dropout_rate: float = _setting(
        0.0, "replace each decoder input token by <unk> with this probability while training (Bowman et al. 2016)"
    )
    dropout_rate: float = _setting(0.0, "dropout between layers and before the output")
    tie_embeddings: bool = _setting(False, "output projection shares the embedding matrix")
    latent_mode: str = _setting("deterministic", "deterministic or variational")
    # Scheduled sampling (Bengio et al. 2015).
    sampling_schedule: str = _setting(
        "inverse_sigmoid", "scheduled sampling: constant, linear, exponential or inverse_sigmoid"
    )
    sampling_mode: str = _setting("parallel", "parallel (fast, two passes) or sequential (exact step loop)")
    sampling_k: float = _setting(2000.0, "k of the schedule (Bengio et al. 2015)")
    sampling_c: float = _setting(1e-4, "slope c of the linear schedule")
    sampling_min: float = _setting(0.75, "lowest teacher-forcing probability")
    sampling_passes: int = _setting(1, "parallel mode: forward passes before the one with gradient")
    sampling_greedy: bool = _setting(False, "feed the argmax token instead of a sampled one")
    # Variational mode: KL annealing and free bits.
    kl_schedule: str = _setting("logistic", "variational: KL weight schedule linear, logistic, cyclical or constant")
    kl_anneal_steps: int = _setting(5000, "variational: steps of the KL annealing")
    kl_cycles: int = _setting(4, "variational: cycles of the cyclical schedule")
    free_bits: float = _setting(0.0, "variational: free bits per latent dimension (nats)")
    label_smoothing: float = _setting(
        0.0, "spread this share of each target over the vocabulary (training objective only)"
    )

    def validate(self) -> None:
        """Raise ValueError naming the first impossible setting."""
        _positive(self, "vocab_size", "embedding_dim", "hidden_dim", "latent_dim", "num_layers")
        _choice(self, "cell_type", CELL_TYPES)
        _choice(self, "latent_mode", LATENT_MODES)
        _choice(self, "sampling_schedule", SAMPLING_SCHEDULES)
        _choice(self, "sampling_mode", SAMPLING_MODES)
        _choice(self, "kl_schedule", KL_SCHEDULES)
        for name in ("embedding_dropout_rate", "decoder_word_dropout_rate", "dropout_rate", "sampling_min",
                     "label_smoothing"):  # fmt: skip
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

    epochs: int = _setting(10, "passes over the training data")
    batch_size: int = _setting(128, "global batch (per replica times replicas)")
    learning_rate: float = _setting(2e-3, "optimizer learning rate (the peak, after any warm-up)")
    learning_rate_schedule: str = _setting(
        "constant", "constant or cosine (decays to 5% of the peak over --decay-steps)"
    )
    warmup_steps: int = _setting(0, "linear learning-rate warm-up from 0 over this many steps")
    decay_steps: int = _setting(0, "cosine: steps of the decay after the warm-up (0: epochs x batches per epoch)")
    optimizer: str = _setting("adam", "adam or sgd")
    clipnorm: float = _setting(1.0, "clip the global gradient norm (0: off)")
    seed: int = _setting(0, "random seed")
    strategy: str = _setting("auto", "auto, default, mirrored, multi-worker or tpu")
    mixed_precision: str = _setting(
        "auto", "auto (float16 on GPUs, bfloat16 on CPUs with AMX/AVX512-BF16), on/float16, bfloat16 or off"
    )
    checkpoint_every_steps: int = _setting(0, "also checkpoint every N steps (0: each epoch only)")
    early_stopping_patience: int = _setting(3, "stop after N epochs without a better validation loss (0: off)")
    reduce_lr_patience: int = _setting(0, "halve the learning rate after N flat epochs (0: off)")
    keep_best: bool = _setting(False, "replace RUN/model only by an epoch with a lower validation loss")
    steps_per_epoch: int | None = _setting(None, "batches per epoch (default: the whole data)")
    validation_size: int = _setting(2000, "validation sentences at most")
    max_minutes: float | None = _setting(None, "stop after this much wall time, keeping the model")
    init_from: str | None = _setting(
        None, "start from this model folder's weights and tokenizer, carrying on its step count (training.increments)"
    )


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
