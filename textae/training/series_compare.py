"""python -m training.series_compare: the autoencoder against aeon's anomaly detectors, in one run.

    python -m training.series_compare --output runs/series_compare          # trains, scores, prints the table
    python -m training.series_compare --output runs/series_compare --ship   # also: assets/series_model, docs

Two benchmarks, every detector scored by the same code on the same steps:

- kdd_tsad_135: aeon's UCR anomaly series InternalBleeding16 (one channel). Train on its
  anomaly-free train split (the first 1,200 steps); score the whole test split (7,501 steps).
- daphnet_injected: aeon's Daphnet S06R02E0 (9 acceleration channels). aeon 1.6 ships it with
  no labelled anomaly at all (every label is 0; aeon deprecates it for that reason), so its
  ROC-AUC is undefined. We inject five labelled anomalies (`inject`: a level shift, a flat
  line, a noise burst, an amplitude change, a reversed segment; 60 steps each, seeded) into
  the second half, train on the first half, and score the whole series.

Metrics per detector: ROC-AUC and PR-AUC (average precision) of the per-step score against
the labels, and the UCR criterion (the top-scored step inside a labelled region, +-100 steps).
Detectors that fit (KMeansAD, IsolationForest, the autoencoder) fit on the training part;
STOMP and MERLIN are unsupervised and see only the scored series. The univariate ones run on
each channel of Daphnet, and a step's score is the maximum over channels of the
min-max-normalised scores. Every window-based detector uses the autoencoder's window.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from textae import quiet  # noqa: E402

quiet.start_tensorflow()

import numpy as np  # noqa: E402

from textae import files  # noqa: E402
from textae.series import bundle as series_bundle  # noqa: E402
from textae.series import data as series_data  # noqa: E402
from textae.series import windows  # noqa: E402
from textae.series.config import series_preset  # noqa: E402
from textae.training import program_name  # noqa: E402

WINDOW = 64
INJECTED = ("level shift", "flat line", "noise burst", "amplitude x3", "reversed")
MARKERS = ("<!-- series-compare:start -->", "<!-- series-compare:end -->")


def inject(values: np.ndarray, start: int, length: int = 60, seed: int = 0):
    """Five labelled anomalies in `values[start:]`, one of each kind in `INJECTED`, on seeded channels."""
    rng = np.random.default_rng(seed)
    values = values.astype(np.float32).copy()
    labels = np.zeros(len(values), int)
    std = values[:start].std(axis=0)
    positions = np.linspace(start + length, len(values) - 2 * length, len(INJECTED)).astype(int)
    for kind, at in zip(INJECTED, positions):
        channel = int(rng.integers(values.shape[1]))
        segment = slice(at, at + length)
        if kind == "level shift":
            values[segment, channel] += 3 * std[channel]
        elif kind == "flat line":
            values[segment, channel] = values[at, channel]
        elif kind == "noise burst":
            values[segment, channel] += rng.normal(0, 2 * std[channel], length)
        elif kind == "amplitude x3":
            mean = values[segment, channel].mean()
            values[segment, channel] = mean + 3 * (values[segment, channel] - mean)
        else:
            values[segment, channel] = values[segment, channel][::-1]
        labels[segment] = 1
    return values, labels


def benchmarks() -> dict:
    """`{name: (train values (T1, C), scored values (T2, C), labels (T2,))}`."""
    train, _ = series_data.load_aeon("kdd_tsad_135", "train")
    test, labels = series_data.load_aeon("kdd_tsad_135", "test")
    daphnet, _ = series_data.load_aeon("daphnet_s06r02e0")
    half = len(daphnet) // 2
    injected, injected_labels = inject(daphnet, half)
    return {"kdd_tsad_135": (train, test, labels), "daphnet_injected": (injected[:half], injected, injected_labels)}


def _minmax(scores: np.ndarray) -> np.ndarray:
    span = scores.max() - scores.min()
    return (scores - scores.min()) / span if span > 0 else np.zeros_like(scores)


def classical(name: str, train: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Per-step scores of one aeon detector (see the module docstring for the protocol)."""
    from aeon.anomaly_detection.series.distance_based import MERLIN, STOMP, KMeansAD
    from aeon.anomaly_detection.series.outlier_detection import IsolationForest

    train, test = np.asarray(train, np.float64), np.asarray(test, np.float64)  # stumpy takes float64 only
    if name == "KMeansAD":
        detector = KMeansAD(n_clusters=20, window_size=WINDOW, random_state=0)
        return detector.fit(train, axis=0).predict(test, axis=0)
    if name == "IsolationForest":
        detector = IsolationForest(window_size=WINDOW, random_state=0)
        return detector.fit(train, axis=0).predict(test, axis=0)
    per_channel = []
    for channel in range(test.shape[1]):  # univariate detectors: each channel, then the maximum
        if name == "STOMP":
            scores = STOMP(window_size=WINDOW).fit_predict(test[:, channel], axis=0)
        else:
            scores = MERLIN(min_length=WINDOW // 2, max_length=WINDOW).fit_predict(test[:, channel], axis=0)
        per_channel.append(_minmax(np.asarray(scores, np.float64)))
    return np.max(per_channel, axis=0)


def autoencoder(name: str, train: np.ndarray, test: np.ndarray, labels, folder: Path, minutes: float):
    """Train the `timeseries` preset on `train`; per-step scores of `test` and the run's result.

    kdd_tsad_135 trains from aeon's own train split (so its bundle names its source); the injected
    Daphnet series from a CSV of its first half, written into `folder`.
    """
    import pandas as pd

    import textae
    from textae.training.series_trainer import train_series

    config = series_preset("timeseries")
    if name == "kdd_tsad_135":
        config.data.source, config.data.split = "aeon:kdd_tsad_135", "train"
    else:
        source = folder / f"{name}.train.csv"
        pd.DataFrame(train, columns=[f"channel_{i}" for i in range(train.shape[1])]).to_csv(source, index=False)
        config.data.source = str(source)
    config.data.window, config.data.stride = WINDOW, 1
    config.train.epochs, config.train.max_minutes = 200, minutes
    command = f"python -m training.series_compare --only {name}"
    result = train_series(config, folder / name, verbose=2, command=command)
    if result.bundle_path is None:
        raise ValueError(f"Training the {name} autoencoder wrote no model (a NaN loss in its first epoch?).")
    # The app shows the bundle's example first: the scored series with its labels, not the validation part.
    files.write_atomic(result.bundle_path / series_bundle.EXAMPLE_FILE, series_bundle.example_bytes(test, labels))
    detector = textae.load(result.bundle_path)
    return detector.score(test).step_scores, result


def measure(scores: np.ndarray, labels: np.ndarray) -> dict:
    return windows.against_labels(scores, labels)


def table(results: dict) -> str:
    lines = []
    for bench, rows in results.items():
        lines += [f"**{bench}**", "", "| detector | ROC-AUC | PR-AUC | top step in the anomaly (UCR) | seconds |",
                  "|---|---:|---:|:---:|---:|"]  # fmt: skip
        for name, row in sorted(rows.items(), key=lambda item: -item[1]["roc_auc"]):
            hit = "yes" if row["ucr_hit"] else "no"
            lines.append(f"| {name} | {row['roc_auc']:.3f} | {row['pr_auc']:.3f} | {hit} | {row['seconds']:.0f} |")
        lines.append("")
    return "\n".join(lines)


def write_docs(results: dict, path: Path) -> None:
    """Put the table between the markers of docs/TIMESERIES.md."""
    text = path.read_text(encoding="utf-8")
    start, end = text.index(MARKERS[0]) + len(MARKERS[0]), text.index(MARKERS[1])
    path.write_text(text[:start] + "\n" + table(results) + text[end:], encoding="utf-8")


SHIPPED_CARD = """# textae time-series model: aeon's KDD-TSAD 135 (UCR InternalBleeding16)

A recurrent autoencoder (the `timeseries` preset: bidirectional LSTM encoder, 64 units, latent 16, window
{window}) trained on the anomaly-free train split (1,200 steps) of series 135 of the KDD Cup 2021 / UCR Time
Series Anomaly Archive, as aeon ships it (`aeon.datasets.load_kdd_tsad_135`). Anomaly score: the squared
reconstruction error per step, averaged over the windows covering it; threshold {threshold:.4g}, the 99.5th
percentile of the validation part's scores (the last 20% of the train split, its edges left out).

**Data and licence**: Wu and Keogh, "Current Time Series Anomaly Detection Benchmarks are Flawed and are
Creating the Illusion of Progress" (2021), distributed inside aeon (BSD 3-Clause); the archive is published
for research use. `example.npz` holds the test split (7,501 steps) and its labels.

**Reproduce**: `python -m training.series_compare --ship` (docs/TIMESERIES.md), which also measures it
against aeon's detectors on the test split:

{table}
"""


def ship(results: dict, model: Path) -> Path:
    """Copy the kdd_tsad_135 model to the shipped folder with its card; the table into docs/TIMESERIES.md."""
    target = files.shipped("series_model")
    staged = target.with_name(".series_model.new")
    shutil.rmtree(staged, ignore_errors=True)
    shutil.copytree(model, staged)
    info = json.loads((staged / series_bundle.SERIES_FILE).read_text(encoding="utf-8"))
    window = json.loads((staged / "config.json").read_text(encoding="utf-8"))["config"]["data"]["window"]
    card = SHIPPED_CARD.format(
        window=window, threshold=info["threshold"], table=table({"kdd_tsad_135": results["kdd_tsad_135"]})
    )
    (staged / "MODEL_CARD.md").write_text(card, encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    staged.rename(target)
    write_docs(results, files.CHECKOUT_DIR / "docs" / "TIMESERIES.md")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=program_name("series_compare"), description=__doc__.split("\n\n")[0])
    parser.add_argument("--verbose", action="store_true", help=quiet.VERBOSE_HELP)
    parser.add_argument("--output", default="runs/series_compare", help="folder for the runs and results.json")
    parser.add_argument("--minutes", type=float, default=6.0, help="training time of each autoencoder at most")
    parser.add_argument("--only", nargs="+", help="benchmarks to run (default: both)")
    parser.add_argument("--ship", action="store_true", help="copy the kdd_tsad_135 model to assets/series_model "
                        "and write the table into docs/TIMESERIES.md")  # fmt: skip
    args = parser.parse_args(argv)
    try:
        import aeon  # noqa: F401
    except ImportError:
        print("series_compare: error: aeon is not installed; pip install -r requirements-dev.txt", file=sys.stderr)
        return 2
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    saved = output / "results.json"  # a run of some benchmarks (--only) keeps the others' rows
    results = json.loads(saved.read_text(encoding="utf-8")) if saved.is_file() else {}
    models = {name: output / name / "model" for name in results if (output / name / "model").is_dir()}
    for bench, (train, test, labels) in benchmarks().items():
        if args.only and bench not in args.only:
            continue
        rows = {}
        started = time.monotonic()
        try:
            scores, result = autoencoder(bench, train, test, labels, output, args.minutes)
        except (ValueError, OSError) as error:  # bad settings, a NaN run: one line
            print(f"series_compare: error: {error}", file=sys.stderr)
            return 2
        rows["textae autoencoder"] = {**measure(scores, labels), "seconds": time.monotonic() - started}
        models[bench] = result.bundle_path
        np.save(output / f"{bench}.textae.npy", scores)
        for name in ("KMeansAD", "IsolationForest", "STOMP", "MERLIN"):
            started = time.monotonic()
            scores = classical(name, train, test)
            rows[name] = {**measure(scores, labels), "seconds": time.monotonic() - started}
            np.save(output / f"{bench}.{name}.npy", scores)
            print(f"{bench} {name}: {rows[name]}", flush=True)
        results[bench] = rows
    saved.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(table(results))
    if args.ship and "kdd_tsad_135" in models:
        target = ship(results, models["kdd_tsad_135"])
        print(f"Shipped {models['kdd_tsad_135']} to {target}; table written to docs/TIMESERIES.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
