"""A whole time-series training run, on the text trainer's machinery.

The same strategy choice, optimizer, checkpoints (resume after a kill), NaN guard,
bundle writer, time limit, early stopping and TensorBoard logs as
`textae.training.trainer`; the data are windows of one series instead of sentences.

The series is split in time order: the first part trains, the last
`validation_fraction` validates (early stopping, --keep-best) and sets the
threshold. The normalisation is fitted on the training part only.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from textae.files import write_atomic
from textae.series import data as series_data
from textae.series import windows
from textae.series.bundle import save_series_bundle
from textae.series.config import SeriesConfig
from textae.series.model import SeriesAutoencoder
from textae.training import callbacks as run_callbacks
from textae.training import distribute, loop, resume, run_folder
from textae.training.trainer import TrainResult, make_optimizer, plateau_callbacks


def split(series: series_data.Series, config: SeriesConfig):
    """`(train, validation)` parts in time order; each must hold at least one window."""
    window = config.data.window
    cut = int(round(len(series) * (1.0 - config.data.validation_fraction)))
    if cut < window or len(series) - cut < window:
        raise series_data.SeriesError(
            f"{series.source} has {len(series)} steps: too few for a training and a validation part of at least "
            f"one window ({window} steps) each; pass a smaller --window or --validation-fraction, or a longer series."
        )
    return series.part(0, cut), series.part(cut)


def _windows(part, normaliser, config: SeriesConfig, stride: int):
    values, _ = windows.make_windows(normaliser.transform(part.values), config.data.window, stride)
    observed = windows.make_windows(part.observed.astype(np.float32), config.data.window, stride)[0]
    return values, observed


def window_dataset(part, normaliser, config: SeriesConfig, stride: int) -> tuple[tf.data.Dataset, int]:
    """One pass over the part's windows in time order (validation), and its number of batches."""
    values, observed = _windows(part, normaliser, config, stride)
    data = tf.data.Dataset.from_tensor_slices({"values": values, "observed": observed})
    return data.batch(config.train.batch_size).prefetch(tf.data.AUTOTUNE), math.ceil(
        len(values) / config.train.batch_size
    )


def window_stream(part, normaliser, config: SeriesConfig, stride: int):
    """`(stream(epoch, step), batches per epoch)`: endless shuffled passes over the training windows.

    Pass p's order depends only on `(seed, p)`, so a run resumed at any step sees the batches it would have seen.
    """
    values, observed = (tf.constant(array) for array in _windows(part, normaliser, config, stride))
    count, batch = int(values.shape[0]), config.train.batch_size
    seed = tf.constant(config.train.seed, tf.int64)

    def one_pass(number):
        rows = tf.random.experimental.stateless_shuffle(tf.range(count, dtype=tf.int64), seed=tf.stack([seed, number]))
        pick = lambda row: {"values": tf.gather(values, row), "observed": tf.gather(observed, row)}  # noqa: E731
        return tf.data.Dataset.from_tensor_slices(rows).map(pick).batch(batch)

    batches = math.ceil(count / batch)

    def stream(epoch: int, step: int):
        return tf.data.Dataset.range(epoch, 2**62).flat_map(one_pass).skip(step).prefetch(tf.data.AUTOTUNE)

    return stream, batches


def card(config: SeriesConfig, metrics: dict, columns, source: str, command: str | None) -> str:
    rows = "\n".join(f"| {k} | {v:.4g} |" for k, v in sorted(metrics.items()) if isinstance(v, float))
    return (
        "# textae time-series model\n\n"
        f"A recurrent autoencoder over windows of {config.data.window} steps of {len(columns)} channel(s) "
        f"({', '.join(columns)}), trained on {source}. Anomaly score: the squared reconstruction error per step, "
        "averaged over the windows covering it; threshold: the 99.5th percentile of the validation part's scores "
        "(its edges left out).\n\n"
        f"Reproduce: `{command or 'python -m training.train --task timeseries --config config.json'}`\n\n"
        f"| metric | value |\n|---|---:|\n{rows}\n"
    )


def train_series(config: SeriesConfig, run_dir, *, verbose="auto", strategy=None, command=None) -> TrainResult:
    """Train as `config` says, writing the bundle to `run_dir/model` (a run with a backup resumes)."""
    started = time.monotonic()
    run_dir = Path(run_dir)
    data = config.data
    series = series_data.load_series(
        data.source, split=data.split, columns=data.columns, time_column=data.time_column,
        label_column=data.label_column, dataset_config=data.dataset_config, missing=data.missing,
    )  # fmt: skip
    config.model.channels, config.model.window = series.values.shape[1], data.window
    config.validate()
    train_part, validation_part = split(series, config)
    normaliser = windows.Normaliser.fit(train_part.values, train_part.observed)
    strategy = strategy or distribute.choose_strategy(config.train.strategy)
    policy = distribute.configure_mixed_precision(config.train.mixed_precision)
    distribute.check_batch_size(config.train.batch_size, strategy)
    print(
        f"strategy: {type(strategy).__name__} with {strategy.num_replicas_in_sync} replica(s); "
        f"global batch {config.train.batch_size}; dtype policy {policy}",
        flush=True,
    )
    chief = distribute.is_chief(strategy)
    keras.utils.set_random_seed(config.train.seed)
    stream, train_batches = window_stream(train_part, normaliser, config, data.stride)
    validation_ds, validation_batches = window_dataset(validation_part, normaliser, config, data.stride)
    for line in series.report:
        print(line, flush=True)
    print(
        f"series: {len(series):,} steps x {len(series.columns)} channel(s) from {series.source}; "
        f"train {len(train_part):,} steps, validation {len(validation_part):,} (time order); "
        f"window {data.window}, stride {data.stride}",
        flush=True,
    )
    run_dir.mkdir(parents=True, exist_ok=True)
    if chief:
        write_atomic(run_dir / "config.json", (config.to_json() + "\n").encode("utf-8"))
    with strategy.scope():
        model = SeriesAutoencoder(config.model)
        model.build()
        model.compile(optimizer=make_optimizer(config, train_batches), jit_compile=False)
        model.optimizer.build(model.trainable_variables)
    print(f"model: {model.count_params():,} parameters", flush=True)

    from textae.series.autoencoder import SeriesAE
    from textae.series.bundle import SeriesBundle

    info = {"columns": series.columns, "normaliser": normaliser.to_dict(), "threshold": math.inf,
            "threshold_rule": f"quantile {windows.THRESHOLD_QUANTILE} of the validation part's step scores, "
            "its first and last window - 1 steps left out",
            "source": series.source, "split": data.split}  # fmt: skip
    # Scores the validation part with the weights of the moment (one compiled graph for the whole run).
    scorer = SeriesAE(SeriesBundle(run_dir, model, config, normaliser, series.columns, math.inf, info, {}, ""))

    def save(logs, epoch, validation=None):
        if not chief:
            return
        scores = scorer.score(validation_part.values, validation_part.observed).step_scores
        info["threshold"] = windows.threshold_rule(scores, config.data.window)
        copy = SeriesAutoencoder.from_config(model.get_config())  # the weights without the optimizer
        copy.build()
        copy.set_weights(model.get_weights())
        metrics = {key: float(value) for key, value in logs.items()}
        metrics.update(epochs=epoch, train_seconds=round(time.monotonic() - started, 1), threshold=info["threshold"])
        text = card(config, metrics, series.columns, series.source, command)
        example = (validation_part.values, validation_part.labels)
        save_series_bundle(run_dir / "model", copy, config, info, metrics, text, example)

    sizes = (train_batches, validation_batches)
    if distribute.is_multi_worker(strategy):
        guard, callback_list = _callbacks(config, run_dir, save, chief)
        history, nan, resumed = loop.fit_multi_worker(  # the endless stream: a new order every pass
            model, strategy, stream(0, 0), validation_ds, config, run_dir, callback_list, guard, sizes=sizes
        )
    else:
        history, nan, resumed = _fit(model, stream, train_batches, validation_ds, config, run_dir, save, verbose)
    seconds = time.monotonic() - started
    model_path = run_dir / "model" if (run_dir / "model").exists() else None
    if chief and model_path is not None:
        run_folder.record_wall_time(model_path, seconds)
    return TrainResult(model_path, history, nan, resumed, seconds, model)


def _callbacks(config, run_dir, save, chief: bool = True) -> tuple:
    """`(guard, callbacks)` for `fit` and the multi-worker loop; TensorBoard on the chief only."""
    guard = run_callbacks.NaNGuard()
    best = run_folder.bundle_val_loss(run_dir / "model") if (run_dir / "backup").exists() else math.inf
    callback_list = [guard, run_callbacks.BundleWriter(save, guard, config.train.keep_best, best)]
    if chief:
        callback_list.append(keras.callbacks.TensorBoard(str(run_dir / "logs"), update_freq="epoch"))
    return guard, [*callback_list, run_callbacks.TimeLimit(config.train.max_minutes), *plateau_callbacks(config)]


def _fit(model, stream, batches, validation_ds, config, run_dir, save, verbose):
    guard, callback_list = _callbacks(config, run_dir, save)
    steps = config.train.steps_per_epoch or batches

    def from_step(epoch: int, step: int):
        first, skip = divmod(epoch * steps + step, batches)
        return stream(first, skip)

    history, resumed = resume.resumable_fit(
        model, from_step, steps, validation_ds, callback_list, epochs=config.train.epochs,
        backup_dir=run_dir / "backup", guard=guard, every_steps=config.train.checkpoint_every_steps, verbose=verbose,
        layout={"batches_per_pass": batches},
    )  # fmt: skip
    return history, guard.failed_at is not None, resumed[0]
