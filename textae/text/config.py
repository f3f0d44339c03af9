"""The typed configuration of a text autoencoder: tokenizer, data, model and training.

Every trained model folder stores the whole `Config` as `config.json`, so a
model can always be rebuilt from its folder. `PRESETS` holds named starting
points (`tiny` trains in seconds for tests, `default` is the shipped model).
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

LATENT_MODES = ("deterministic", "variational")
SAMPLING_MODES = ("parallel", "sequential")
KL_SCHEDULES = ("linear", "logistic", "cyclical", "constant")


@dataclasses.dataclass
class TokenizerConfig:
    """SentencePiece settings."""

    vocab_size: int = setting(4000, "subword vocabulary size (tokenizer and model)")
    model_type: str = setting("unigram", "SentencePiece algorithm: unigram or bpe")
    character_coverage: float = setting(0.9995, "share of characters covered by pieces; the rest fall back to bytes")
    byte_fallback: bool = setting(True, "encode unknown characters as bytes (needs vocab_size > 300)")
    max_sentences: int = setting(300_000, "sentences used to train the tokenizer at most")


@dataclasses.dataclass
class DataConfig:
    """Where the text comes from and how it is cleaned and batched."""

    dataset: str | None = setting(
        None,
        "Hugging Face hub name, local file, save_to_disk folder or folder of split files such as a training.mix "
        "(default: the shipped corpus)",
    )
    dataset_config: str | None = setting(None, "hub dataset configuration, e.g. wikitext-103-raw-v1")
    split: str = setting("train", "dataset split to train on")
    text_column: str | None = setting(None, "column holding the text (auto-detected when there is one string column)")
    data_files: tuple[str, ...] = setting((), "local .txt/.csv/.tsv/.json/.jsonl/.parquet files")
    streaming: bool = setting(False, "stream a large hub dataset instead of downloading it whole")
    limit: int | None = setting(None, "use at most this many sentences")
    lowercase: bool = setting(False, "lower-case all text")
    split_sentences: bool = setting(False, "split paragraphs into sentences")
    deduplicate: bool = setting(True, "drop repeated sentences")
    min_tokens: int = setting(1, "drop sentences with fewer tokens")
    max_tokens: int = setting(48, "drop sentences with more tokens")
    long_tokens: int = setting(17, "sentences of this many tokens or more are --long-repeats times in each pass")
    long_repeats: int = setting(1, "passes' copies of each long sentence (1: no oversampling)")
    # Denoising noise on the encoder input (Shen et al. 2020).
    word_dropout_rate: float = setting(0.0, "denoising: drop each encoder token with this probability")
    word_blank_rate: float = setting(0.0, "denoising: replace each encoder token by <unk> with this probability")
    shuffle_distance: int = setting(0, "denoising: move encoder tokens at most this far")


@dataclasses.dataclass
class ModelConfig:
    """Architecture and training objective of the recurrent autoencoder."""

    vocab_size: int = setting(4000, "output vocabulary size; --vocab-size sets it with the tokenizer's")
    embedding_dim: int = setting(128, "token embedding size")
    hidden_dim: int = setting(256, "recurrent state size")
    latent_dim: int = setting(256, "size of the latent (context) vector")
    num_layers: int = setting(1, "recurrent layers in the encoder and in the decoder")
    cell_type: str = setting("lstm", "lstm, gru or rnn")
    bidirectional: bool = setting(True, "bidirectional encoder")
    reverse_encoder_input: bool = setting(False, "feed the encoder the sentence backwards")
    embedding_dropout_rate: float = setting(0.0, "dropout on embeddings")
    decoder_word_dropout_rate: float = setting(
        0.0, "replace each decoder input token by <unk> with this probability while training (Bowman et al. 2016)"
    )
    dropout_rate: float = setting(0.0, "dropout between layers and before the output")
    tie_embeddings: bool = setting(False, "output projection shares the embedding matrix")
    latent_mode: str = setting("deterministic", "deterministic or variational")
    # Scheduled sampling (Bengio et al. 2015).
    sampling_schedule: str = setting(
        "inverse_sigmoid", "scheduled sampling: constant, linear, exponential or inverse_sigmoid"
    )
    sampling_mode: str = setting("parallel", "parallel (fast, two passes) or sequential (exact step loop)")
    sampling_k: float = setting(2000.0, "k of the schedule (Bengio et al. 2015)")
    sampling_c: float = setting(1e-4, "slope c of the linear schedule")
    sampling_min: float = setting(0.75, "lowest teacher-forcing probability")
    sampling_passes: int = setting(1, "parallel mode: forward passes before the one with gradient")
    sampling_greedy: bool = setting(False, "feed the argmax token instead of a sampled one")
    # Variational mode: KL annealing and free bits.
    kl_schedule: str = setting("logistic", "variational: KL weight schedule linear, logistic, cyclical or constant")
    kl_anneal_steps: int = setting(5000, "variational: steps of the KL annealing")
    kl_cycles: int = setting(4, "variational: cycles of the cyclical schedule")
    free_bits: float = setting(0.0, "variational: free bits per latent dimension (nats)")
    label_smoothing: float = setting(
        0.0, "spread this share of each target over the vocabulary (training objective only)"
    )

    def validate(self) -> None:
        """Raise ValueError naming the first impossible setting."""
        check_positive(self, "vocab_size", "embedding_dim", "hidden_dim", "latent_dim", "num_layers")
        check_choice(self, "cell_type", CELL_TYPES)
        check_choice(self, "latent_mode", LATENT_MODES)
        check_choice(self, "sampling_mode", SAMPLING_MODES)
        check_choice(self, "kl_schedule", KL_SCHEDULES)
        check_shares(self, "embedding_dropout_rate", "decoder_word_dropout_rate", "dropout_rate", "label_smoothing")
        validate_sampling(self)
        if self.sampling_passes < 1:
            raise ValueError(f"sampling_passes must be at least 1, got {self.sampling_passes}.")
        if self.free_bits < 0:
            raise ValueError(f"free_bits must be 0 or more, got {self.free_bits}.")
        if self.vocab_size < 5:
            raise ValueError(f"vocab_size must be at least 5 (4 special ids), got {self.vocab_size}.")


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
        return build_config(cls, values)


def preset(name: str) -> Config:
    """Return a fresh Config for a named preset: tiny, small or default."""
    return Config.from_dict(preset_values(PRESETS, name))


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
