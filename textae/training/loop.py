"""The custom training loop for MultiWorkerMirroredStrategy.

Keras 3.15's `model.fit` fails under MultiWorkerMirroredStrategy (NOTES.md,
keras-team/keras#20585), so multi-worker runs come here. The step itself is the
model's own `train_step` (textae/training_step.py), the one `fit` calls, so the
two paths cannot drift apart. Every worker runs the same number of steps per
epoch on its own shard of a repeated dataset (uneven shards would leave one
worker waiting in an all-reduce). After every epoch the chief writes the
bundle, and every worker writes an atomic checkpoint (the chief in
`run_dir/backup`, worker i in `run_dir/backup-worker-i`), so a restarted job
resumes all workers from the same epoch; a finished run deletes them.
Reported metrics are global: the trackers' sync-on-read variables are summed
over all replicas when read outside the step.

The loop drives the run's Keras callbacks as `fit` does (`keras.callbacks.CallbackList`): the NaN
guard, the bundle writer (and --keep-best), --max-minutes, early stopping, --reduce-lr-patience, and
on the chief TensorBoard, the sample reconstructions and the learning curves. A callback that stops
training on one worker stops every worker at the same step: the decision is summed over the workers
after every step (time limits differ between machines) and every epoch. Checkpoints are written after
every epoch only: --checkpoint-every-steps is refused.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import keras
import tensorflow as tf

from textae.training import checkpoints, distribute


def _steps(dataset_size: int, global_batch: int) -> int:
    return max(1, math.ceil(dataset_size / global_batch))


def _global_results(strategy, model, names) -> dict:
    """The named trackers' results over every replica of every worker (a collective: all workers call it)."""
    with strategy.scope():
        # Read in cross-replica context, the sync-on-read total and count are summed over replicas;
        # the values the step returns are this replica's only.
        return {name: float(model.trackers[name].result()) for name in names}


def _backup_dir(run_dir: Path, strategy) -> Path:
    """Each worker checkpoints into its own folder, so workers sharing a run folder never collide."""
    if distribute.is_chief(strategy):
        return run_dir / "backup"
    return run_dir / f"backup-worker-{strategy.cluster_resolver.task_id}"


def _agreed_start_epoch(strategy, backup: Path) -> int:
    """The epoch every worker restarts from: the oldest of the workers' latest checkpoints.

    Workers save after the same epoch independently, so a job killed meanwhile leaves them one epoch
    apart; each keeps its previous checkpoint (`keep=2`) for that case. Within one epoch of each other,
    the oldest is the floor of their mean. Every worker checks that it holds that epoch before any of
    them starts (a lone failure would leave the others waiting in an all-reduce).
    """
    latest = checkpoints.latest_epoch(backup)
    total, replicas = _sum_over_replicas(strategy, [float(latest), 1.0])
    agreed = int(total // replicas)
    usable = agreed == 0 or (agreed in checkpoints.saved_epochs(backup) and latest - agreed <= 1)
    usable_everywhere, _ = _sum_over_replicas(strategy, [float(usable), 0.0])
    if usable_everywhere != replicas:
        raise ValueError(
            f"The workers' checkpoints cannot be matched (this one's latest: epoch {latest}, agreed: {agreed}); "
            "delete every worker's backup folder to start the run again."
        )
    return agreed


def _restore_everywhere(strategy, model, backup: Path, epoch: int) -> int:
    """Load the agreed epoch's state on every worker, or fail on every worker (a collective: all call it).

    A worker whose file does not read must not leave the others waiting in the first all-reduce.
    """
    problem = None
    try:
        checkpoints.restore(model, backup, epoch)
    except checkpoints.CheckpointError as error:
        problem = error
    failures, _ = _sum_over_replicas(strategy, [float(problem is not None), 0.0])
    if failures:
        raise ValueError(
            str(problem)
            if problem is not None
            else f"Another worker cannot read its checkpoint of epoch {epoch}; "
            "see its log, and delete every worker's backup folder to start the run again."
        )
    return epoch


def _sum_over_replicas(strategy, values: list[float]) -> list[float]:
    per_replica = strategy.run(lambda: tf.constant(values))
    return [float(v) for v in strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)]


def _agree_to_stop(strategy, model) -> bool:
    """True on every worker as soon as any worker's callbacks asked to stop (a collective: all call it)."""
    stop, _ = _sum_over_replicas(strategy, [float(bool(model.stop_training)), 0.0])
    model.stop_training = stop > 0
    return model.stop_training


def fit_multi_worker(model, strategy, train_ds, validation_ds, config, run_dir: Path, callbacks, guard, sizes=None):
    """Train under `strategy` with a custom loop; returns `(history, stopped_on_nan, resumed_epoch)`.

    Args:
        model, strategy: built inside `strategy.scope()`.
        train_ds, validation_ds: datasets of global batches; the training one is repeated here, so one that is
            already endless works too.
        config: the run's Config (or SeriesConfig).
        run_dir: the run folder (checkpoints in `run_dir/backup`, or `run_dir/backup-worker-<i>` off the chief).
        callbacks: this worker's Keras callbacks, `guard` (the NaNGuard) among them; the bundle writer's
            save is a no-op off the chief.
        sizes: optional `(train_batches, validation_batches)`; counted when None.
    """
    if config.train.checkpoint_every_steps:
        raise ValueError(
            "--checkpoint-every-steps is not supported with several workers (MultiWorkerMirroredStrategy): "
            "they checkpoint after every epoch. Drop the flag."
        )
    if sizes is None:
        sizes = (sum(1 for _ in train_ds), sum(1 for _ in validation_ds))
    workers = max(1, distribute.cluster_size())
    train_steps = config.train.steps_per_epoch or _steps(sizes[0], workers)
    validation_steps = _steps(sizes[1], workers)
    train_iterator = iter(strategy.experimental_distribute_dataset(train_ds.repeat()))
    validation_iterator = iter(strategy.experimental_distribute_dataset(validation_ds.repeat()))
    timed = bool(config.train.max_minutes)  # only a time limit can stop part-way through an epoch

    @tf.function
    def train_one(iterator):
        per_replica = strategy.run(model.train_step, args=(next(iterator),))
        return per_replica, model.trackers["loss"].result()  # read outside the step: summed over every replica

    @tf.function
    def evaluate_one(iterator):
        return strategy.run(model.test_step, args=(next(iterator),))

    backup = _backup_dir(run_dir, strategy)
    start_epoch = _restore_everywhere(strategy, model, backup, _agreed_start_epoch(strategy, backup))
    callback_list = keras.callbacks.CallbackList(
        list(callbacks), model=model, epochs=config.train.epochs, steps=train_steps, verbose=0
    )
    history: dict[str, list[float]] = {}
    model.stop_training = False
    callback_list.on_train_begin()
    for epoch in range(start_epoch, config.train.epochs):
        for tracker in model.metrics:
            tracker.reset_state()
        callback_list.on_epoch_begin(epoch)
        for step in range(train_steps):
            callback_list.on_train_batch_begin(step)
            per_replica, loss = train_one(train_iterator)
            names = list(per_replica)  # the step's metric names; their values are this replica's only
            callback_list.on_train_batch_end(step, {"loss": float(loss)})  # global: the same on every worker
            if guard.failed_at is not None:  # the guard said so; the last good bundle and the backup stay
                callback_list.on_train_end()  # (TensorBoard closes its files)
                return history, True, start_epoch
            if timed and _agree_to_stop(strategy, model):
                break
        logs = _global_results(strategy, model, names)
        for tracker in model.metrics:
            tracker.reset_state()
        for _ in range(validation_steps):
            names = list(evaluate_one(validation_iterator))
        validation = _global_results(strategy, model, names)
        logs.update({f"val_{key}": value for key, value in validation.items()})
        for key, value in logs.items():
            history.setdefault(key, []).append(value)
        print(
            f"epoch {epoch + 1}/{config.train.epochs}: " + ", ".join(f"{k} {v:.4f}" for k, v in logs.items()),
            flush=True,
        )
        callback_list.on_epoch_end(epoch, logs)  # the bundle, early stopping, the learning rate, the logs
        checkpoints.save(model, backup, epoch + 1, keep=2)  # see _agreed_start_epoch
        if _agree_to_stop(strategy, model):
            break
    callback_list.on_train_end()
    shutil.rmtree(backup, ignore_errors=True)  # finished: a rerun should not resume
    return history, False, start_epoch
