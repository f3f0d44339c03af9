"""The time-series page: a series with its reconstruction, the anomaly score, the threshold, the detected regions.

It offers the shipped series model (`assets/series_model`) and every time-series run
under `runs/*/model`. The series shown is the model's own held-out example, or a
CSV/Parquet file the visitor uploads (read from the upload, never from a path).
"""

from __future__ import annotations

import io

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from textae.app import inputs, models

NO_MODEL = """
### No time-series model yet

The page looks for the shipped model in `assets/series_model` and for time-series runs in `runs/*/model`.
Train one (seconds with `--preset tiny`) and reload this page:

```bash
python -m training.train --task timeseries --source aeon:kdd_tsad_135
```
"""
EXAMPLE = "The model's held-out example"
UPLOAD = "Upload a CSV or Parquet file"
ZOOM = 200  # steps either side of the highest score in the zoomed view


@st.cache_data(show_spinner="Scoring the series…", max_entries=8)
def _score(_detector, model_key: str, values: np.ndarray, observed: np.ndarray | None):
    return _detector.score(values, observed)


def _uploaded(detector):
    """`(values, observed, labels, columns)` from an uploaded file, or None (with a message) when there is none."""
    from textae.series import data as series_data

    upload = st.file_uploader("Series file", type=["csv", "tsv", "parquet"], key="series_upload",
                              help=f"One row per time step; numeric columns {', '.join(detector.columns)} "
                              "(an optional time column, and a 0/1 label column to measure against).")  # fmt: skip
    if upload is None:
        st.info("Upload a file to score it, or choose the example above.")
        return None
    frame = series_data.read_table_file(io.BytesIO(upload.getvalue()), upload.name)
    columns = tuple(detector.columns) if set(detector.columns) <= set(frame.columns) else ()
    series = series_data.series_from_frame(frame, upload.name, columns=columns)
    return series.values, series.observed, series.labels, series.columns


def figure(values, result, labels, channel: int, name: str, x_range=None) -> go.Figure:
    """The series and its reconstruction above, the score and threshold below, regions shaded in both."""
    steps = np.arange(len(values))
    titles = (f"{name}: the series and its reconstruction", "Anomaly score per time step")
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.06, row_heights=[0.6, 0.4],
                        subplot_titles=titles)  # fmt: skip
    fig.add_trace(go.Scatter(x=steps, y=values[:, channel], name="series", line={"color": "#1f77b4", "width": 1.2}),
                  row=1, col=1)  # fmt: skip
    fig.add_trace(go.Scatter(x=steps, y=result.reconstruction[:, channel], name="reconstruction",
                             line={"color": "#ff7f0e", "width": 1.2, "dash": "dot"}), row=1, col=1)  # fmt: skip
    fig.add_trace(go.Scatter(x=steps, y=result.step_scores, name="score", line={"color": "#444", "width": 1}),
                  row=2, col=1)  # fmt: skip
    fig.add_hline(y=result.threshold, line={"color": "#d62728", "dash": "dash", "width": 1}, row=2, col=1,
                  annotation_text="threshold", annotation_position="top left")  # fmt: skip
    for start, stop in result.regions:
        for row in (1, 2):
            fig.add_vrect(
                x0=start - 0.5, x1=stop - 0.5, fillcolor="#d62728", opacity=0.25, line_width=0, row=row, col=1
            )
    if labels is not None:
        from textae.series.windows import regions

        for start, stop in regions(labels == 1):
            fig.add_vrect(x0=start - 0.5, x1=stop - 0.5, fillcolor="#2ca02c", opacity=0.2, line_width=0, row=1, col=1)
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name="labelled anomaly",
                                 marker={"color": "#2ca02c", "symbol": "square", "size": 10}))  # fmt: skip
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name="detected (over the threshold)",
                             marker={"color": "#d62728", "symbol": "square", "size": 10, "opacity": 0.5}))  # fmt: skip
    fig.update_layout(height=560, margin={"l": 10, "r": 10, "t": 60, "b": 10},
                      legend={"orientation": "h", "y": 1.12, "x": 0}, hovermode="x unified")  # fmt: skip
    fig.update_xaxes(title_text="time step", row=2, col=1)
    if x_range is not None:
        fig.update_xaxes(range=list(x_range))
    return fig


def view_range(result, length: int):
    """The x range the visitor picked: everything, or the steps around the highest score."""
    choice = st.radio("View", ["Whole series", "Around the highest score"], horizontal=True, key="series_view")
    if choice == "Whole series":
        return None
    top = int(np.argmax(result.step_scores))
    return max(0, top - ZOOM) - 0.5, min(length, top + ZOOM) - 0.5


def main() -> None:
    st.title("Anomalies in a time series")
    st.markdown(
        "A recurrent autoencoder compresses each window of the series into one latent vector and writes the "
        "window back. Windows unlike the training data come back worse: a step's **anomaly score** is its squared "
        "reconstruction error, averaged over the windows that cover it, and steps over the **threshold** (chosen on "
        "held-out normal data) are flagged."
    )
    available = models.discover_models(task="timeseries")
    if not available:
        st.info(NO_MODEL, icon=":material/model_training:")
        return
    label = st.sidebar.selectbox("Time-series model", list(available), key="series_model_label")
    folder = available[label]
    detector = None
    with inputs.friendly_errors():
        model_key = models.bundle_key(folder)
        detector = models.load_autoencoder(str(folder), model_key)
    if detector is None:
        return
    st.sidebar.caption(
        f"{len(detector.columns)} channel(s) · window {detector.window} · threshold {detector.threshold:.4g}"
    )
    with st.sidebar.expander("Model card"):
        st.markdown(detector.bundle.card or "This model folder has no MODEL_CARD.md.")

    example = detector.example()
    choices = [EXAMPLE, UPLOAD] if example is not None else [UPLOAD]
    source = st.radio("Series", choices, horizontal=True, key="series_source")
    picked = None
    with inputs.friendly_errors():
        if source == EXAMPLE:
            values, labels = example
            picked = values, None, labels, detector.columns
        else:
            picked = _uploaded(detector)
    if picked is None:
        return
    values, observed, labels, columns = picked
    result = None
    with inputs.friendly_errors():
        result = _score(detector, model_key, values, observed)
    if result is None:
        return
    channel = 0
    if len(columns) > 1:
        channel = columns.index(st.selectbox("Channel to plot", columns, key="series_channel"))
    x_range = view_range(result, len(values))
    st.plotly_chart(figure(values, result, labels, channel, columns[channel], x_range), width="stretch")
    _summary(result, labels)


def _summary(result, labels) -> None:
    from textae.series import windows

    cells = st.columns(4)
    cells[0].metric("Time steps", f"{len(result.step_scores):,}")
    cells[1].metric("Threshold", f"{result.threshold:.4g}")
    cells[2].metric("Flagged steps", f"{int(result.anomalies.sum()):,}")
    cells[3].metric("Detected regions", len(result.regions))
    if windows.measurable(labels):
        measured = windows.against_labels(result.step_scores, labels)
        st.markdown(
            f"Against the labels: ROC-AUC **{measured['roc_auc']:.3f}**, PR-AUC "
            f"**{measured['pr_auc']:.3f}**; the highest score, at step "
            f"{measured['top_step']}, is {'inside' if measured['ucr_hit'] else 'outside'} the labelled anomaly "
            f"(±{windows.UCR_TOLERANCE} steps, the UCR archive's criterion)."
        )
    if result.regions:
        rows = [{"first step": a, "last step": b - 1, "steps": b - a,
                 "peak score": float(result.step_scores[a:b].max())} for a, b in result.regions]  # fmt: skip
        st.dataframe(sorted(rows, key=lambda row: -row["peak score"]), hide_index=True, width="stretch")
