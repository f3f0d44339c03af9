"""One switch for textae's fast CPU kernels, with the stock Keras and TensorFlow ops as the fallback.

On a CPU, textae replaces three stock paths by faster ones (measured in `python -m training.benchmark`):
the recurrent layers' fused loops with the LSTM's hand-written gradient (`textae/recurrent.py`,
`textae/lstm.py`), `FusedAdam` (`textae/optimizers.py`), and the softmax cross-entropy and chunked
arg-max of `textae/losses.py`. On a GPU or a TPU the stock ops are the fast path (cuDNN, XLA), so
`auto` uses them there. Tests hold the two paths equal.

`TEXTAE_KERNELS=auto|fast|stock` chooses at start-up; `use(mode)` changes it for a block (tests,
benchmarks). The choice is read when a function is traced: set it before building and compiling a model.
"""

from __future__ import annotations

import contextlib
import functools
import os

MODES = ("auto", "fast", "stock")
VARIABLE = "TEXTAE_KERNELS"
_mode: str | None = None  # None: read VARIABLE


def mode() -> str:
    """The chosen mode, "auto" unless `TEXTAE_KERNELS` or `use` says otherwise."""
    chosen = _mode if _mode is not None else os.environ.get(VARIABLE, "auto")
    if chosen not in MODES:
        raise ValueError(f"{VARIABLE} must be one of {', '.join(MODES)}; got {chosen!r}.")
    return chosen


def fast() -> bool:
    """True when textae's CPU kernels are in use: mode "fast", or "auto" with no GPU or TPU visible."""
    chosen = mode()
    return chosen == "fast" or (chosen == "auto" and not accelerator_visible())


@functools.cache
def accelerator_visible() -> bool:
    """True when TensorFlow sees a GPU or a TPU."""
    import tensorflow as tf

    return bool(tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("TPU"))


@contextlib.contextmanager
def use(chosen: str):
    """Use mode `chosen` ("auto", "fast" or "stock") inside the block."""
    global _mode
    if chosen not in MODES:
        raise ValueError(f"kernels mode must be one of {', '.join(MODES)}; got {chosen!r}.")
    previous, _mode = _mode, chosen
    try:
        yield
    finally:
        _mode = previous
