"""Greedy, beam and sampled decoding from latent vectors, one compiled loop per batch.

Every method runs the whole batch in a single `tf.function` around a
`tf.while_loop` over `model.decoder_step`, and stops as soon as every row (or
every beam) has emitted `</s>`, or after `max_length` tokens. A row that reaches
`max_length` tokens gets one more step that only checks whether `</s>` comes
next (the arg-max for greedy and beam search, the drawn token for sampling);
if not, it is returned truncated with `finished=False`.

`<pad>` and `<s>` are never emitted: their logits are set to -inf, so all
reported probabilities are under the model's distribution renormalised over
the other tokens, without temperature or top-k/top-p filtering.

The compiled function is cached per model and per (method, max_length,
beam_width, seeded) with an input signature, so new batch sizes and new values
of temperature, top_k, top_p and length_penalty do not retrace.
"""

from __future__ import annotations

import dataclasses
import weakref

import numpy as np
import tensorflow as tf

from textae.text import beam_search, losses
from textae.text.tokenizer import BOS_ID, EOS_ID, PAD_ID

METHODS = ("greedy", "beam", "sample")
_DECODERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> {key: tf.function}


@dataclasses.dataclass(frozen=True)
class DecodingSettings:
    """How to turn latent vectors into token sequences.

    Args:
        method: "greedy", "beam" or "sample".
        max_length: the most tokens per sentence, not counting `</s>`.
        beam_width: beams per sentence (beam search).
        length_penalty: GNMT alpha; beams are ranked by score / ((5 + len) / 6) ** alpha,
            len counting `</s>`; 0 ranks by the raw log-probability.
        temperature: divides the logits before sampling.
        top_k: sample among the k most likely tokens only; 0 turns it off.
        top_p: nucleus sampling, the smallest set of tokens with this much mass; 1 turns it off.
        seed: makes sampling reproducible; None draws from TensorFlow's global generator.
        correction_steps: re-encode the output and correct the latent this many times, keeping the
            candidate whose re-encoding is nearest the latent (`textae.text.correction`); 0 turns it off.
    """

    method: str = "greedy"
    max_length: int = 64
    beam_width: int = 4
    length_penalty: float = 0.6
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    seed: int | None = None
    correction_steps: int = 0

    def validate(self) -> None:
        """Raise ValueError naming the first impossible setting."""
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}; got {self.method!r}.")
        for name, minimum in (("max_length", 1), ("beam_width", 1), ("top_k", 0), ("correction_steps", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
                raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
        if not (np.isfinite(self.temperature) and self.temperature > 0):
            raise ValueError(f"temperature must be a positive number, got {self.temperature!r}; use greedy for 0.")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p!r}; 1 turns nucleus sampling off.")
        if not (np.isfinite(self.length_penalty) and self.length_penalty >= 0):
            raise ValueError(f"length_penalty must be >= 0, got {self.length_penalty!r}; 0 turns it off.")
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer))):
            raise ValueError(f"seed must be an integer or None, got {self.seed!r}.")


@dataclasses.dataclass
class DecodeResult:
    """Decoded sentences as right-padded token ids and their probabilities."""

    tokens: np.ndarray  # (B, L) int32, padded with 0, without <s> and </s>
    lengths: np.ndarray  # (B,) tokens before </s>
    token_probabilities: np.ndarray  # (B, L) the model's probability of each token, 0 on padding
    log_probability: np.ndarray  # (B,) sum of log-probabilities of the tokens and of </s> if emitted
    finished: np.ndarray  # (B,) emitted </s>


def decode(model, latent, settings: DecodingSettings = DecodingSettings()) -> DecodeResult:
    """Decode a batch of latent vectors with one compiled graph loop.

    Args:
        model: a built `TextAutoencoder`.
        latent: `(B, Z)` latent vectors.
        settings: the decoding method and its parameters.

    Returns:
        A `DecodeResult`; for beam search, the best beam of each row.
    """
    settings.validate()
    latent = np.asarray(latent, np.float32)
    latent_dim = model.model_config.latent_dim
    if latent.ndim != 2 or latent.shape[1] != latent_dim:
        raise ValueError(f"latent must have shape (batch, {latent_dim}), got {latent.shape}.")
    vocab_size = model.model_config.vocab_size
    if settings.method == "beam" and settings.beam_width > vocab_size - 2:
        raise ValueError(f"beam_width {settings.beam_width} exceeds the {vocab_size - 2} emittable tokens.")
    function = compiled_decoder(model, settings)
    seed = 0 if settings.seed is None else settings.seed % (2**63)
    outputs = function(
        tf.constant(latent),
        tf.constant(settings.temperature, tf.float32),
        tf.constant(settings.top_k, tf.int32),
        tf.constant(settings.top_p, tf.float32),
        tf.constant(settings.length_penalty, tf.float32),
        tf.constant(seed, tf.int64),
    )
    tokens, probabilities, lengths, log_probability, finished = (output.numpy() for output in outputs)
    width = int(lengths.max()) if lengths.size else 0
    return DecodeResult(
        tokens=tokens[:, :width].astype(np.int32),
        lengths=lengths.astype(np.int32),
        token_probabilities=probabilities[:, :width],
        log_probability=log_probability,
        finished=finished,
    )


def compiled_decoder(model, settings: DecodingSettings):
    """The cached `tf.function` decoding for `model` with these static settings."""
    if settings.method == "beam":
        key = ("beam", settings.max_length, settings.beam_width)
    elif settings.method == "sample":
        key = ("sample", settings.max_length, settings.seed is not None)
    else:
        key = ("greedy", settings.max_length)
    decoders = _DECODERS.setdefault(model, {})
    if key not in decoders:
        decoders[key] = _build_decoder(weakref.ref(model), model.model_config.latent_dim, key)
    return decoders[key]


def _build_decoder(model_ref, latent_dim, key):
    """A `tf.function` for one static key; it holds the model weakly so the cache does not keep it alive."""
    method, max_length = key[0], key[1]
    scalar = lambda dtype: tf.TensorSpec([], dtype)
    signature = [tf.TensorSpec([None, latent_dim], tf.float32)] + [scalar(tf.float32), scalar(tf.int32)]
    signature += [scalar(tf.float32), scalar(tf.float32), scalar(tf.int64)]

    @tf.function(input_signature=signature, reduce_retracing=True)
    def run(latent, temperature, top_k, top_p, length_penalty, seed):
        model = model_ref()
        if method == "beam":
            weights = model.decoder_step_weights(logit_bias=_banned_logits(model.model_config.vocab_size))
            return beam_search.beam_search(model, latent, max_length, key[2], length_penalty, weights)
        if method == "greedy":
            return _step_loop(model, latent, max_length, lambda logits, most_likely, step, rows: most_likely)

        batch, vocab = tf.shape(latent)[0], model.model_config.vocab_size

        def draw(logits, most_likely, step, rows):
            filtered = filter_logits(logits / temperature, top_k, top_p)
            if not key[2]:
                return tf.cast(tf.random.categorical(filtered, 1)[:, 0], tf.int32)
            # Seeded: Gumbel-max with noise drawn for the whole batch and read at each row's own index, so a
            # row's sample depends on the seed, its position and the step only, never on which rows still run
            # (a stateless draw fills its output row by row: row r's noise is the same for any batch size).
            uniform = tf.random.stateless_uniform(
                [batch, vocab], seed=tf.stack([seed, tf.cast(step, tf.int64)]), minval=1e-20, maxval=1.0
            )
            gumbel = -tf.math.log(-tf.math.log(tf.gather(uniform, rows)))
            return tf.argmax(filtered + gumbel, axis=-1, output_type=tf.int32)

        return _step_loop(model, latent, max_length, draw)

    return run


def _banned_logits(vocab_size: int):
    """`(V,)` float32 logit bias: -inf for `<pad>` and `<s>`, which are never emitted, else 0."""
    banned = tf.reduce_any(tf.equal(tf.range(vocab_size)[:, None], [PAD_ID, BOS_ID]), axis=-1)
    return tf.where(banned, tf.constant(-np.inf), 0.0)


def filter_logits(logits, top_k, top_p):
    """Top-k then nucleus (top-p) filtering of `(N, V)` logits; removed tokens get -inf."""
    top_k, top_p = tf.convert_to_tensor(top_k, tf.int32), tf.convert_to_tensor(top_p, logits.dtype)
    # Sorting the vocabulary at every step is the cost; skip it when neither filter is on.
    return tf.cond((top_k > 0) | (top_p < 1.0), lambda: _filter(logits, top_k, top_p), lambda: logits)


def _filter(logits, top_k, top_p):
    vocab = tf.shape(logits)[-1]
    negative_infinity = tf.constant(-np.inf, logits.dtype)
    sorted_logits = tf.sort(logits, axis=-1, direction="DESCENDING")  # (N, V)
    k = tf.where(top_k > 0, tf.minimum(top_k, vocab), vocab)
    kth_largest = sorted_logits[:, k - 1 : k]  # (N, 1)
    logits = tf.where(logits < kth_largest, negative_infinity, logits)
    sorted_logits = tf.where(tf.range(vocab)[None, :] < k, sorted_logits, negative_infinity)
    # Keep a token while the mass of the tokens ranked before it is below top_p (the first always stays).
    mass_before = tf.math.cumsum(tf.nn.softmax(sorted_logits, axis=-1), axis=-1, exclusive=True)
    kept = tf.where(mass_before < top_p, sorted_logits, tf.constant(np.inf, logits.dtype))
    threshold = tf.reduce_min(kept, axis=-1, keepdims=True)  # (N, 1), smallest kept logit
    nucleus = tf.where(logits < threshold, negative_infinity, logits)
    return tf.where(top_p < 1.0, nucleus, logits)


def _step_loop(model, latent, max_length, choose):
    """Greedy or sampled decoding; `choose(logits (A, V), most_likely (A,), step, rows (A,)) -> tokens (A,)`.

    `rows` are the batch indices of the A rows still running.

    A row leaves the batch once it emits `</s>`: its index, previous token,
    latent and states are gathered away, so each step costs in proportion to
    the rows still running rather than to the whole batch (sentences of a
    batch differ in length; with the longest twice the mean, half the work of
    a fixed-batch loop would be wasted). Every step records `(row, token,
    probability, log-probability)` for its rows; the outputs are scattered
    into place after the loop.
    """
    batch = tf.shape(latent)[0]
    weights = model.decoder_step_weights(logit_bias=_banned_logits(model.model_config.vocab_size))

    def next_token(previous, states, latent, step, rows):
        logits, states = model.decoder_step(previous, states, latent, weights=weights)
        logits = tf.cast(logits, tf.float32)  # (A, V); <pad> and <s> are -inf (the weights' logit bias)
        most_likely = losses.argmax(logits)
        chosen = choose(logits, most_likely, step, rows)
        # log p = logit - log-sum-exp, the log-sum-exp read off the most likely token (no underflow).
        log_sum_exp = losses.log_sum_exp(logits, tf.nn.softmax(logits), most_likely)
        return chosen, tf.gather(logits, chosen, batch_dims=1) - log_sum_exp, states

    def body(step, rows, previous, states, latent, records):
        chosen, log_prob, states = next_token(previous, states, latent, step, rows)
        values = (rows, chosen, log_prob, tf.fill(tf.shape(rows), step))
        records = [array.write(step, value) for array, value in zip(records, values)]
        running = tf.where(tf.not_equal(chosen, EOS_ID))[:, 0]
        keep = lambda value: tf.gather(value, running)  # noqa: E731
        return step + 1, keep(rows), keep(chosen), tf.nest.map_structure(keep, states), keep(latent), records

    states = model.decoder_initial_state(latent)
    dtypes = (tf.int32, tf.int32, tf.float32, tf.int32)  # row, token, log-probability, step
    records = [tf.TensorArray(dtype, 0, dynamic_size=True, infer_shape=False, element_shape=[None]) for dtype in dtypes]
    loop_vars = (0, tf.range(batch), tf.fill([batch], BOS_ID), states, latent, records)
    invariants = (
        tf.TensorShape([]),
        tf.TensorShape([None]),
        tf.TensorShape([None]),
        tf.nest.map_structure(lambda state: tf.TensorShape([None, state.shape[-1]]), states),
        tf.TensorShape([None, latent.shape[-1]]),
        [tf.TensorShape(None)] * len(dtypes),
    )
    step, rows, previous, states, latent, records = tf.while_loop(
        lambda step, rows, *_: (step < max_length) & (tf.size(rows) > 0),
        body,
        loop_vars,
        shape_invariants=invariants,
        maximum_iterations=max_length,
    )
    # Rows still running after max_length tokens are finished only if </s> comes next (none: an empty step).
    chosen, log_prob, _ = next_token(previous, states, latent, max_length, rows)
    ends = tf.equal(chosen, EOS_ID)
    values = (rows, chosen, log_prob, tf.fill(tf.shape(rows), step))
    records = [array.write(step, tf.boolean_mask(value, ends)) for array, value in zip(records, values)]
    rows, chosen, log_prob, columns = (array.concat() for array in records)

    emits = tf.not_equal(chosen, EOS_ID)
    emitted_at = tf.boolean_mask(tf.stack([rows, columns], axis=1), emits)
    shape = tf.stack([batch, max_length])
    tokens = tf.scatter_nd(emitted_at, tf.boolean_mask(chosen, emits), shape)
    probabilities = tf.scatter_nd(emitted_at, tf.exp(tf.boolean_mask(log_prob, emits)), shape)
    lengths = tf.math.unsorted_segment_sum(tf.cast(emits, tf.int32), rows, batch)
    log_probability = tf.math.unsorted_segment_sum(log_prob, rows, batch)
    finished = tf.math.unsorted_segment_sum(tf.cast(~emits, tf.int32), rows, batch) > 0
    return tokens, probabilities, lengths, log_probability, finished
