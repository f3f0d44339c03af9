"""Helper process for tests/test_distribute.py: tiny training runs under a tf.distribute strategy.

Strategies must own TensorFlow's runtime from its start (logical devices, the
multi-worker cluster), so each run happens in a fresh process:

    python tests/multiworker_child.py multi-worker OUTPUT RESULT [section.name=value ...]
        one worker of the cluster that TF_CONFIG names; `trainer.train` routes it to
        the custom loop. Writes RESULT.npy (every weight, flattened) and RESULT.json.
    python tests/multiworker_child.py series-worker OUTPUT RESULT data.source="FILE.csv" [...]
        the same for the time-series autoencoder (its tiny preset, `series_trainer.train_series`).
    python tests/multiworker_child.py mirrored OUTPUT RESULT [section.name=value ...]
        splits the CPU into two logical devices, then trains the same configuration with
        the default strategy and with MirroredStrategy over both devices, in OUTPUT/single
        and OUTPUT/mirrored. Writes RESULT.json with both histories.

Overrides are JSON values, e.g. `train.steps_per_epoch=4 model.sampling_k=1.0`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def tiny_config(overrides: list[str]):
    from textae.text.config import preset

    config = preset("tiny")
    for item in overrides:
        key, value = item.split("=", 1)
        section, name = key.split(".")
        setattr(getattr(config, section), name, json.loads(value))
    return config


def summary(result) -> dict:
    return {
        "history": {key: [float(v) for v in values] for key, values in result.history.items()},
        "bundle_path": None if result.bundle_path is None else str(result.bundle_path),
        "stopped_on_nan": result.stopped_on_nan,
        "resumed_from_epoch": result.resumed_from_epoch,
    }


def flat_weights(model):
    import numpy as np

    return np.concatenate([np.asarray(w).ravel() for w in model.get_weights()])


def multi_worker(output: Path, result_path: Path, overrides: list[str]) -> None:
    import numpy as np

    from textae.training import trainer

    config = tiny_config(['train.strategy="multi-worker"', *overrides])
    result = trainer.train(config, output, verbose=0)
    np.save(result_path.with_suffix(".npy"), flat_weights(result.model))
    result_path.with_suffix(".json").write_text(json.dumps(summary(result)), encoding="utf-8")


def series_worker(output: Path, result_path: Path, overrides: list[str]) -> None:
    import numpy as np

    from textae.series.config import series_preset
    from textae.training.series_trainer import train_series

    config = series_preset("tiny")
    config.train.strategy = "multi-worker"
    for item in overrides:
        key, value = item.split("=", 1)
        section, name = key.split(".")
        setattr(getattr(config, section), name, json.loads(value))
    result = train_series(config, output, verbose=0)
    np.save(result_path.with_suffix(".npy"), flat_weights(result.model))
    result_path.with_suffix(".json").write_text(json.dumps(summary(result)), encoding="utf-8")


def mirrored(output: Path, result_path: Path, overrides: list[str]) -> None:
    import tensorflow as tf

    (cpu,) = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from textae.training import trainer

    results = {}
    strategies = {
        "single": tf.distribute.get_strategy(),
        "mirrored": tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]),
    }
    for name, strategy in strategies.items():
        result = trainer.train(tiny_config(overrides), output / name, verbose=0, strategy=strategy)
        results[name] = summary(result) | {"replicas": strategy.num_replicas_in_sync}
    result_path.with_suffix(".json").write_text(json.dumps(results), encoding="utf-8")


if __name__ == "__main__":
    mode, output, result_file, *rest = sys.argv[1:]
    modes = {"multi-worker": multi_worker, "series-worker": series_worker, "mirrored": mirrored}
    modes[mode](Path(output), Path(result_file), rest)
