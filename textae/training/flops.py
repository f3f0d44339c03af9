"""Floating-point operations of the autoencoder, counted from its shapes.

A matrix product of (m, k) by (k, n) costs 2·m·k·n FLOPs (a multiply and an
add). Per real token, with E embedding, H hidden, Z latent, V vocabulary and
G gates (4 LSTM, 3 GRU, 1 simple RNN):

- encoder, per encoder token, per layer and direction: 2·(I + H)·G·H, where I
  is the layer's input width (E for the first layer, H or 2H after it);
- decoder, per decoder token, per layer: 2·(I + H)·G·H with I = E for the first
  layer and H after it; the latent vector, fed at every step, is projected once
  per sentence (2·Z·G·H), as the CPU path computes it (`constant_input_units`);
- output projection, per decoder token: 2·H·V (tied: 2·H·E + 2·E·V);
- latent and initial-state projections, per sentence: small, counted too.

Elementwise gate arithmetic, softmax and embedding look-ups are left out
(they are a few per cent). Training costs three forward passes (the backward
pass is about twice the forward), the convention of Kaplan et al. 2020.
"""

from __future__ import annotations

import dataclasses

from textae.text.config import ModelConfig

GATES = {"lstm": 4, "gru": 3, "rnn": 1}


@dataclasses.dataclass(frozen=True)
class ForwardFlops:
    per_encoder_token: float
    per_decoder_token: float
    per_sentence: float

    def batch(self, encoder_tokens: float, decoder_tokens: float, sentences: float) -> float:
        """Forward FLOPs of a batch with these real token counts."""
        return (
            self.per_encoder_token * encoder_tokens
            + self.per_decoder_token * decoder_tokens
            + self.per_sentence * sentences
        )


def forward_flops(config: ModelConfig) -> ForwardFlops:
    """Forward-pass FLOPs of `config`, split by what they scale with."""
    gates, hidden = GATES[config.cell_type], config.hidden_dim
    directions = 2 if config.bidirectional else 1
    encoder = 0.0
    width = config.embedding_dim
    for _ in range(config.num_layers):
        encoder += directions * 2 * (width + hidden) * gates * hidden
        width = directions * hidden
    decoder = 0.0
    width = config.embedding_dim
    for _ in range(config.num_layers):
        decoder += 2 * (width + hidden) * gates * hidden
        width = hidden
    if config.tie_embeddings:
        decoder += 2 * hidden * config.embedding_dim + 2 * config.embedding_dim * config.vocab_size
    else:
        decoder += 2 * hidden * config.vocab_size
    states = 2 if config.cell_type == "lstm" else 1
    context = config.num_layers * directions * states * hidden
    latent_out = 2 * config.latent_dim if config.latent_mode == "variational" else config.latent_dim
    per_sentence = 2 * context * latent_out + 2 * config.latent_dim * config.num_layers * states * hidden
    per_sentence += 2 * config.latent_dim * gates * hidden  # the latent's share of the first decoder layer
    return ForwardFlops(encoder, decoder, per_sentence)


def decode_step_flops(config: ModelConfig) -> float:
    """FLOPs of one decoding step for one sentence (decoder cell + output projection).

    The step loop multiplies the whole `[embedding; latent; h]` row by the kernel, latent included.
    """
    return forward_flops(config).per_decoder_token + 2 * config.latent_dim * GATES[config.cell_type] * config.hidden_dim
