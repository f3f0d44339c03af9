"""One training step, shared by `model.fit` and the multi-worker custom loop.

The loss is the masked cross-entropy summed over this replica's real tokens
and divided by the number of real tokens in the *global* batch (an all-reduce
over replicas), so that the optimizer's sum of replica gradients is exactly
the gradient of the global per-token mean, however the tokens fall on
replicas, and padding contributes nothing. In variational mode the KL term
(summed over sentences, weighted by the annealed beta, with free bits) is
added before the same division: the loss is the negative ELBO per token.

Scheduled sampling (Bengio et al. 2015) replaces gold decoder inputs by the
model's own tokens with probability 1 - epsilon:
- `parallel` (Duckworth et al. 2019): a teacher-forced pass without gradient
  through the fused recurrent layers, one token drawn at every position, gold
  and drawn tokens mixed by epsilon, then the pass with gradient (repeat the
  first pass `sampling_passes` times to condition on longer self-generated runs);
- `sequential`: the exact step-by-step loop feeding the model's own tokens,
  compiled as a `tf.while_loop`, slow but faithful, for comparison.
"""

from __future__ import annotations

import tensorflow as tf

from textae import schedules
from textae.text import losses
from textae.text.tokenizer import PAD_ID


def draw_tokens(logits, greedy: bool):
    """One token per row of `(N, V)` logits: the arg-max, or a sample from their softmax.

    `tf.random.categorical` draws one uniform number per row; the Gumbel-max trick it replaced drew one
    per logit, and generating those took half of parallel scheduled sampling's extra pass.
    """
    if greedy:
        return losses.argmax(logits)
    drawn = tf.random.categorical(logits, 1, dtype=tf.int32)[:, 0]
    # Non-finite logits make it return V (out of range); the NaN guard then stops training on the loss.
    return tf.minimum(drawn, tf.shape(logits)[-1] - 1)


def mix_tokens(gold, drawn, mask, epsilon):
    """Decoder inputs: gold where a coin with P(gold)=epsilon says so, else drawn.

    Args:
        gold: `(B, T)` gold decoder inputs (`<s>` + tokens, right-padded).
        drawn: `(B, T)` the model's token at each position; drawn[t] is its guess
            for gold[t + 1].
        mask: `(B, T)` real positions.
        epsilon: scalar probability of keeping the gold token.
    """
    model_inputs = tf.concat([gold[:, :1], drawn[:, :-1]], axis=1)  # shift right; keep <s>
    keep_gold = tf.random.uniform(tf.shape(gold)) < epsilon
    keep_gold = keep_gold | ~mask | (tf.range(tf.shape(gold)[1]) == 0)[None, :]
    return tf.where(keep_gold, gold, model_inputs)


def _parallel_inputs(model, latent, gold, mask, epsilon):
    """Decoder inputs for parallel scheduled sampling (no gradient flows here)."""
    latent = tf.stop_gradient(latent)
    positions = tf.where(mask)  # (N, 2)
    inputs = gold
    for _ in range(model.model_config.sampling_passes):
        hidden = model.decoder_hidden(latent, inputs, mask=mask, training=False)
        logits = model.project(tf.gather_nd(hidden, positions))  # (N, V), real positions only
        drawn = draw_tokens(logits, model.model_config.sampling_greedy)
        drawn = tf.scatter_nd(positions, drawn, tf.shape(gold, out_type=tf.int64))
        inputs = mix_tokens(gold, drawn, mask, epsilon)
    return tf.stop_gradient(inputs)


def sequential_logits(model, latent, gold, epsilon, training):
    """Exact scheduled sampling: a step loop that feeds the model's own tokens.

    Returns:
        `(B, T, V)` logits; step t is conditioned on tokens actually fed so far.
    """
    batch, steps = tf.shape(gold)[0], tf.shape(gold)[1]
    states = model.decoder_initial_state(latent)
    collected = tf.TensorArray(tf.float32, size=steps)

    def body(t, previous, states, collected):
        logits, states = model.decoder_step(previous, states, latent, training=training)
        drawn = draw_tokens(tf.stop_gradient(logits), model.model_config.sampling_greedy)
        gold_next = gold[:, tf.minimum(t + 1, steps - 1)]
        keep_gold = tf.random.uniform([batch]) < epsilon
        return t + 1, tf.where(keep_gold, gold_next, drawn), states, collected.write(t, logits)

    _, _, _, collected = tf.while_loop(
        lambda t, *_: t < steps, body, (tf.constant(0), gold[:, 0], states, collected), maximum_iterations=steps
    )
    return tf.transpose(collected.stack(), [1, 0, 2])


def _global_sum(value):
    """Sum over replicas inside a replica context; the value itself elsewhere."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return value
    return context.all_reduce(tf.distribute.ReduceOp.SUM, value)


def _kl_per_dim(mean, log_variance):
    """KL(N(mean, exp(log_variance)) || N(0, I)) per latent dimension, `(B, Z)`."""
    return 0.5 * (tf.exp(log_variance) + tf.square(mean) - 1.0 - log_variance)


def loss_terms(model, data, training: bool):
    """Forward pass and loss of one batch.

    Returns:
        dict with `loss` (to minimise), `cross_entropy_sum`, `tokens`, `correct`,
        `kl_sum` (per replica), `epsilon`, `kl_weight`.
    """
    inputs, targets = data
    targets = tf.convert_to_tensor(targets, tf.int32)
    gold = tf.convert_to_tensor(inputs["decoder_tokens"], tf.int32)
    mask = tf.not_equal(targets, PAD_ID)  # (B, T+1); equals gold != <pad>
    config = model.model_config
    optimizer = getattr(model, "optimizer", None)  # Keras sets the attribute only in compile()
    step = optimizer.iterations if optimizer is not None else 0
    epsilon = schedules.teacher_forcing_probability(step, config) if training else tf.constant(1.0)

    mean, log_variance = model.encode(inputs["encoder_tokens"], training=training)
    latent = model.reparameterize(mean, log_variance, training=training)
    positions = tf.where(mask)
    labels = tf.gather_nd(targets, positions)  # (N,)
    if training and config.sampling_mode == "sequential":
        logits = tf.gather_nd(sequential_logits(model, latent, gold, epsilon, training), positions)
    else:
        decoder_inputs = gold
        if training:
            decoder_inputs = tf.cond(
                epsilon < 1.0, lambda: _parallel_inputs(model, latent, gold, mask, epsilon), lambda: gold
            )
        hidden = model.decoder_hidden(latent, decoder_inputs, mask=mask, training=training)
        logits = model.project(tf.gather_nd(hidden, positions))  # (N, V), real tokens only
    cross_entropy_sum = tf.reduce_sum(losses.sparse_cross_entropy(labels, logits))
    tokens = tf.cast(tf.shape(labels)[0], tf.float32)
    correct = tf.reduce_sum(tf.cast(losses.correct_predictions(labels, tf.stop_gradient(logits)), tf.float32))

    kl_sum = tf.constant(0.0)
    kl_weight = tf.constant(0.0)
    objective_sum = cross_entropy_sum
    if training and config.label_smoothing > 0:
        # Label smoothing (Szegedy et al. 2016): the target puts `label_smoothing` uniformly on every token,
        # whose cross-entropy is log-sum-exp minus the mean logit.
        uniform_sum = tf.reduce_sum(tf.reduce_logsumexp(logits, axis=-1) - tf.reduce_mean(logits, axis=-1))
        objective_sum = (1.0 - config.label_smoothing) * cross_entropy_sum + config.label_smoothing * uniform_sum
    if log_variance is not None:
        kl_per_dim = _kl_per_dim(mean, log_variance)  # (B, Z)
        kl_sum = tf.reduce_sum(kl_per_dim)
        kl_weight = schedules.kl_weight(step, config) if training else tf.constant(1.0)
        kl_term = kl_sum
        if config.free_bits > 0:
            # Free bits per dimension on the batch mean (Kingma et al. 2016; Li et al. 2019).
            batch = tf.cast(tf.shape(mean)[0], tf.float32)
            kl_term = batch * tf.reduce_sum(tf.maximum(tf.reduce_mean(kl_per_dim, 0), config.free_bits))
        objective_sum += kl_weight * kl_term
    loss = objective_sum / tf.maximum(_global_sum(tokens), 1.0)
    return {
        "loss": loss,
        "objective_sum": objective_sum,
        "cross_entropy_sum": cross_entropy_sum,
        "tokens": tokens,
        "correct": correct,
        "kl_sum": kl_sum,
        "sentences": tf.cast(tf.shape(targets)[0], tf.float32),
        "epsilon": epsilon,
        "kl_weight": kl_weight,
    }


def sentence_terms(model, data):
    """Evaluation-mode (teacher-forced) sums of one batch per sentence, for reports by sentence length.

    Returns:
        dict of `(B,)` tensors `cross_entropy_sum`, `tokens`, `correct`, `kl_sum`, and `mean` `(B, Z)`.
    """
    inputs, targets = data
    targets = tf.convert_to_tensor(targets, tf.int32)
    gold = tf.convert_to_tensor(inputs["decoder_tokens"], tf.int32)
    mask = tf.not_equal(targets, PAD_ID)  # (B, T+1)
    rows = tf.shape(targets)[0]
    mean, log_variance = model.encode(inputs["encoder_tokens"], training=False)
    positions = tf.where(mask)  # (N, 2)
    labels = tf.gather_nd(targets, positions)  # (N,)
    hidden = model.decoder_hidden(mean, gold, mask=mask, training=False)
    logits = model.project(tf.gather_nd(hidden, positions))  # (N, V)
    sentence = tf.cast(positions[:, 0], tf.int32)  # (N,) the row of each token

    def per_sentence(values):
        return tf.math.unsorted_segment_sum(tf.cast(values, tf.float32), sentence, rows)

    kl_sum = tf.zeros([rows])
    if log_variance is not None:
        kl_sum = tf.reduce_sum(_kl_per_dim(mean, log_variance), axis=1)
    return {
        "cross_entropy_sum": per_sentence(losses.sparse_cross_entropy(labels, logits)),
        "tokens": per_sentence(tf.ones_like(labels)),
        "correct": per_sentence(losses.correct_predictions(labels, logits)),
        "kl_sum": kl_sum,
        "mean": mean,
    }


def _update_trackers(model, terms, training: bool):
    tokens = terms["tokens"]
    safe_tokens = tf.maximum(tokens, 1.0)
    model.trackers["loss"].update_state(terms["objective_sum"] / safe_tokens, sample_weight=tokens)
    model.trackers["token_accuracy"].update_state(terms["correct"] / safe_tokens, sample_weight=tokens)
    if training:
        model.trackers["teacher_forcing_probability"].update_state(terms["epsilon"])
    if "kl" in model.trackers:
        sentences = terms["sentences"]
        model.trackers["kl"].update_state(terms["kl_sum"] / tf.maximum(sentences, 1.0), sample_weight=sentences)
        model.trackers["kl_weight"].update_state(terms["kl_weight"])
    skip = () if training else ("teacher_forcing_probability", "kl_weight")
    return {name: tracker.result() for name, tracker in model.trackers.items() if name not in skip}


def train_step(model, data):
    """One optimisation step; returns the running metrics."""
    with tf.GradientTape() as tape:
        terms = loss_terms(model, data, training=True)
        loss = terms["loss"]
        scaled = model.optimizer.scale_loss(loss) if hasattr(model.optimizer, "scale_loss") else loss
    gradients = tape.gradient(scaled, model.trainable_variables)
    model.optimizer.apply_gradients(zip(gradients, model.trainable_variables))
    return _update_trackers(model, terms, training=True)


def test_step(model, data):
    """Teacher-forced evaluation of one batch; returns the running metrics."""
    return _update_trackers(model, loss_terms(model, data, training=False), training=False)
