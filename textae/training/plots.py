"""PNG plots (as bytes) of a model's quality: by sentence length, and learning curves over wall-clock time."""

from __future__ import annotations

import io

from textae.text import model_card


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; never a window
    import matplotlib.pyplot as pyplot

    return pyplot


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(figure)
    return buffer.getvalue()


def by_length(by_length: dict, title: str = "Reconstruction by sentence length") -> bytes:
    """Exact match (bars, left axis) and BLEU (line, right axis) per length bucket, with each bucket's share."""
    pyplot = _pyplot()
    by_length = model_card.ordered_buckets(by_length)
    labels = [label.replace("-", "–") for label, entry in by_length.items() if entry["sentences"]]
    entries = [entry for entry in by_length.values() if entry["sentences"]]
    figure, left = pyplot.subplots(figsize=(6.4, 3.6))
    positions = range(len(entries))
    bars = left.bar(positions, [entry["exact_match"] for entry in entries], color="#4c72b0", label="exact match")
    for bar, entry in zip(bars, entries):
        inside = bar.get_height() > 0.12  # the value inside the bar's top, clear of the BLEU line
        left.annotate(
            f"{entry['exact_match']:.2f}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            xytext=(0, -4 if inside else 2), textcoords="offset points", ha="center",
            va="top" if inside else "bottom", fontsize=8, color="white" if inside else "black",
        )  # fmt: skip
    left.set_ylim(0, 1.08)
    left.set_ylabel("exact match (greedy)")
    left.set_xticks(list(positions), [f"{label}\n{entry['share']:.0%}" for label, entry in zip(labels, entries)])
    left.set_xlabel("sentence length in tokens (share of sentences)")
    right = left.twinx()
    right.plot(list(positions), [entry["bleu"] for entry in entries], color="#dd8452", marker="o", label="BLEU")
    right.set_ylim(0, 108)
    right.set_ylabel("BLEU")
    handles = [bars, right.lines[0]]
    left.legend(handles, ["exact match", "BLEU"], loc="upper right", fontsize=8)
    left.set_title(title)
    return _png(figure)


def learning_curves(points: list[dict]) -> bytes:
    """Validation loss and exact match per length bucket against wall-clock minutes."""
    pyplot = _pyplot()
    minutes = [point["minutes"] for point in points]
    figure, (loss_axis, match_axis) = pyplot.subplots(1, 2, figsize=(10, 3.6))
    loss_axis.plot(minutes, [point["loss"] for point in points], marker="o", color="black")
    loss_axis.set_xlabel("training time (minutes)")
    loss_axis.set_ylabel("validation cross-entropy per token")
    loss_axis.set_title("Validation loss")
    labels = list(points[-1]["by_length"]) if points else []
    for label in labels:
        pairs = [
            (point["minutes"], point["by_length"][label]["exact_match"])
            for point in points
            if point["by_length"].get(label, {}).get("sentences")
        ]
        if pairs:
            match_axis.plot(*zip(*pairs), marker="o", label=f"{label.replace('-', '–')} tokens")
    match_axis.plot(minutes, [point["exact_match"] for point in points], color="black", linestyle="--", label="all")
    match_axis.set_ylim(0, 1.02)
    for axis in (loss_axis, match_axis):
        axis.set_xlim(left=0)
        axis.grid(alpha=0.3)
    match_axis.set_xlabel("training time (minutes)")
    match_axis.set_ylabel("exact match (greedy)")
    match_axis.set_title("Validation exact match by length")
    match_axis.legend(fontsize=8, loc="upper left")
    return _png(figure)


def compare_curves(
    runs: dict[str, list[dict]], buckets: tuple[str, ...], paces: dict[str, float] | None = None
) -> bytes:
    """Exact match (top row) and validation loss (bottom row) of `buckets` (e.g. "17-24") for several runs side by
    side, against training minutes.

    `paces` (seconds per step, measured for each run's model alone on the machine) put the runs on a clean time
    axis, minutes = step x pace, when another job shared the CPU while they trained; without them the runs' own
    wall-clock minutes are used.
    """
    pyplot = _pyplot()
    figure, axes = pyplot.subplots(2, len(buckets), figsize=(5 * len(buckets), 6.6), squeeze=False)
    for column, bucket in enumerate(buckets):
        for row, (key, title) in enumerate((("exact_match", "exact match (greedy)"), ("loss", "cross-entropy"))):
            axis = axes[row][column]
            for name, points in runs.items():
                pairs = [
                    ((point["step"] * paces[name] / 60.0) if paces else point["minutes"], point["by_length"][bucket])
                    for point in points
                    if point["by_length"].get(bucket, {}).get("sentences")
                ]
                if pairs:
                    axis.plot([x for x, _ in pairs], [entry[key] for _, entry in pairs], marker="o", label=name)
            axis.set_title(f"Validation {title}, {bucket.replace('-', '–')} tokens", fontsize=10)
            axis.set_xlabel("training minutes" + (" (steps x measured pace)" if paces else ""))
            axis.set_ylabel(title)
            axis.set_xlim(left=0)
            if key == "exact_match":
                axis.set_ylim(bottom=0)
            axis.grid(alpha=0.3)
            axis.legend(fontsize=8)
    figure.tight_layout()
    return _png(figure)
