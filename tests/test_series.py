"""The time-series autoencoder: windows, normalisation, masked MSE, training, resume, the bundle, bad input."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import sine_series, write_series_csv

from textae.series import data as series_data
from textae.series import windows
from textae.series.config import SeriesConfig, series_preset

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def tiny_config(source: Path, **train) -> SeriesConfig:
    config = series_preset("tiny")
    config.data.source = str(source)
    config.data.score_stride = 2
    config.train.epochs = train.pop("epochs", 2)
    for key, value in train.items():
        setattr(config.train, key, value)
    return config


# ----------------------------------------------------------------- windows and normalisation
def test_windows_cover_every_step_and_the_last_one_ends_at_the_end():
    values = np.arange(10, dtype=np.float32)[:, None]
    cut, starts = windows.make_windows(values, window=4, stride=3)
    assert starts.tolist() == [0, 3, 6]
    assert cut[:, :, 0].tolist() == [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]]
    _, starts = windows.make_windows(np.zeros((11, 1)), window=4, stride=3)
    assert starts.tolist() == [0, 3, 6, 7]  # moved back so step 10 is covered
    with pytest.raises(ValueError, match="fewer than one window"):
        windows.make_windows(np.zeros((3, 1)), window=4, stride=1)


def test_overlap_mean_puts_window_values_back_on_their_steps():
    values = np.arange(12, dtype=np.float32).reshape(6, 2)
    cut, starts = windows.make_windows(values, window=3, stride=1)
    assert np.allclose(windows.overlap_mean(cut, starts, 6), values)


def test_normaliser_round_trip_and_fitted_on_observed_values_only():
    values = np.array([[1.0, 10.0], [3.0, 20.0], [100.0, 30.0]], np.float32)
    observed = np.array([[True, True], [True, True], [False, True]])
    normaliser = windows.Normaliser.fit(values, observed)
    assert normaliser.mean.tolist() == [2.0, 20.0]  # the unobserved 100 is ignored
    again = windows.Normaliser.from_dict(json.loads(json.dumps(normaliser.to_dict())))
    assert np.allclose(again.inverse(again.transform(values)), values, atol=1e-5)


def test_step_scores_average_each_step_over_its_windows_and_skip_unobserved_channels():
    errors = np.array([[[1.0, 9.0], [2.0, 9.0]], [[4.0, 0.0], [6.0, 0.0]]], np.float32)  # (N=2, W=2, C=2)
    observed = np.array([[[1, 0], [1, 0]], [[1, 0], [1, 0]]], bool)
    scores = windows.step_scores(errors, observed, np.array([0, 1]), 3)
    assert scores.tolist() == [1.0, 3.0, 6.0]  # step 1: mean of 2 (window 0) and 4 (window 1)


def test_regions_threshold_and_the_ucr_criterion():
    flags = np.array([0, 1, 1, 0, 0, 1], bool)
    assert windows.regions(flags) == [(1, 3), (5, 6)]
    assert windows.threshold_rule(np.arange(1001, dtype=float), window=1) == pytest.approx(995.0)
    edges = np.concatenate([[50.0] * 9, np.ones(200), [50.0] * 9])  # noisy edge steps, covered by fewer windows
    assert windows.threshold_rule(edges, window=10) == 1.0  # left out
    assert windows.threshold_rule(edges[:25], window=10) == pytest.approx(50.0)  # too short to leave them out
    labels = np.zeros(1000, int)
    labels[500:510] = 1
    scores = np.zeros(1000)
    scores[605] = 1.0  # within 100 steps after the region
    assert windows.ucr_hit(scores, labels)
    scores[605], scores[700] = 0.0, 1.0
    assert not windows.ucr_hit(scores, labels)


def test_masked_mse_ignores_unobserved_values():
    import tensorflow as tf

    from textae.series.model import masked_mse

    target = tf.constant([[[1.0], [2.0]]])
    prediction = tf.constant([[[1.0], [50.0]]])
    assert float(masked_mse(target, prediction, tf.constant([[[1.0], [0.0]]]))) == 0.0
    assert float(masked_mse(target, prediction, tf.ones_like(target))) == pytest.approx(48.0**2 / 2)


# ----------------------------------------------------------------- loading and bad input
def test_csv_columns_are_auto_detected_and_missing_values_interpolated(tmp_path):
    values = sine_series(50, 2)
    values[10, 1] = np.nan
    labels = np.zeros(50, int)
    labels[20] = 1
    path = write_series_csv(tmp_path / "s.csv", values, {"label": labels, "note": ["x"] * 50})
    series = series_data.load_series(str(path))
    assert series.columns == ["v0", "v1"] and series.labels.tolist() == labels.tolist()
    assert not series.observed[10, 1] and series.observed.sum() == 99
    assert series.values[10, 1] == pytest.approx((values[9, 1] + values[11, 1]) / 2, abs=1e-6)
    assert "1 missing value(s) interpolated" in series.report[0]
    with pytest.raises(series_data.SeriesError, match="missing value.*--missing interpolate"):
        series_data.load_series(str(path), missing="error")


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda f: f.assign(v0="text"), "Column 'v0' .* is not numeric"),
        (lambda f: f.assign(v1=3.0), "Column 'v1' .* is constant"),
        (lambda f: f.assign(v0=np.where(np.arange(len(f)) == 5, np.inf, f.v0)), "infinite value.*column 'v0' at row 5"),
        (lambda f: f.assign(v1=np.nan), "Column 'v1' .* has no values"),
    ],
)
def test_bad_series_are_one_clear_error(tmp_path, change, message):
    import pandas as pd

    path = write_series_csv(tmp_path / "s.csv", sine_series(40, 2))
    change(pd.read_csv(path)).to_csv(path, index=False)
    with pytest.raises(series_data.SeriesError, match=message):
        series_data.load_series(str(path), columns=("v0", "v1"))


def test_a_saved_hugging_face_dataset_is_a_series_source(tmp_path):
    import datasets

    values = sine_series(30, 2)
    data = datasets.Dataset.from_dict({"time": list(range(30)), "a": values[:, 0], "b": values[:, 1]})
    data.save_to_disk(str(tmp_path / "saved"))
    series = series_data.load_series(str(tmp_path / "saved"))
    assert series.columns == ["a", "b"] and series.time.tolist() == list(range(30))
    np.testing.assert_allclose(series.values, values, atol=1e-6)


def test_aeon_series_load_offline_with_labels():
    pytest.importorskip("aeon")
    train = series_data.load_series("aeon:kdd_tsad_135", split="train")
    test = series_data.load_series("aeon:kdd_tsad_135", split="test")
    assert train.values.shape == (1200, 1) and train.labels.sum() == 0
    assert len(test) == 7501 and test.labels.sum() > 0
    with pytest.raises(series_data.SeriesError, match="Unknown aeon series"):
        series_data.load_series("aeon:nothing")
    with pytest.raises(series_data.SeriesError, match="no channel 'temp'; its channels are value"):
        series_data.load_series("aeon:kdd_tsad_135", columns=("temp",))
    daphnet = series_data.load_series("aeon:daphnet_s06r02e0", columns=("channel_3", "channel_1"))
    assert daphnet.columns == ["channel_3", "channel_1"] and daphnet.values.shape == (7040, 2)


# ----------------------------------------------------------------- training, bundle, resume
@pytest.fixture(scope="module")
def trained(tiny_series_run):
    return tiny_series_run, None


def test_training_overfits_a_tiny_series_and_the_bundle_round_trips(trained):
    import textae
    from textae.series.autoencoder import SeriesAE

    result, _ = trained
    losses = result.history["loss"]
    assert losses[-1] < 0.5 * losses[0]
    loaded = textae.load(result.bundle_path)
    assert isinstance(loaded, SeriesAE) and loaded.columns == ["v0", "v1"]
    info = json.loads((result.bundle_path / "series.json").read_text())
    assert np.isfinite(info["threshold"]) and loaded.threshold == info["threshold"]
    values = sine_series(200, 2, seed=1)
    scores = loaded.score(values)
    assert scores.step_scores.shape == (200,) and scores.reconstruction.shape == (200, 2)
    latents, starts = loaded.encode(values)
    assert latents.shape == (len(starts), 4)
    # The trained model and the loaded one reconstruct the same windows.
    cut, _ = windows.make_windows(loaded.normaliser.transform(values), loaded.window, loaded.window)
    assert np.allclose(result.model.generate(result.model.encode(cut)), loaded.model.generate(loaded.model.encode(cut)),
                       atol=1e-5)  # fmt: skip


def test_an_anomaly_scores_above_normal_steps(trained):
    import textae

    result, _ = trained
    detector = textae.load(result.bundle_path)
    values = sine_series(300, 2, seed=2)
    values[150:158, 0] += 3.0
    scores = detector.score(values).step_scores
    assert scores[150:158].mean() > 5 * np.median(scores)
    assert 140 <= int(np.argmax(scores)) < 168


def test_series_model_bad_input_is_one_clear_error(trained):
    import textae
    from textae.errors import InputError

    detector = textae.load(trained[0].bundle_path)
    with pytest.raises(InputError, match="reads 2 channel"):
        detector.score(np.zeros((100, 3)))
    with pytest.raises(InputError, match="fewer than the model's window of 16"):
        detector.score(sine_series(10, 2))
    with pytest.raises(InputError, match="infinite"):
        detector.score(np.where(np.arange(100)[:, None] == 3, np.inf, sine_series(100, 2)))


def test_each_task_refuses_the_other_kind_of_model(trained, tiny_bundle):
    from textae.series.bundle import load_series_bundle
    from textae.text.bundle import BundleError, load_bundle

    with pytest.raises(BundleError, match="holds a time-series model"):
        load_bundle(trained[0].bundle_path)
    with pytest.raises(BundleError, match="holds a text model"):
        load_series_bundle(tiny_bundle)


@pytest.mark.parametrize("name", ["metrics.json", "series.json", "config.json"])
def test_a_corrupt_series_file_is_a_bundle_error_naming_it(trained, tmp_path, name):
    """One reader for every kind of folder (textae.bundle.read_folder): no JSONDecodeError reaches the user."""
    import shutil

    from textae.bundle import BundleError
    from textae.series.bundle import load_series_bundle

    folder = tmp_path / "model"
    shutil.copytree(trained[0].bundle_path, folder)
    (folder / name).write_text("{not json", encoding="utf-8")
    with pytest.raises(BundleError, match=name):
        load_series_bundle(folder)


def test_the_series_config_checks_the_schedules_as_the_text_config_does():
    """The linear-schedule rule was missing from the series config (issue #22); both now share validate_sampling."""
    from textae.series.config import SeriesModelConfig
    from textae.text.config import ModelConfig

    for config in (ModelConfig(sampling_schedule="linear", sampling_k=1.5),
                   SeriesModelConfig(sampling_schedule="linear", sampling_k=1.5)):  # fmt: skip
        with pytest.raises(ValueError, match="linear schedule"):
            config.validate()


@pytest.mark.slow
def test_a_killed_series_run_resumes_from_its_checkpoint(tmp_path):
    import signal
    import time

    from textae.training.series_trainer import train_series

    source = write_series_csv(tmp_path / "train.csv", sine_series(3000, 1))
    run = tmp_path / "run"
    command = [sys.executable, "-m", "training.train", "--task", "timeseries", "--preset", "tiny",
               "--source", str(source), "--stride", "1", "--epochs", "50", "--output", str(run)]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline, pointer = time.monotonic() + 240, run / "backup" / "latest.json"
    while not pointer.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # the state after epoch 1 (written after that epoch's bundle)
    process.send_signal(signal.SIGKILL)  # mid-run, with no chance to clean up
    process.wait()
    assert pointer.exists(), process.stderr.read().decode()
    done = json.loads(pointer.read_text())["epoch"]
    config = tiny_config(source, epochs=done + 1)
    config.data.stride = 1
    result = train_series(config, run, verbose=0)
    assert result.resumed_from_epoch >= done >= 1
    assert json.loads((result.bundle_path / "metrics.json").read_text())["epochs"] == done + 1
    assert not (run / "backup").exists()  # a finished run removes its checkpoint


def test_train_command_errors_for_bad_series_are_one_line(tmp_path):
    path = write_series_csv(tmp_path / "short.csv", sine_series(20, 1))
    run = subprocess.run(
        [sys.executable, "-m", "training.train", "--task", "timeseries", "--preset", "tiny", "--source", str(path),
         "--output", str(tmp_path / "run")],
        cwd=ROOT, env=ENV, capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 2
    assert (
        run.stderr.strip().startswith("train: error:") and "too few for a training and a validation part" in run.stderr
    )
    assert "Traceback" not in run.stderr


# ----------------------------------------------------------------- command line and app
def test_detect_command_writes_scores_and_refuses_a_text_model(trained, tiny_bundle, tmp_path):
    values = sine_series(200, 2, seed=3)
    values[100:106, 1] += 4.0
    labels = np.zeros(200, int)
    labels[100:106] = 1
    source = write_series_csv(tmp_path / "new.csv", values, {"label": labels})
    output = tmp_path / "scores.csv"
    command = [sys.executable, "-m", "textae", "detect", "--source", str(source), "--output", str(output)]
    run = subprocess.run([*command, "--model", str(trained[0].bundle_path), "--json"], cwd=ROOT, env=ENV,
                         capture_output=True, text=True)  # fmt: skip
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["steps"] == 200 and summary["roc_auc"] > 0.9 and 95 <= summary["top_step"] < 112
    import pandas as pd

    table = pd.read_csv(output)
    assert list(table.columns) == ["step", "time", "score", "anomaly", "v0", "reconstruction_v0", "v1",
                                   "reconstruction_v1"]  # fmt: skip
    assert len(table) == 200
    wrong = subprocess.run([*command, "--model", str(tiny_bundle)], cwd=ROOT, env=ENV, capture_output=True, text=True)
    assert wrong.returncode == 2 and wrong.stderr.startswith("textae: error:") and "holds a text model" in wrong.stderr
    text = subprocess.run([sys.executable, "-m", "textae", "reconstruct", "--model", str(trained[0].bundle_path),
                           "A dog."], cwd=ROOT, env=ENV, capture_output=True, text=True)  # fmt: skip
    assert text.returncode == 2 and "holds a time-series model" in text.stderr and "Traceback" not in text.stderr


SERIES_PAGE = "from textae.app import series_page\nseries_page.main()\n"


def test_series_page_shows_the_example_with_its_scores(trained, monkeypatch, tmp_path):
    from streamlit.testing.v1 import AppTest

    from textae.app import models

    monkeypatch.setenv(models.MODEL_DIRS_VARIABLE, str(trained[0].bundle_path))
    monkeypatch.setenv(models.RUNS_DIR_VARIABLE, str(tmp_path / "no-runs"))
    at = AppTest.from_string(SERIES_PAGE, default_timeout=120).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Anomalies in a time series"
    assert [m.label for m in at.metric] == ["Time steps", "Threshold", "Flagged steps", "Detected regions"]
    assert at.metric[0].value == "120"  # the validation part of the 600 training steps
    assert at.selectbox(key="series_channel").options == ["v0", "v1"]
    at.radio(key="series_source").set_value("Upload a CSV or Parquet file").run()
    assert not at.exception and "Upload a file" in at.info[0].value


def test_the_text_page_offers_no_series_model_and_the_series_page_no_text_model(trained, tiny_bundle, monkeypatch):
    from textae.app import models

    both = os.pathsep.join([str(trained[0].bundle_path), str(tiny_bundle)])
    environ = {models.MODEL_DIRS_VARIABLE: both, models.RUNS_DIR_VARIABLE: "/nonexistent"}
    assert list(models.discover_models(environ).values()) == [Path(tiny_bundle).resolve()]
    assert list(models.discover_models(environ, task="timeseries").values()) == [trained[0].bundle_path.resolve()]


def test_scoring_takes_flat_stretches_and_labels_of_one_class(trained, tmp_path):
    import textae

    detector = textae.load(trained[0].bundle_path)
    values = sine_series(100, 2)
    values[:, 1] = 0.5  # a channel flat in this excerpt: scored, not refused
    assert np.isfinite(detector.score(values).step_scores).all()
    assert not windows.measurable(np.ones(100, int)) and not windows.measurable(np.full(100, 2))
    assert windows.measurable(np.r_[np.zeros(99, int), 1])
    source = write_series_csv(tmp_path / "all_anomalous.csv", sine_series(100, 2), {"label": np.ones(100, int)})
    command = [
        sys.executable,
        "-m",
        "textae",
        "detect",
        "--model",
        str(trained[0].bundle_path),
        "--source",
        str(source),
    ]
    run = subprocess.run([*command, "--json"], cwd=ROOT, env=ENV, capture_output=True, text=True)
    assert run.returncode == 0 and "roc_auc" not in json.loads(run.stdout), run.stderr


def test_a_score_stride_over_the_window_is_refused():
    config = series_preset("tiny")
    config.data.score_stride = config.data.window + 1
    with pytest.raises(ValueError, match="must not exceed --window"):
        config.validate()


@pytest.mark.parametrize("cell_type", ["lstm", "gru"])
def test_feed_previous_trains_with_scheduled_sampling_and_decodes_step_by_step(tmp_path, cell_type):
    import textae
    from textae.training.series_trainer import train_series

    config = tiny_config(write_series_csv(tmp_path / "s.csv", sine_series(300, 1)), epochs=2)
    config.model.feed_previous, config.model.cell_type = True, cell_type
    config.model.sampling_schedule, config.model.sampling_k = "linear", 1.0  # from teacher forcing down
    config.model.sampling_c = 0.01
    result = train_series(config, tmp_path / "run", verbose=0)
    assert 0.0 < result.history["teacher_forcing_probability"][-1] < 1.0  # scheduled sampling ran
    detector = textae.load(result.bundle_path)
    values = sine_series(80, 1, seed=4)
    scores = detector.score(values)
    assert np.isfinite(scores.step_scores).all() and scores.reconstruction.shape == (80, 1)
    cut, _ = windows.make_windows(detector.normaliser.transform(values), detector.window, detector.window)
    np.testing.assert_allclose(result.model.generate(result.model.encode(cut)),
                               detector.model.generate(detector.model.encode(cut)), atol=1e-5)  # fmt: skip


def test_series_page_without_a_series_model_says_how_to_train_one(tiny_bundle, monkeypatch, tmp_path):
    from streamlit.testing.v1 import AppTest

    from textae.app import models

    monkeypatch.setenv(models.MODEL_DIRS_VARIABLE, str(tiny_bundle))  # a text model only
    monkeypatch.setenv(models.RUNS_DIR_VARIABLE, str(tmp_path / "no-runs"))
    at = AppTest.from_string(SERIES_PAGE, default_timeout=120).run()
    assert not at.exception and "--task timeseries" in at.info[0].value
