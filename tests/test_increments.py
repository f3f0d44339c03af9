"""--init-from: a run continues from a bundle's weights and tokenizer, its step count and its learning curve;
--mixed-precision auto measures before it picks bfloat16."""

from __future__ import annotations

import json

import numpy as np
import pytest

from textae.text.config import preset
from textae.training import increments, precision, train, trainer

QUICK = ["--preset", "tiny", "--limit", "300", "--epochs", "1", "--steps-per-epoch", "4", "--mixed-precision", "off"]
SCHEDULE = ["--learning-rate-schedule", "cosine", "--warmup-steps", "2", "--decay-steps", "40"]


def test_init_from_carries_weights_tokenizer_steps_and_curve(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    assert train.main([*QUICK, *SCHEDULE, "--hidden-dim", "12", "--output", str(first)]) == 0
    # The second increment asks for another shape: the bundle's architecture wins, its regularisation is its own.
    assert train.main([*QUICK, *SCHEDULE, "--hidden-dim", "30", "--dropout-rate", "0.2",
                       "--init-from", str(first / "model"), "--output", str(second)]) == 0  # fmt: skip
    metrics = json.loads((second / "model" / "metrics.json").read_text())
    assert metrics["optimizer_steps"] == 8 and metrics["init_from"]["steps"] == 4
    assert (second / "tokenizer.model").read_bytes() == (first / "tokenizer.model").read_bytes()
    effective = json.loads((second / "config.json").read_text())
    assert effective["model"]["hidden_dim"] == 12 and effective["model"]["dropout_rate"] == 0.2
    points = [json.loads(line) for line in (second / "model" / "curves.jsonl").read_text().splitlines()]
    assert [point["step"] for point in points] == [4, 8]  # one curve across the two increments
    assert points[1]["minutes"] >= points[0]["minutes"]


def test_init_from_starts_from_the_bundles_weights(tmp_path):
    from textae.text import bundle

    first = tmp_path / "first"
    assert train.main([*QUICK, "--output", str(first)]) == 0
    config = preset("tiny")
    start = increments.load_start(first / "model", config)
    import tensorflow as tf

    model = trainer.build_model(config, tf.distribute.get_strategy(), start=start)
    loaded = bundle.load_bundle(first / "model").model
    for ours, theirs in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(ours, theirs)


def test_continued_schedule_reads_on_from_the_offset_and_rewarms():
    import keras

    cosine = keras.optimizers.schedules.CosineDecay(1.0, 100, alpha=0.0)
    continued = increments.ContinuedSchedule(cosine, offset=50, rewarm_steps=10)
    assert float(continued(0)) == pytest.approx(0.1 * float(cosine(50)))  # re-warming: 1/10 of the rate at step 50
    assert float(continued(20)) == pytest.approx(float(cosine(70)))
    rebuilt = increments.ContinuedSchedule.from_config(continued.get_config())
    assert float(rebuilt(20)) == pytest.approx(float(continued(20)))
    assert float(increments.ContinuedSchedule(0.5, 10, 1)(3)) == pytest.approx(0.5)  # a constant rate stays


def test_init_from_a_missing_bundle_is_one_clear_line(tmp_path, capsys):
    assert train.main([*QUICK, "--init-from", str(tmp_path / "nothing"), "--output", str(tmp_path / "run")]) == 2
    error = capsys.readouterr().err
    assert "No model folder at" in error and "Traceback" not in error


@pytest.mark.parametrize("float32, bfloat16, mode", [(1.0, 0.8, "bfloat16"), (1.0, 0.98, "off"), (0.93, 1.0, "off")])
def test_auto_precision_keeps_bfloat16_only_when_measured_faster(tmp_path, float32, bfloat16, mode):
    timings = {"float32": float32, "mixed_bfloat16": bfloat16}
    calls = []

    def measure(policy):
        calls.append(policy)
        return timings[policy]

    cache = tmp_path / "precision.json"
    assert precision.choose("model A", measure, cache)[0] == mode
    assert precision.choose("model A", measure, cache)[0] == mode  # the second time from the cache
    assert calls == ["float32", "mixed_bfloat16"]


def test_auto_precision_measures_a_real_tiny_model(tmp_path, monkeypatch, tiny_sentences):
    import tensorflow as tf

    from textae.training import distribute

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(distribute, "cpu_flags", lambda *args: {"avx512_bf16"})
    config = preset("tiny")
    config.train.mixed_precision = "auto"
    batch = ({"encoder_tokens": tf.constant([[5, 6, 7]]), "decoder_tokens": tf.constant([[2, 5, 6, 7]])},
             tf.constant([[5, 6, 7, 3]]))  # fmt: skip
    mode = trainer._measure_precision(config, [batch])
    assert mode in ("bfloat16", "off")
    assert json.loads((tmp_path / "textae" / "precision.json").read_text())  # cached for the next run
