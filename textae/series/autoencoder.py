"""SeriesAE: what `textae.load()` returns for a time-series model folder.

```python
import textae

detector = textae.load("assets/series_model")
result = detector.score(values)        # values: (T,) or (T, C) in the units of the training data
result.step_scores, result.anomalies, result.regions
detector.reconstruct(values)           # (T, C), the mean over the overlapping windows
detector.encode(values)                # (N, Z) latent vectors, one per window, and their start steps
```

Scores: a window's score is the mean squared error of its reconstruction in
normalised units; a time step's score is the mean, over every window that covers
it, of that step's squared error. The threshold was chosen on the validation
part (the last part of the training series in time order) by `windows.threshold_rule`:
the 99.5th percentile of its per-step scores, leaving out the first and last `window - 1`
steps (covered by fewer windows, so noisier).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from textae.errors import InputError
from textae.series import windows
from textae.series.bundle import SeriesBundle, load_example

BATCH = 256


@dataclasses.dataclass
class SeriesScores:
    step_scores: np.ndarray  # (T,)
    window_scores: np.ndarray  # (N,)
    starts: np.ndarray  # (N,) first step of each window
    threshold: float
    reconstruction: np.ndarray  # (T, C), in the data's units

    @property
    def anomalies(self) -> np.ndarray:
        return self.step_scores > self.threshold

    @property
    def regions(self) -> list[tuple[int, int]]:
        return windows.regions(self.anomalies)


class SeriesAE:
    """A trained time-series autoencoder with its normalisation and threshold."""

    def __init__(self, loaded: SeriesBundle):
        self.bundle = loaded
        self.path = loaded.path
        self.model = loaded.model
        self.config = loaded.config
        self.normaliser = loaded.normaliser
        self.columns = loaded.columns
        self.threshold = loaded.threshold
        self.window = loaded.config.model.window
        self._encode = tf.function(lambda x: self.model.encode(x), reduce_retracing=True)
        self._round_trip = tf.function(lambda x: self.model.generate(self.model.encode(x)), reduce_retracing=True)

    def __repr__(self) -> str:
        return f"SeriesAE({self.path}, channels={self.columns}, window={self.window})"

    def example(self):
        """`(values, labels or None)` of the held-out series stored with the model, or None."""
        return load_example(self.path)

    def check(self, values, observed=None) -> tuple[np.ndarray, np.ndarray]:
        """Values as `(T, C)` float32 with NaN filled, and the observed mask; InputError says what is wrong."""
        array = np.asarray(values)
        if not np.issubdtype(array.dtype, np.number):
            raise InputError(f"The series must be numbers, got values of type {array.dtype}.")
        array = array.astype(np.float64)
        if array.ndim == 1:
            array = array[:, None]
        if array.ndim != 2 or array.shape[1] != len(self.columns):
            raise InputError(
                f"This model reads {len(self.columns)} channel(s) ({', '.join(self.columns)}), "
                f"got values of shape {np.shape(values)}; pass (T, {len(self.columns)})."
            )
        if len(array) < self.window:
            raise InputError(
                f"The series has {len(array)} steps, fewer than the model's window of {self.window}; pass a longer one."
            )
        try:
            filled, mask, _ = windows.check_values(array, self.columns, "interpolate", "the series", constant_ok=True)
        except ValueError as error:
            raise InputError(str(error)) from None
        if observed is not None:
            observed = np.asarray(observed, bool)
            if observed.size != mask.size:
                raise InputError(f"observed must have the series' shape {mask.shape}, got {observed.shape}.")
            mask &= observed.reshape(mask.shape)
        return filled, mask

    def _windows(self, filled: np.ndarray, stride: int) -> tuple[np.ndarray, np.ndarray]:
        return windows.make_windows(self.normaliser.transform(filled), self.window, stride)

    @staticmethod
    def _apply(function, cut: np.ndarray) -> np.ndarray:
        """`function` (a compiled model call) over the windows `cut`, `BATCH` at a time."""
        return np.concatenate([function(tf.constant(cut[b : b + BATCH])).numpy() for b in range(0, len(cut), BATCH)])

    def encode(self, values, stride: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """`(latents (N, Z), starts (N,))`: one latent vector per window."""
        filled, _ = self.check(values)
        cut, starts = self._windows(filled, stride or self.window)
        return self._apply(self._encode, cut), starts

    def reconstruct(self, values, stride: int | None = None) -> np.ndarray:
        """`(T, C)`: the reconstruction in the data's units, averaged over overlapping windows."""
        return self.score(values, stride=stride).reconstruction

    def score(self, values, observed=None, stride: int | None = None) -> SeriesScores:
        """Per-window and per-time-step anomaly scores (module docstring); `observed` masks missing values."""
        filled, mask = self.check(values, observed)
        stride = stride or self.config.data.score_stride
        if not 1 <= stride <= self.window:
            raise InputError(f"stride must be between 1 and the window ({self.window}), got {stride}.")
        cut, starts = self._windows(filled, stride)
        outputs = self._apply(self._round_trip, cut)
        window_mask = windows.make_windows(mask, self.window, stride)[0]
        errors = np.square(outputs - cut)
        weights = window_mask.astype(np.float32)
        window_scores = (errors * weights).sum((1, 2)) / np.maximum(weights.sum((1, 2)), 1.0)
        step = windows.step_scores(errors, window_mask, starts, len(filled))
        reconstruction = self.normaliser.inverse(windows.overlap_mean(outputs, starts, len(filled)))
        return SeriesScores(step, window_scores, starts, self.threshold, reconstruction)
