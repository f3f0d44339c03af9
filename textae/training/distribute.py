"""Choosing the tf.distribute strategy and the mixed-precision policy.

`auto` picks, in this order: MultiWorkerMirroredStrategy when `TF_CONFIG`
names a cluster with more than one task, MirroredStrategy over every visible
GPU, and the default (single-device) strategy otherwise. Keras's `model.fit`
does not work under MultiWorkerMirroredStrategy in Keras 3.15 (see
keras-team/keras#20585 and NOTES.md), so multi-worker runs use the custom loop
in `textae/training/loop.py`, which calls the same `train_step` as `fit` does.
"""

from __future__ import annotations

import json
import os
import sys

import keras
import tensorflow as tf

STRATEGIES = ("auto", "default", "mirrored", "multi-worker", "tpu")
MIXED_PRECISION = ("auto", "on", "off", "float16", "bfloat16")


def cluster_size() -> int:
    """Number of tasks that TF_CONFIG names (1 when it is unset)."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return 1
    try:
        cluster = json.loads(raw).get("cluster", {})
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG is not valid JSON ({error}); see docs/SCALING.md for its format.") from None
    return sum(len(tasks) for name, tasks in cluster.items() if name in ("chief", "worker"))


def choose_strategy(name: str = "auto") -> tf.distribute.Strategy:
    """Create the strategy named by `--strategy`.

    Create it before any other TensorFlow op: multi-worker strategies must own
    the runtime from the start.
    """
    if name not in STRATEGIES:
        raise ValueError(f"--strategy must be one of {', '.join(STRATEGIES)}; got {name!r}.")
    if name == "auto":
        if cluster_size() > 1:
            name = "multi-worker"
        elif tf.config.list_physical_devices("GPU"):
            name = "mirrored"
        else:
            name = "default"
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        if not tf.config.list_physical_devices("GPU"):
            print("textae: --strategy mirrored found no GPU; it runs on the CPU alone.", file=sys.stderr)
        return tf.distribute.MirroredStrategy()
    if name == "multi-worker":
        if cluster_size() < 2:
            raise ValueError(
                "--strategy multi-worker needs TF_CONFIG naming at least two workers; "
                "see docs/SCALING.md for an example."
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True on the task that writes bundles and logs (always, outside multi-worker)."""
    if not is_multi_worker(strategy):
        return True
    resolver = strategy.cluster_resolver
    task_type, task_id = resolver.task_type, resolver.task_id
    return task_type == "chief" or (
        task_type == "worker" and task_id == 0 and "chief" not in resolver.cluster_spec().as_dict()
    )


# CPU flags (/proc/cpuinfo) of the units that multiply bfloat16 natively: AMX tiles, AVX-512 BF16.
BFLOAT16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


def cpu_flags(path: str = "/proc/cpuinfo") -> set[str]:
    """The CPU's feature flags (empty where /proc/cpuinfo is absent, e.g. on macOS)."""
    try:
        with open(path, encoding="utf-8") as file:
            for line in file:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def configure_mixed_precision(mode: str = "auto", flags: set[str] | None = None, measure=None) -> str:
    """Set Keras's global dtype policy; returns the policy name.

    `on` (or `float16`) is `mixed_float16`, `bfloat16` is `mixed_bfloat16`, `off` is float32.
    `auto` uses `mixed_float16` on GPUs (tensor cores) and float32 on CPUs without bfloat16
    units (half precision is emulated there, and slower). On CPUs with bfloat16 units
    (`BFLOAT16_CPU_FLAGS`; `flags` stands in for the CPU's own) bfloat16 is faster for some
    models and slower for others, so `auto` asks `measure()` ("bfloat16" or "off", see
    `training.precision`), and without one keeps float32, which is never the slower choice by
    surprise. Weights stay float32, and the output logits and the loss are float32 in every policy.
    """
    if mode not in MIXED_PRECISION:
        raise ValueError(f"--mixed-precision must be one of {', '.join(MIXED_PRECISION)}; got {mode!r}.")
    if mode == "auto":
        if tf.config.list_physical_devices("GPU"):
            mode = "float16"
        elif set(BFLOAT16_CPU_FLAGS) & (cpu_flags() if flags is None else flags):
            mode = measure() if measure is not None else "off"
        else:
            mode = "off"
    policy = {"on": "mixed_float16", "float16": "mixed_float16", "bfloat16": "mixed_bfloat16"}.get(mode, "float32")
    keras.mixed_precision.set_global_policy(policy)
    return policy


def check_batch_size(global_batch_size: int, strategy: tf.distribute.Strategy) -> int:
    """Validate the global batch against the replicas; returns the per-replica batch."""
    replicas = strategy.num_replicas_in_sync
    if global_batch_size < replicas:
        raise ValueError(
            f"--batch-size {global_batch_size} is smaller than the {replicas} replicas; "
            f"use at least {replicas} (it is the global batch, split across replicas)."
        )
    if global_batch_size % replicas:
        raise ValueError(
            f"--batch-size {global_batch_size} does not divide evenly over {replicas} replicas; "
            f"use a multiple of {replicas}."
        )
    return global_batch_size // replicas
