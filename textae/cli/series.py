"""`textae detect`: anomaly scores of a numeric series from a time-series model.

Reads the series (a .csv/.tsv/.parquet file, a dataset, or aeon:kdd_tsad_135), scores
every time step, prints a summary (threshold, anomalous steps, the detected regions)
and, with --output, writes one row per step: the score, whether it is over the
threshold, and the reconstruction of each channel.
"""

from __future__ import annotations

import json
import sys

import numpy as np

from textae import files, hub, quiet
from textae.bundle import json_default
from textae.cli.text import UsageError
from textae.series import windows

SHIPPED = "series_model"


def default_series_model():
    return files.shipped(SHIPPED)


def add_parser(subparsers) -> None:
    command = subparsers.add_parser("detect", help="anomaly scores of a numeric series (a time-series model)")
    command.add_argument("--source", required=True, help="a .csv/.tsv/.parquet file, a dataset, or aeon:kdd_tsad_135")
    command.add_argument("--split", default="test", help="dataset split (aeon:kdd_tsad_135: train or test)")
    command.add_argument("--columns", nargs="+", default=(), help="value columns (default: the model's own names)")
    command.add_argument("--output", help="write per-step scores and reconstructions here (.csv or .parquet)")
    command.add_argument(
        "--model", default=None, help=f"time-series model folder or hf://OWNER/NAME (default: {default_series_model()})"
    )
    command.add_argument("--json", action="store_true", help="print machine-readable JSON")
    command.add_argument("--verbose", action="store_true", help=quiet.VERBOSE_HELP)


def detect(args) -> None:
    from textae.series import data as series_data
    from textae.series.autoencoder import SeriesAE
    from textae.series.bundle import load_series_bundle

    if args.output and not args.output.endswith((".csv", ".parquet")):
        raise UsageError(f"--output must end in .csv or .parquet, got {args.output}.")
    with quiet.unless_verbose():
        detector = SeriesAE(load_series_bundle(hub.resolve(args.model) if args.model else default_series_model()))
    columns = tuple(args.columns)
    if not columns and not args.source.startswith("aeon:"):
        columns = tuple(detector.columns)  # the names the model was trained on
    series = series_data.load_series(args.source, split=args.split, columns=columns)  # a SeriesError is one line
    for line in series.report:
        print(f"textae: {line}", file=sys.stderr)
    result = detector.score(series.values, series.observed)
    summary = {
        "steps": len(series),
        "threshold": result.threshold,
        "anomalous_steps": int(result.anomalies.sum()),
        "regions": result.regions,
        "top_step": int(np.argmax(result.step_scores)),
    }
    if windows.measurable(series.labels):
        measured = windows.against_labels(result.step_scores, series.labels)
        summary.update(roc_auc=measured["roc_auc"], pr_auc=measured["pr_auc"])
    if args.output:
        _write(args.output, series, result)
    if args.json:
        print(json.dumps(summary, default=json_default))
        return
    strongest = sorted(result.regions, key=lambda region: -result.step_scores[region[0] : region[1]].max())
    shown = ", ".join(f"{a}-{b - 1}" for a, b in strongest[:5]) or "none"
    more = f" (and {len(result.regions) - 5} more)" if len(result.regions) > 5 else ""
    print(f"{summary['steps']} steps; threshold {result.threshold:.4g}; {summary['anomalous_steps']} anomalous step(s) "
          f"in {len(result.regions)} region(s); highest score at step {summary['top_step']}")  # fmt: skip
    print(f"strongest regions: {shown}{more}")
    if "roc_auc" in summary:
        print(f"against the labels: ROC-AUC {summary['roc_auc']:.3f}, PR-AUC {summary['pr_auc']:.3f}")


def _write(path: str, series, result) -> None:
    import pandas as pd

    frame = pd.DataFrame({"step": np.arange(len(series)), "score": result.step_scores, "anomaly": result.anomalies})
    if series.time is not None:
        frame.insert(1, "time", series.time)
    for index, name in enumerate(series.columns):
        frame[name] = series.values[:, index]
        frame[f"reconstruction_{name}"] = result.reconstruction[:, index]
    if path.endswith(".parquet"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
