"""Sliding windows, per-channel normalisation, and scores per time step (NumPy only).

- `check_values`: the checks every later step relies on (no infinities, no constant
  or empty column) and the missing-value rule.
- `window_starts` / `make_windows`: windows of `length` steps every `stride` steps; the
  last window is moved back to end at the last step, so every step is covered.
- `Normaliser`: mean and standard deviation per channel, fitted on the training part
  and stored in the bundle.
- `step_scores`: a per-time-step anomaly score, the mean over every window covering
  the step of that step's squared error (averaged over its observed channels).
- `threshold_rule` and `regions`: the documented threshold and the detected runs.
"""

from __future__ import annotations

import dataclasses

import numpy as np

THRESHOLD_QUANTILE = 0.995  # of the validation part's per-step scores (anomaly-free by assumption), edges out
UCR_TOLERANCE = 100  # steps either side of the labelled region (the UCR anomaly archive's criterion)


def check_values(values: np.ndarray, columns: list[str], missing: str, source: str, constant_ok: bool = False):
    """`(filled values, observed mask, report lines)`, or a ValueError naming the column and what to do.

    NaN values: `missing="interpolate"` fills them (linear inside, the nearest value at the ends) and marks them
    False in the observed mask; `"error"` refuses them. Infinite values and constant columns are refused.
    """
    values = np.array(values, dtype=np.float64)
    infinite = np.isinf(values)
    if infinite.any():
        row, column = map(int, np.argwhere(infinite)[0])
        raise ValueError(
            f"{source} has {int(infinite.sum())} infinite value(s), the first in column {columns[column]!r} at row "
            f"{row}; replace them with numbers or leave the cells empty (NaN) to have them interpolated."
        )
    observed = ~np.isnan(values)
    report = []
    for index, name in enumerate(columns):
        column = values[:, index]
        if not observed[:, index].any():
            raise ValueError(f"Column {name!r} of {source} has no values; drop it from --columns.")
        if np.nanstd(column) == 0 and not constant_ok:  # scoring takes a flat stretch; training cannot
            raise ValueError(
                f"Column {name!r} of {source} is constant ({np.nanmin(column):g}); it cannot be normalised and "
                "carries no signal: drop it from --columns."
            )
    gaps = int((~observed).sum())
    if gaps:
        if missing == "error":
            row, column = map(int, np.argwhere(~observed)[0])
            raise ValueError(
                f"{source} has {gaps} missing value(s), the first in column {columns[column]!r} at row {row}; "
                "fill them, or pass --missing interpolate."
            )
        steps = np.arange(len(values))
        for index in range(values.shape[1]):
            known = observed[:, index]
            if not known.all():
                values[~known, index] = np.interp(steps[~known], steps[known], values[known, index])
        report.append(f"{source}: {gaps} missing value(s) interpolated and left out of the loss and the scores")
    return values.astype(np.float32), observed, report


def window_starts(length: int, window: int, stride: int) -> np.ndarray:
    """Start index of every window; the last one ends at the last step."""
    if length < window:
        raise ValueError(
            f"The series has {length} steps, fewer than one window of {window}; pass a smaller --window "
            "or a longer series."
        )
    starts = np.arange(0, length - window + 1, stride)
    if starts[-1] != length - window:
        starts = np.append(starts, length - window)
    return starts


def make_windows(values: np.ndarray, window: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """`(windows (N, window, C), starts (N,))` of `values (T, C)`."""
    starts = window_starts(len(values), window, stride)
    index = starts[:, None] + np.arange(window)[None, :]
    return values[index], starts


@dataclasses.dataclass
class Normaliser:
    mean: np.ndarray  # (C,)
    std: np.ndarray  # (C,)

    @classmethod
    def fit(cls, values: np.ndarray, observed: np.ndarray | None = None) -> Normaliser:
        masked = np.ma.masked_array(values, mask=None if observed is None else ~observed)
        mean, std = np.ma.mean(masked, axis=0).filled(0.0), np.ma.std(masked, axis=0).filled(0.0)
        if (std == 0).any():
            raise ValueError(f"Channel {int(np.argmax(std == 0))} is constant in the training part; drop it.")
        return cls(mean.astype(np.float32), std.astype(np.float32))

    def transform(self, values: np.ndarray) -> np.ndarray:
        return ((values - self.mean) / self.std).astype(np.float32)

    def inverse(self, values: np.ndarray) -> np.ndarray:
        return (values * self.std + self.mean).astype(np.float32)

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, values: dict) -> Normaliser:
        return cls(np.asarray(values["mean"], np.float32), np.asarray(values["std"], np.float32))


def overlap_mean(per_window: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """Average window-aligned values `(N, W, ...)` back onto the series' steps: `(length, ...)`."""
    window = per_window.shape[1]
    total = np.zeros((length, *per_window.shape[2:]), np.float64)
    count = np.zeros(length, np.float64)
    for offset in range(window):  # W vectorised adds instead of N slices
        np.add.at(total, starts + offset, per_window[:, offset])
        np.add.at(count, starts + offset, 1.0)
    return (total / count.reshape(-1, *([1] * (total.ndim - 1)))).astype(np.float32)


def step_scores(errors: np.ndarray, observed: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """Per-time-step score `(length,)` from squared errors `(N, W, C)` and the observed mask `(N, W, C)`."""
    weights = observed.astype(np.float32)
    per_step = (errors * weights).sum(-1) / np.maximum(weights.sum(-1), 1.0)  # (N, W)
    return overlap_mean(per_step, starts, length)


def threshold_rule(validation_scores: np.ndarray, window: int) -> float:
    """The threshold: the 99.5th percentile of the validation part's per-step scores, its edges left out.

    The first and last `window - 1` steps of a scored series are covered by fewer windows (the very
    first and last by one), so their scores are noisier than the rest; they are left out when the
    validation part holds at least one full window between them.
    """
    scores = np.asarray(validation_scores)
    interior = scores[window - 1 : len(scores) - window + 1]
    return float(np.quantile(interior if len(interior) >= window else scores, THRESHOLD_QUANTILE))


def regions(flags: np.ndarray) -> list[tuple[int, int]]:
    """`[(start, stop), ...]` of the runs of True in `flags` (stop exclusive)."""
    padded = np.concatenate([[False], np.asarray(flags, bool), [False]])
    changes = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(a), int(b)) for a, b in zip(changes[::2], changes[1::2])]


def measurable(labels) -> bool:
    """True when `labels` are 0/1 with both classes present, so ROC-AUC and PR-AUC are defined."""
    if labels is None:
        return False
    labels = np.asarray(labels)
    return bool(np.isin(labels, (0, 1)).all() and 0 < labels.sum() < len(labels))


def ucr_hit(scores: np.ndarray, labels: np.ndarray, tolerance: int = UCR_TOLERANCE) -> bool:
    """The UCR anomaly archive's criterion: the top-scored step lies in a labelled region, +- `tolerance` steps."""
    top = int(np.argmax(scores))
    return any(start - tolerance <= top < stop + tolerance for start, stop in regions(labels == 1))


def against_labels(scores: np.ndarray, labels: np.ndarray) -> dict:
    """How per-step `scores` rank the labelled anomalies: ROC-AUC, PR-AUC (average precision), the UCR hit and
    the top step; the one place these are computed (the CLI, the app and `training.series_compare` show them)."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    scores = np.nan_to_num(np.asarray(scores, np.float64), nan=0.0)
    return {
        "roc_auc": float(roc_auc_score(labels, scores)),
        "pr_auc": float(average_precision_score(labels, scores)),
        "ucr_hit": bool(ucr_hit(scores, labels)),
        "top_step": int(np.argmax(scores)),
    }
