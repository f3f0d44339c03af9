"""A whole training run: data, strategy, model, fit (or the multi-worker loop), bundle.

A run folder holds:

    config.json   the effective configuration
    model/        the bundle, rewritten atomically after every good epoch
    backup/       resumable state (deleted when the run finishes)
    logs/         TensorBoard scalars, sample reconstructions, projector

Running the same command again resumes from `backup/`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from pathlib import Path

import keras
import tensorflow as tf

from textae import kernels
from textae.config import LEARNING_RATE_SCHEDULES
from textae.files import write_atomic
from textae.optimizers import FusedAdam
from textae.text import bundle, pipeline
from textae.text.config import Config
from textae.text.model import TextAutoencoder
from textae.text.tokenizer import Tokenizer
from textae.training import callbacks as run_callbacks
from textae.training import curves, distribute, increments, inputs, loop, precision, projector, resume, run_folder


@dataclasses.dataclass
class TrainResult:
    bundle_path: Path | None
    history: dict
    stopped_on_nan: bool
    resumed_from_epoch: int
    seconds: float
    model: TextAutoencoder | None = None  # the trained model (for tests and notebooks)
    resumed_from_step: int = 0  # batches of epoch resumed_from_epoch + 1 done before the resume


def learning_rate(config: Config, steps_per_epoch: int | None = None, start_step: int = 0):
    """The learning rate or its schedule: optional linear warm-up, then constant or cosine decay.

    `start_step` > 0 (an --init-from run) reads the schedule that many steps on, re-warmed
    (`increments.ContinuedSchedule`).
    """
    rate = _learning_rate(config, steps_per_epoch)
    return increments.ContinuedSchedule(rate, start_step) if start_step else rate


def _learning_rate(config: Config, steps_per_epoch: int | None = None):
    train = config.train
    if train.learning_rate_schedule not in LEARNING_RATE_SCHEDULES:
        raise ValueError(
            f"--learning-rate-schedule must be one of {', '.join(LEARNING_RATE_SCHEDULES)}; "
            f"got {train.learning_rate_schedule!r}."
        )
    if train.warmup_steps < 0 or train.decay_steps < 0:
        raise ValueError(
            f"--warmup-steps and --decay-steps must be 0 or more, got {train.warmup_steps}, {train.decay_steps}."
        )
    if train.learning_rate_schedule == "constant" and not train.warmup_steps:
        return train.learning_rate
    if train.reduce_lr_patience:
        raise ValueError("--reduce-lr-patience needs a constant learning rate; drop it or the schedule and warm-up.")
    decay_steps = train.decay_steps or max(
        1, train.epochs * (train.steps_per_epoch or steps_per_epoch or 1) - train.warmup_steps
    )
    cosine = train.learning_rate_schedule == "cosine"
    return keras.optimizers.schedules.CosineDecay(
        0.0 if train.warmup_steps else train.learning_rate,
        decay_steps,
        alpha=0.05 if cosine else 1.0,  # alpha 1: no decay, a constant rate after the warm-up
        warmup_target=train.learning_rate if train.warmup_steps else None,
        warmup_steps=train.warmup_steps,
    )


def make_optimizer(config: Config, steps_per_epoch: int | None = None, start_step: int = 0):
    train = config.train
    clip = {"global_clipnorm": train.clipnorm} if train.clipnorm and train.clipnorm > 0 else {}
    rate = learning_rate(config, steps_per_epoch, start_step)
    if train.optimizer == "adam":  # the fused kernel is one of textae's CPU kernels (textae.kernels)
        return (FusedAdam if kernels.fast() else keras.optimizers.Adam)(rate, **clip)
    if train.optimizer == "sgd":
        return keras.optimizers.SGD(rate, momentum=0.9, **clip)
    raise ValueError(f"--optimizer must be adam or sgd, got {train.optimizer!r}.")


def build_model(config: Config, strategy, steps_per_epoch: int | None = None, start=None) -> TextAutoencoder:
    """The model and optimizer, created inside the strategy's scope; `start` (--init-from) gives the weights."""
    with strategy.scope():
        model = TextAutoencoder(config.model)
        model.build()
        if start is not None:
            increments.copy_weights(start, model)
        optimizer = make_optimizer(config, steps_per_epoch, start.steps if start is not None else 0)
        model.compile(optimizer=optimizer, jit_compile=False)
        model.optimizer.build(model.trainable_variables)
    return model


def inference_copy(model: TextAutoencoder) -> TextAutoencoder:
    """The same weights without the optimizer, so a bundle is a third of the size."""
    copy = TextAutoencoder.from_config(model.get_config())
    copy.build()
    copy.set_weights(model.get_weights())
    return copy


def train(
    config: Config,
    run_dir: str | os.PathLike,
    *,
    verbose: int | str = "auto",
    strategy=None,
    command: str | None = None,
) -> TrainResult:
    """Train a model as `config` says, writing the bundle to `run_dir/model`.

    Args:
        config: the full configuration (validated here).
        run_dir: the run folder; an existing one with a backup is resumed.
        verbose: Keras progress-bar verbosity.
        strategy: a tf.distribute strategy; by default `config.train.strategy` decides.
        command: the command line that started the run, for the model card.

    Returns:
        A `TrainResult`.
    """
    started = time.monotonic()
    run_dir = Path(run_dir)
    config.model.validate()
    strategy = strategy or distribute.choose_strategy(config.train.strategy)
    distribute.check_batch_size(config.train.batch_size, strategy)
    chief = distribute.is_chief(strategy)
    keras.utils.set_random_seed(config.train.seed)

    start = increments.load_start(config.train.init_from, config) if config.train.init_from else None
    tokenizer_path = run_dir / "tokenizer.model"
    tokenizer = start.loaded.tokenizer if start is not None else None
    if tokenizer_path.exists():  # a resumed run keeps its own, if it was made with the same settings
        _check_same_tokenizer(run_dir, config)
        tokenizer = Tokenizer.load(tokenizer_path)
    prepared = inputs.prepare(config, tokenizer)
    run_dir.mkdir(parents=True, exist_ok=True)
    if chief:
        if not tokenizer_path.exists():  # a new run's own, or the one an --init-from bundle brought
            prepared.tokenizer.save(tokenizer_path)
        write_atomic(run_dir / "config.json", (config.to_json() + "\n").encode("utf-8"))
    train_ds, validation_ds = inputs.make_datasets(prepared, config)
    policy = distribute.configure_mixed_precision(
        config.train.mixed_precision, measure=lambda: _measure_precision(config, train_ds)
    )
    for line in prepared.report + [run_callbacks.padding_report(train_ds)]:
        print(line, flush=True)
    print(
        f"strategy: {type(strategy).__name__} with {strategy.num_replicas_in_sync} replica(s); "
        f"global batch {config.train.batch_size}; dtype policy {policy}",
        flush=True,
    )

    batch_size = config.train.batch_size
    sizes = tuple(pipeline.num_batches(ids, batch_size) for ids in (prepared.train_ids, prepared.validation_ids))
    model = build_model(config, strategy, steps_per_epoch=sizes[0], start=start)
    print(f"model: {model.count_params():,} parameters", flush=True)
    log_dir = str(run_dir / "logs")
    step_offset = 0
    if start is not None:
        step_offset = start.steps
        if chief:
            increments.seed_curves(start, Path(log_dir))
        print(f"init-from: {start.path} after {start.steps:,} steps; the schedule goes on from there", flush=True)

    def save(logs, epoch, validation=None):
        if chief:
            metrics = {key: float(value) for key, value in logs.items()}
            metrics.update(epochs=epoch, train_seconds=round(time.monotonic() - started, 1))
            # A resumed run's total too, and with --init-from the steps of the increments before it.
            metrics["optimizer_steps"] = step_offset + int(model.optimizer.iterations.numpy())
            if start is not None:
                metrics["init_from"] = {"path": str(start.path), "steps": start.steps}
            if validation:  # the by-length figures of the fixed validation sample, for the card and the app
                metrics["validation"] = validation
            notes = f"Trained for {epoch} epoch(s) in {run_dir}."
            card = bundle.render_model_card(config, metrics, notes=notes, command=command)
            curve = increments.read_log_curves(Path(log_dir))
            bundle.save_bundle(
                run_dir / "model", inference_copy(model), prepared.tokenizer, config, metrics, card,
                extra_files={increments.CURVES_FILE: curve} if curve else None,
            )  # fmt: skip

    step = 0
    if distribute.is_multi_worker(strategy):
        guard, callback_list = _callbacks(prepared, config, run_dir, log_dir, save, chief, step_offset)
        history, nan, resumed = loop.fit_multi_worker(
            model, strategy, train_ds, validation_ds, config, run_dir, callback_list, guard, sizes=sizes
        )
    else:
        # Bucketing hides the number of batches; without it Keras warns "Your input ran out of data;
        # interrupting training" after every validation pass.
        validation_ds = validation_ds.apply(tf.data.experimental.assert_cardinality(sizes[1]))
        history, nan, (resumed, step) = _fit(model, validation_ds, prepared, config, run_dir, log_dir, save, verbose,
                                             sizes[0], step_offset)  # fmt: skip

    if chief and not nan and (run_dir / "model").exists():
        count = 2000
        folder = os.path.join(log_dir, "projector")
        projector.export(model, prepared.validation_ids[:count], prepared.validation_texts[:count], folder)
    seconds = time.monotonic() - started
    model_path = run_dir / "model" if (run_dir / "model").exists() else None
    if chief and model_path is not None:
        run_folder.record_wall_time(model_path, seconds)
    return TrainResult(model_path, history, nan, resumed, seconds, model, step)


def _measure_precision(config: Config, train_ds) -> str:
    """--mixed-precision auto on a bfloat16 CPU: time this model in both policies (cached; `training.precision`)."""
    model = config.model
    key = (
        f"text vocabulary {model.vocab_size} embedding {model.embedding_dim} hidden {model.hidden_dim} latent "
        f"{model.latent_dim} layers {model.num_layers} {model.cell_type} bidirectional {model.bidirectional} "
        f"tied {model.tie_embeddings} batch {config.train.batch_size}"
    )
    batch = next(iter(train_ds))
    build = lambda: build_model(config, tf.distribute.get_strategy())  # noqa: E731
    mode, record = precision.choose(key, lambda policy: precision.time_steps(build, batch, policy))
    print(
        f"mixed precision auto: bfloat16 runs {record['speedup']:.2f}x float32's speed here; using {mode}", flush=True
    )
    keras.utils.set_random_seed(config.train.seed)  # measured or cached, the run starts from the same weights
    return mode


def _callbacks(prepared, config, run_dir, log_dir, save, chief: bool = True, step_offset: int = 0) -> tuple:
    """`(guard, callbacks)` of a run, for `fit` and the multi-worker loop alike.

    Off the chief (another worker of a multi-worker run) only those that decide something: the NaN
    guard, the bundle writer (its save does nothing there, but it keeps --keep-best's record), the
    time limit, early stopping and the learning rate on plateau; the logs are the chief's.
    """
    guard = run_callbacks.NaNGuard()
    length_curves = None
    if chief:
        length_curves = curves.LengthCurves(
            prepared.tokenizer, prepared.validation_ids, config.data.max_tokens, log_dir, step_offset
        )
    best = run_folder.bundle_val_loss(run_dir / "model") if (run_dir / "backup").exists() else math.inf
    writer = run_callbacks.BundleWriter(
        lambda logs, epoch: save(logs, epoch, length_curves.latest if length_curves else None),
        guard, config.train.keep_best, best,
    )  # fmt: skip
    callback_list = [guard, *([length_curves] if chief else []), writer]  # the curves first: the bundle carries them
    if chief:
        callback_list += [
            run_callbacks.SampleReconstructions(prepared.tokenizer, prepared.validation_texts, log_dir),
            keras.callbacks.TensorBoard(log_dir, update_freq="epoch"),
        ]
    callback_list.append(run_callbacks.TimeLimit(config.train.max_minutes))
    callback_list += plateau_callbacks(config)
    return guard, callback_list


def plateau_callbacks(config) -> list:
    """Early stopping and --reduce-lr-patience, as the config asks (text and series runs alike)."""
    found = []
    if config.train.early_stopping_patience:
        found.append(
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.train.early_stopping_patience, verbose=1)
        )
    if config.train.reduce_lr_patience:
        found.append(
            keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=config.train.reduce_lr_patience)
        )
    return found


def _fit(model, validation_ds, prepared, config, run_dir, log_dir, save, verbose, batches_per_pass: int,
         step_offset: int = 0):  # fmt: skip
    guard, callback_list = _callbacks(prepared, config, run_dir, log_dir, save, step_offset=step_offset)
    # An epoch is one pass over the data, or --steps-per-epoch batches of the endless stream of passes.
    steps = config.train.steps_per_epoch or batches_per_pass

    def stream(epoch: int, step: int):
        first, skip = divmod(epoch * steps + step, batches_per_pass)
        return inputs.training_stream(prepared, config, first_pass=first, skip_batches=skip)

    history, resumed = resume.resumable_fit(
        model, stream, steps, validation_ds, callback_list, epochs=config.train.epochs,
        backup_dir=run_dir / "backup", guard=guard, every_steps=config.train.checkpoint_every_steps, verbose=verbose,
        layout={"batches_per_pass": batches_per_pass},
    )  # fmt: skip
    return history, guard.failed_at is not None, resumed


def _check_same_tokenizer(run_dir: Path, config: Config) -> None:
    """Refuse to resume with a tokenizer trained on other settings than the run now asks for."""
    try:
        before = json.loads((run_dir / "config.json").read_text(encoding="utf-8")).get("tokenizer")
    except (OSError, ValueError):
        return
    now = dataclasses.asdict(config.tokenizer)
    if before is not None and before != now:
        changed = ", ".join(f"{key} {before.get(key)!r} -> {now[key]!r}" for key in now if before.get(key) != now[key])
        raise ValueError(
            f"{run_dir} holds a tokenizer trained with other settings ({changed}). Pass --overwrite to start the run "
            "afresh with a new tokenizer, or --output for a new run folder."
        )
