"""`--mixed-precision auto` on a CPU with bfloat16 units: measure, don't guess.

Whether bfloat16 pays on a CPU depends on the machine and on the model's shapes. Measured with the same
code (issue #21, docs/RECIPE.md): on one AMD EPYC with AVX512-BF16 the hidden-256 text model ran 0.93x as
fast in bfloat16 as in float32, while on another it ran 1.02x, and the hidden-512 model 1.58x. So `auto`
times a few training steps of the run's own model on one of its own batches in both policies and keeps
bfloat16 only when it is at least `MARGIN` faster. The answer is cached per CPU model and model shape
(`$XDG_CACHE_HOME/textae/precision.json`), so the measurement is paid once per machine and shape.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import keras

from textae.files import write_atomic

MARGIN = 1.05  # bfloat16 must be at least 5 % faster: a tie is not worth the lower precision
STEPS = 6  # timed steps per policy, after two untimed ones that trace the step


def cache_file() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "textae" / "precision.json"


def cpu_model(path: str = "/proc/cpuinfo") -> str:
    """The CPU's model name ("unknown" when the system does not say)."""
    try:
        with open(path, encoding="utf-8") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def time_steps(build: Callable[[], keras.Model], batch, policy: str, steps: int = STEPS) -> float:
    """Seconds per training step of a model built by `build()` under `policy` (the global policy is restored)."""
    before = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(policy)
    try:
        model = build()
        import tensorflow as tf

        step = tf.function(model.train_step)
        for _ in range(2):
            step(batch)
        start = time.perf_counter()
        for _ in range(steps):
            logs = step(batch)
        float(logs["loss"])
        return (time.perf_counter() - start) / steps
    finally:
        keras.mixed_precision.set_global_policy(before)


def choose(key: str, measure: Callable[[str], float], cache: Path | None = None) -> tuple[str, dict]:
    """ "bfloat16" or "off" for the model `key` names, from the cache or from `measure(policy)` seconds per step.

    Returns:
        `(mode, record)`: the record holds both timings and the speed-up, as cached.
    """
    cache = cache or cache_file()
    full_key = f"{cpu_model()} | {key}"
    try:
        known = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    record = known.get(full_key) if isinstance(known, dict) else None
    if not isinstance(record, dict) or "speedup" not in record:
        float32, bfloat16 = measure("float32"), measure("mixed_bfloat16")
        record = {"float32_seconds": float32, "bfloat16_seconds": bfloat16, "speedup": float32 / bfloat16}
        known = known if isinstance(known, dict) else {}
        known[full_key] = record
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(cache, (json.dumps(known, indent=2, sort_keys=True) + "\n").encode("utf-8"))
        except OSError:
            pass  # a read-only home: measure again next time
    return ("bfloat16" if record["speedup"] >= MARGIN else "off"), record
