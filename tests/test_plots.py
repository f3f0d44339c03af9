"""training.plots and training.curves: the PNG files a person looks at."""

import io
import json

from textae.text.metrics import length_buckets
from textae.training import curves, plots

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _by_length(scale: float = 1.0) -> dict:
    table = {}
    for index, (low, high) in enumerate(length_buckets(48)):
        table[f"{low}-{high}"] = {
            "tokens": [low, high], "sentences": 100 - 15 * index, "share": 0.2,
            "exact_match": scale * (0.9 - 0.2 * index), "bleu": scale * (95 - 20 * index),
            "loss": 0.1 * index, "teacher_forced_token_accuracy": 0.9, "free_running_token_accuracy": 0.8,
        }  # fmt: skip
    table["33-48"]["sentences"] = 0  # an empty bucket is left out of the chart, not drawn as zero
    return table


def _image_size(png: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        image.verify()
        return image.size


def test_by_length_plot_is_a_valid_png():
    png = plots.by_length(_by_length())
    assert png.startswith(PNG_SIGNATURE)
    width, height = _image_size(png)
    assert width > 400 and height > 250


def test_learning_curves_plot_is_a_valid_png():
    points = [
        {"minutes": m, "loss": 2.0 / (1 + m), "exact_match": 0.1 * m, "by_length": _by_length(0.1 * m)}
        for m in (1, 2, 3)
    ]
    png = plots.learning_curves(points)
    assert png.startswith(PNG_SIGNATURE)
    assert _image_size(png)[0] > 600


def test_read_curves_skips_a_torn_last_line(tmp_path):
    lines = [json.dumps({"minutes": 1.0}), json.dumps({"minutes": 2.0}), '{"minutes": 3']
    (tmp_path / curves.CURVES_FILE).write_text("\n".join(lines), encoding="utf-8")
    assert [point["minutes"] for point in curves.read_curves(tmp_path)] == [1.0, 2.0]
    assert curves.read_curves(tmp_path / "missing") == []


def _figure_of(monkeypatch, draw):
    """The matplotlib figure a plot function draws, kept open instead of rendered to PNG bytes."""
    kept = []
    monkeypatch.setattr(plots, "_png", lambda figure: kept.append(figure) or b"")
    draw()
    return kept[0]


def test_by_length_leaves_an_empty_bucket_out_of_the_chart(monkeypatch):
    figure = _figure_of(monkeypatch, lambda: plots.by_length(_by_length()))
    labels = [label.get_text().split("\n")[0] for label in figure.axes[0].get_xticklabels()]
    assert labels == ["1–8", "9–16", "17–24", "25–32"]  # 33–48 has no sentences: no bar at zero


def test_compare_curves_puts_runs_on_one_time_axis(monkeypatch):
    points = [{"step": s, "minutes": s / 10, "by_length": _by_length(s / 3000)} for s in (1000, 2000)]
    figure = _figure_of(
        monkeypatch, lambda: plots.compare_curves({"a": points, "b": points}, ("17-24",), paces={"a": 0.6, "b": 0.3})
    )
    lines = figure.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["a", "b"]
    assert list(lines[0].get_xdata()) == [10.0, 20.0] and list(lines[1].get_xdata()) == [5.0, 10.0]  # steps x pace
