"""Beam search over `model.decoder_step`, one compiled loop for a whole batch (see `textae.text.decoding`)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from textae.text import losses
from textae.text.tokenizer import BOS_ID, EOS_ID

DEAD_BEAM_SCORE = -1e9  # start score of beams 1..W-1, so step 0 expands beam 0 only


def beam_search(model, latent, max_length, beam_width, length_penalty, weights):
    """Beam search keeping a pool of finished hypotheses per row; returns the best hypothesis of each row.

    Alive beams hold unfinished hypotheses only. At each step the 2W best continuations of a row's W
    alive beams are ranked by log-probability: those ending in `</s>` that rank among the first W join
    the row's pool of W finished hypotheses (kept by GNMT-normalised score), and the W best others stay
    alive, so a finished hypothesis is never pushed out by longer, still running ones (the rule of
    fairseq and Hugging Face). A row is done once its pool holds W hypotheses that no alive beam can
    still beat (an exact bound, see `pool_is_final`); its pool then stays fixed while other rows run.
    At `max_length`, a row with finished hypotheses also weighs its alive beams closed with `</s>` against
    them; a row with an empty pool returns its best alive beam, finished only if `</s>` is its most likely
    next token.

    `weights` are `model.decoder_step_weights` with `<pad>` and `<s>` banned (a -inf logit bias).
    """
    batch, width, vocab = tf.shape(latent)[0], beam_width, model.model_config.vocab_size
    beams = batch * width
    latent = tf.repeat(latent, width, axis=0)  # (B*W, Z), beam-major within a row
    states = model.decoder_initial_state(latent)
    first_beam = tf.equal(tf.range(width), 0)
    scores = tf.tile(tf.where(first_beam, 0.0, DEAD_BEAM_SCORE), [batch])  # (B*W,)
    per_beam = min(2 * width, vocab)  # continuations considered per beam
    rank = tf.tile(tf.range(2 * width), [batch])  # (B*2W,) its rank within the row

    def normalise(score, length):
        """GNMT length normalisation (Wu et al. 2016), `length` counting </s>."""
        return score / tf.pow((5.0 + tf.cast(length, tf.float32)) / 6.0, length_penalty)

    def pool_is_final(ranks, alive_scores):
        """`(B,)` done rows: the pool is full and no alive beam can still beat its worst hypothesis.

        Log-probabilities only fall as a beam grows and the normaliser grows with length, so an alive
        beam's best possible normalised score is its score now over the normaliser at `max_length` + 1.
        """
        best_alive = tf.reduce_max(tf.reshape(alive_scores, [batch, width]), axis=1)
        return tf.reduce_all(ranks > -np.inf, axis=1) & (ranks[:, -1] >= normalise(best_alive, max_length + 1))

    def add_to_pool(pool, done, candidates, ranks):
        """The W best of the pool and the candidates `(B, C, ...)` by `ranks (B, C)` (-inf: not finished)."""
        merged = [tf.concat([old, new], axis=1) for old, new in zip(pool, candidates + [ranks])]
        best, pick = tf.math.top_k(merged[-1], k=width)  # (B, W)
        updated = [tf.gather(value, pick, batch_dims=1) for value in merged[:-1]] + [best]
        return [_where_rows(done, old, new) for old, new in zip(pool, updated)]

    def body(step, previous, states, alive, pool, done):
        tokens, probabilities, lengths, scores = alive
        logits, states = model.decoder_step(previous, states, latent, weights=weights)
        logits = tf.cast(logits, tf.float32)  # (B*W, V)
        # A row's 2W best continuations are among each of its beams' own best: rank each beam's tokens by
        # logit (the order of their log-probabilities), then take only those few log-probabilities, with
        # the log-sum-exp read off the fast softmax instead of a log-softmax over the vocabulary.
        beam_logits, beam_tokens = tf.math.top_k(logits, k=per_beam)  # (B*W, K)
        log_sum_exp = losses.log_sum_exp(logits, tf.nn.softmax(logits), beam_tokens[:, 0])
        beam_log_probs = beam_logits - log_sum_exp[:, None]
        candidates = tf.reshape(scores[:, None] + beam_log_probs, [batch, width * per_beam])
        top_scores, top = tf.math.top_k(candidates, k=2 * width)  # (B, 2W)
        top_scores = tf.reshape(top_scores, [-1])  # (B*2W,)
        flat = tf.reshape(top + tf.range(batch)[:, None] * width * per_beam, [-1])  # into (B*W*K,)
        parent = flat // per_beam  # flat index of the beam each candidate extends
        chosen = tf.gather(tf.reshape(beam_tokens, [-1]), flat)
        chosen_prob = tf.exp(tf.gather(tf.reshape(beam_log_probs, [-1]), flat))
        ends = tf.equal(chosen, EOS_ID)
        live = top_scores > DEAD_BEAM_SCORE / 2  # not an extension of an unused beam (first step)
        tokens, probabilities, lengths = (tf.gather(value, parent) for value in (tokens, probabilities, lengths))

        # Finished candidates (</s> not written into the tokens; the normaliser counts it).
        finishing = ends & live & (rank < width)
        ranks = tf.where(finishing, normalise(top_scores, lengths + 1), -np.inf)
        as_rows = lambda value: tf.reshape(value, tf.concat([[batch, 2 * width], tf.shape(value)[1:]], 0))  # noqa: E731
        candidates = [as_rows(value) for value in (tokens, probabilities, lengths, top_scores)]
        pool = add_to_pool(pool, done, candidates, as_rows(ranks))

        # The W best unfinished candidates stay alive (at most W of the 2W end, so W remain).
        next_scores, keep = tf.math.top_k(tf.reshape(tf.where(ends, -np.inf, top_scores), [batch, 2 * width]), k=width)
        keep = tf.reshape(keep + tf.range(batch)[:, None] * 2 * width, [-1])  # (B*W,) into the candidates
        chosen = tf.gather(chosen, keep)
        alive = (
            _write(tf.gather(tokens, keep), step, chosen),
            _write(tf.gather(probabilities, keep), step, tf.gather(chosen_prob, keep)),
            tf.gather(lengths, keep) + 1,
            tf.reshape(next_scores, [beams]),
        )
        states = tf.nest.map_structure(lambda state: tf.gather(state, tf.gather(parent, keep)), states)
        return step + 1, chosen, states, alive, pool, pool_is_final(pool[-1], alive[-1])

    alive = (
        tf.zeros([beams, max_length], tf.int32),
        tf.zeros([beams, max_length], tf.float32),
        tf.zeros([beams], tf.int32),
        scores,
    )
    pool = [
        tf.zeros([batch, width, max_length], tf.int32),
        tf.zeros([batch, width, max_length], tf.float32),
        tf.zeros([batch, width], tf.int32),
        tf.zeros([batch, width], tf.float32),  # log-probability, </s> included
        tf.fill([batch, width], tf.constant(-np.inf)),  # normalised score; -inf: an empty slot
    ]
    _, previous, states, alive, pool, _ = tf.while_loop(
        lambda step, *rest: (step < max_length) & ~tf.reduce_all(rest[-1]),  # some row is not done
        body,
        (0, tf.fill([beams], BOS_ID), states, alive, pool, tf.zeros([batch], tf.bool)),
        maximum_iterations=max_length,
    )
    tokens, probabilities, lengths, scores = alive
    logits, _ = model.decoder_step(previous, states, latent, weights=weights)
    log_probs = tf.nn.log_softmax(tf.cast(logits, tf.float32))
    has_pool = pool[-1][:, 0] > -np.inf  # the pool is sorted: slot 0 is its best
    # A row with finished hypotheses also weighs its alive beams, closed with </s>, against them.
    closed = scores + log_probs[:, EOS_ID]
    closed_ranks = tf.where(scores > DEAD_BEAM_SCORE / 2, normalise(closed, lengths + 1), -np.inf)
    as_rows = lambda value: tf.reshape(value, tf.concat([[batch, width], tf.shape(value)[1:]], 0))  # noqa: E731
    candidates = [as_rows(value) for value in (tokens, probabilities, lengths, closed)]
    pool = add_to_pool(pool, ~has_pool, candidates, as_rows(closed_ranks))  # rows without a pool keep theirs empty
    # Rows with no finished hypothesis return their best alive beam: finished if </s> is its most likely next token.
    ends = tf.equal(losses.argmax(log_probs), EOS_ID)
    scores = scores + tf.where(ends, log_probs[:, EOS_ID], 0.0)
    normalised = normalise(scores, lengths + tf.cast(ends, tf.int32))
    best_alive = tf.range(batch) * width + tf.argmax(tf.reshape(normalised, [batch, width]), -1, tf.int32)  # (B,)
    fallback = [tf.gather(value, best_alive) for value in (tokens, probabilities, lengths, scores, ends)]
    best = [value[:, 0] for value in pool[:4]] + [has_pool]
    return tuple(_where_rows(has_pool, mine, other) for mine, other in zip(best, fallback))


def _where_rows(condition, if_true, if_false):
    """`tf.where` with a `(B,)` condition choosing whole rows of `(B, ...)` tensors."""
    return tf.where(tf.reshape(condition, [-1] + [1] * (len(if_true.shape) - 1)), if_true, if_false)


def _write(buffer, step, values):
    """Buffer `(N, L)` with column `step` replaced by `values (N,)`."""
    column = tf.equal(tf.range(tf.shape(buffer)[1]), step)[None, :]
    return tf.where(column, values[:, None], buffer)
