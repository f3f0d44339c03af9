"""tf.distribute: choosing a strategy, the batch check, MirroredStrategy and two-worker MultiWorkerMirroredStrategy.

A strategy must own TensorFlow's runtime from its start, so the training runs
happen in fresh processes (tests/multiworker_child.py).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest

from textae.training import checkpoints, distribute

ROOT = Path(__file__).resolve().parent.parent
CHILD = Path(__file__).resolve().parent / "multiworker_child.py"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
ENV.pop("TF_CONFIG", None)
# A few hundred sentences, teacher forcing only (no random scheduled-sampling draws), a few steps.
TINY = ["data.limit=300", "train.epochs=2", "train.steps_per_epoch=4", 'model.sampling_schedule="constant"',
        "model.sampling_k=1.0"]  # fmt: skip
TIMEOUT = 240


def replicas(count: int):
    return types.SimpleNamespace(num_replicas_in_sync=count)


# --------------------------------------------------------------------------- choosing and checking
def test_check_batch_size_returns_the_per_replica_batch():
    assert distribute.check_batch_size(32, replicas(1)) == 32
    assert distribute.check_batch_size(32, replicas(2)) == 16


def test_batch_smaller_than_the_replicas_is_a_clear_error():
    with pytest.raises(ValueError, match=r"--batch-size 1 is smaller than the 2 replicas; use at least 2"):
        distribute.check_batch_size(1, replicas(2))


def test_batch_that_does_not_split_evenly_is_a_clear_error():
    with pytest.raises(ValueError, match=r"--batch-size 33 does not divide evenly over 2 replicas"):
        distribute.check_batch_size(33, replicas(2))


def test_cluster_size_reads_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert distribute.cluster_size() == 1
    cluster = {"chief": ["a:1"], "worker": ["b:1", "c:1"], "ps": ["d:1"]}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 0}}))
    assert distribute.cluster_size() == 3  # parameter servers do not train
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(ValueError, match="TF_CONFIG is not valid JSON"):
        distribute.cluster_size()


def test_choose_strategy(monkeypatch):
    import tensorflow as tf

    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="--strategy must be one of"):
        distribute.choose_strategy("magic")
    with pytest.raises(ValueError, match="needs TF_CONFIG naming at least two workers"):
        distribute.choose_strategy("multi-worker")
    if not tf.config.list_physical_devices("GPU"):
        strategy = distribute.choose_strategy("auto")
        assert strategy.num_replicas_in_sync == 1 and not distribute.is_multi_worker(strategy)
        assert distribute.is_chief(strategy)


def test_asking_for_gpus_where_there_are_none_says_so_in_one_line(capsys):
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this machine has a GPU")
    distribute.choose_strategy("auto")
    assert capsys.readouterr().err == ""  # not asked for: no note
    distribute.choose_strategy("mirrored")
    assert capsys.readouterr().err.strip() == "textae: --strategy mirrored found no GPU; it runs on the CPU alone."


def test_mixed_precision_policy():
    import keras

    try:
        assert distribute.configure_mixed_precision("on") == "mixed_float16"
        assert distribute.configure_mixed_precision("off") == "float32"
        assert distribute.configure_mixed_precision("bfloat16") == "mixed_bfloat16"
        with pytest.raises(ValueError, match="--mixed-precision must be one of"):
            distribute.configure_mixed_precision("half")
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize(
    "flags, measured, policy",
    [({"avx2", "amx_bf16", "amx_tile"}, "bfloat16", "mixed_bfloat16"), ({"avx512f", "avx512_bf16"}, "off", "float32"),
     ({"avx512f", "avx512_bf16"}, None, "float32"), ({"avx2", "fma"}, "bfloat16", "float32"), (set(), None, "float32")],
)  # fmt: skip
def test_auto_picks_bfloat16_only_where_a_measurement_says_it_is_faster(flags, measured, policy):
    """On a CPU with bfloat16 units `auto` asks the measurement (training.precision); without one it keeps float32,
    as bfloat16 was measured slower than float32 on such a CPU (issue #21). Other CPUs never ask."""
    import keras

    measure = None if measured is None else (lambda: measured)
    try:
        assert distribute.configure_mixed_precision("auto", flags=flags, measure=measure) == policy
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_cpu_flags_read_the_flags_line(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512_bf16\nbugs\t: none\n")
    assert distribute.cpu_flags(str(cpuinfo)) == {"fpu", "avx2", "avx512_bf16"}
    assert distribute.cpu_flags(str(tmp_path / "absent")) == set()


def test_a_bfloat16_train_step_keeps_float32_weights_logits_and_a_finite_loss():
    import keras
    import tensorflow as tf

    from textae.text.config import preset
    from textae.text.model import TextAutoencoder

    try:
        distribute.configure_mixed_precision("bfloat16")
        config = preset("tiny").model
        model = TextAutoencoder(config)
        model.build()
        model.compile(optimizer=keras.optimizers.Adam(1e-2))
        tokens = tf.constant([[5, 6, 7, 0], [8, 9, 0, 0]], tf.int32)
        batch = (
            {"encoder_tokens": tokens, "decoder_tokens": tf.constant([[2, 5, 6, 7, 0], [2, 8, 9, 0, 0]])},
            tf.constant([[5, 6, 7, 3, 0], [8, 9, 3, 0, 0]]),
        )
        assert model(batch[0]).dtype == tf.float32
        before = [w.numpy().copy() for w in model.trainable_weights]
        logs = model.train_step(batch)
        assert np.isfinite(float(logs["loss"]))
        assert all(w.dtype == "float32" for w in model.trainable_weights)
        assert any(not np.array_equal(a, w.numpy()) for a, w in zip(before, model.trainable_weights))
    finally:
        keras.mixed_precision.set_global_policy("float32")


# --------------------------------------------------------------------------- real strategies
def relative(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


@pytest.mark.slow
def test_mirrored_strategy_over_two_cpus_matches_a_single_device(tmp_path):
    """The loss is a global per-token mean, so splitting each batch over two replicas changes nothing."""
    result = subprocess.run(
        [sys.executable, str(CHILD), "mirrored", str(tmp_path / "runs"), str(tmp_path / "result"), *TINY],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    runs = json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))
    single, mirrored = runs["single"], runs["mirrored"]
    assert (single["replicas"], mirrored["replicas"]) == (1, 2)
    assert "MirroredStrategy with 2 replica(s)" in result.stdout
    for key in ("loss", "val_loss"):
        two, one = mirrored["history"][key], single["history"][key]
        # Epoch 1 (4 steps from identical weights): equal up to float rounding of the all-reduce,
        # which may grow a little over the steps of epoch 2.
        assert relative(two[0], one[0]) < 1e-3, (key, two, one)
        assert relative(two[1], one[1]) < 1e-2, (key, two, one)
    assert all(Path(run["bundle_path"]).is_dir() for run in (single, mirrored))


def free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            handle = socket.socket()
            handle.bind(("127.0.0.1", 0))
            sockets.append(handle)
        return [handle.getsockname()[1] for handle in sockets]
    finally:
        for handle in sockets:
            handle.close()


def start_two_workers(tmp_path, overrides, suffix: str = "", mode: str = "multi-worker") -> list:
    """Two local worker processes of one cluster (outputs in tmp_path/worker<i>); `[(process, log file)]`."""
    ports = free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    workers = []
    for index in range(2):
        env = {**ENV, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        command = [sys.executable, str(CHILD), mode, str(tmp_path / f"worker{index}"),
                   str(tmp_path / f"result{index}"), *overrides]  # fmt: skip
        log = open(tmp_path / f"worker{index}{suffix}.log", "w", encoding="utf-8")  # the caller closes it
        workers.append((subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT), log))
    return workers


def wait_for(workers, tmp_path) -> list[str]:
    """Wait for the workers of `start_two_workers` (killing them after TIMEOUT); returns their logs."""
    try:
        for process, _ in workers:
            process.wait(timeout=TIMEOUT)  # a hung collective fails here instead of hanging CI
    finally:
        for process, log in workers:
            if process.poll() is None:
                process.kill()
                process.wait()
            log.close()
    return [(tmp_path / f"worker{index}.log").read_text(encoding="utf-8") for index in range(2)]


def run_two_workers(tmp_path, overrides, mode: str = "multi-worker") -> list[str]:
    """Train with two local worker processes (outputs in tmp_path/worker<i>); returns their logs."""
    workers = start_two_workers(tmp_path, overrides, mode=mode)
    logs = wait_for(workers, tmp_path)
    for (process, _), log in zip(workers, logs):
        assert process.returncode == 0, log[-4000:]
    assert all("CollectiveAllReduceStrategy with 2 replica(s)" in log for log in logs)
    return logs


@pytest.mark.slow
def test_multi_worker_mirrored_strategy_with_two_local_workers(tmp_path):
    """Two processes train together through the custom loop; both end with the same weights."""
    run_two_workers(tmp_path, TINY)
    chief, other = (json.loads((tmp_path / f"result{index}.json").read_text()) for index in range(2))
    weights = [np.load(tmp_path / f"result{index}.npy") for index in range(2)]
    assert weights[0].size > 1000 and np.all(np.isfinite(weights[0]))
    np.testing.assert_array_equal(weights[0], weights[1])
    # Metrics are global (summed over both workers), so both report the same history.
    assert chief["history"] == other["history"] and len(chief["history"]["val_loss"]) == 2
    assert not chief["stopped_on_nan"] and not other["stopped_on_nan"]

    # Only the chief writes the bundle and the run files; both delete their checkpoints at the end.
    assert chief["bundle_path"] == str(tmp_path / "worker0" / "model") and other["bundle_path"] is None
    for name in ("model.keras", "tokenizer.model", "config.json", "metrics.json", "MODEL_CARD.md"):
        assert (tmp_path / "worker0" / "model" / name).is_file()
    assert json.loads((tmp_path / "worker0" / "model" / "metrics.json").read_text())["epochs"] == 2
    assert sorted(path.name for path in (tmp_path / "worker1").iterdir()) == []
    assert not (tmp_path / "worker0" / "backup").exists()


@pytest.mark.slow
def test_workers_killed_while_saving_restart_from_the_same_epoch(tmp_path):
    """The chief saved epoch 2, worker 1 had only saved epoch 1 when the job died: both resume after epoch 1."""
    import tensorflow as tf
    from multiworker_child import tiny_config

    from textae.training import inputs, trainer

    overrides = [*TINY, "train.epochs=3"]
    config = tiny_config(overrides)
    inputs.prepare(config)  # sets the vocabulary size the workers' models will have
    model = trainer.build_model(config, tf.distribute.get_strategy())
    for epoch in (1, 2):
        checkpoints.save(model, tmp_path / "worker0" / "backup", epoch, keep=2)
    checkpoints.save(model, tmp_path / "worker1" / "backup-worker-1", 1, keep=2)

    logs = run_two_workers(tmp_path, overrides)
    assert all("Resuming from the checkpoint written after epoch 1." in log for log in logs)
    results = [json.loads((tmp_path / f"result{index}.json").read_text()) for index in range(2)]
    assert [result["resumed_from_epoch"] for result in results] == [1, 1]
    assert len(results[0]["history"]["loss"]) == 2  # epochs 2 and 3
    np.testing.assert_array_equal(*(np.load(tmp_path / f"result{index}.npy") for index in range(2)))


@pytest.mark.slow
def test_custom_loop_resumes_and_stops_on_nan_in_process(tmp_path, capsys):
    """The multi-worker loop's own bookkeeping, run under the default strategy in this process."""
    import tensorflow as tf

    from textae.text.config import preset
    from textae.training import callbacks, inputs, loop, trainer

    config = preset("tiny")
    config.data.limit = 300
    config.train.epochs = 2
    config.train.steps_per_epoch = 2
    strategy = tf.distribute.get_strategy()
    prepared = inputs.prepare(config)
    train_ds, validation_ds = inputs.make_datasets(prepared, config)
    model = trainer.build_model(config, strategy)
    saved = []

    def save(logs, epoch):
        saved.append((epoch, dict(logs)))

    def run():
        guard = callbacks.NaNGuard()
        writer = callbacks.BundleWriter(save, guard)
        return loop.fit_multi_worker(model, strategy, train_ds, validation_ds, config, tmp_path, [guard, writer], guard)

    checkpoints.save(model, tmp_path / "backup", 1)  # as if killed after epoch 1
    history, stopped_on_nan, resumed = run()
    assert "Resuming from the checkpoint written after epoch 1." in capsys.readouterr().out
    assert (resumed, stopped_on_nan) == (1, False)
    assert [epoch for epoch, _ in saved] == [2] and len(history["loss"]) == 1
    assert {"loss", "val_loss", "token_accuracy", "val_token_accuracy"} <= set(saved[0][1])
    assert not (tmp_path / "backup").exists()  # finished

    for variable in model.trainable_variables:
        variable.assign(variable * float("nan"))
    history, stopped_on_nan, resumed = run()
    assert stopped_on_nan and history == {} and resumed == 0
    assert "The loss became nan at batch 0: stopping" in capsys.readouterr().out
    assert [epoch for epoch, _ in saved] == [2]  # nothing saved after the NaN


def test_the_multi_worker_loop_refuses_step_checkpoints():
    from multiworker_child import tiny_config

    from textae.training import loop

    config = tiny_config(["train.checkpoint_every_steps=5"])
    with pytest.raises(ValueError, match="--checkpoint-every-steps is not supported with several workers"):
        loop.fit_multi_worker(None, None, None, None, config, Path("unused"), [], None)


@pytest.mark.slow
def test_two_workers_stop_together_at_the_time_limit(tmp_path):
    """--max-minutes on several workers: every worker stops at the same step, and the chief keeps the model."""
    logs = run_two_workers(tmp_path, [*TINY, "train.epochs=50", "train.steps_per_epoch=400", "train.max_minutes=0.002"])
    results = [json.loads((tmp_path / f"result{index}.json").read_text()) for index in range(2)]
    assert results[0]["history"] == results[1]["history"] and len(results[0]["history"]["loss"]) == 1
    assert all("Reached the time limit" in log for log in logs)
    weights = [np.load(tmp_path / f"result{index}.npy") for index in range(2)]
    np.testing.assert_array_equal(weights[0], weights[1])  # the same number of steps on both
    assert json.loads((tmp_path / "worker0" / "model" / "metrics.json").read_text())["epochs"] == 1


@pytest.mark.slow
def test_two_workers_killed_mid_epoch_resume_from_the_same_epoch_and_agree(tmp_path):
    """Both processes SIGKILLed part-way through an epoch; the same command resumes them and they finish together."""
    overrides = [*TINY, "train.epochs=4", "train.steps_per_epoch=60"]
    pointer = tmp_path / "worker0" / "backup" / "latest.json"
    workers = start_two_workers(tmp_path, overrides, suffix="-killed")
    try:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline and not pointer.exists() and all(p.poll() is None for p, _ in workers):
            time.sleep(0.05)
        time.sleep(0.5)  # part-way through the next epoch
        for process, _ in workers:
            process.send_signal(signal.SIGKILL)
    finally:
        for process, log in workers:
            process.wait()
            log.close()
    assert all(process.returncode == -signal.SIGKILL for process, _ in workers), "a worker ended before the kill"
    killed_after = json.loads(pointer.read_text())["epoch"]
    assert 1 <= killed_after < 4
    logs = run_two_workers(tmp_path, overrides)
    assert all("Resuming from the checkpoint written after epoch" in log for log in logs)
    results = [json.loads((tmp_path / f"result{index}.json").read_text()) for index in range(2)]
    assert results[0]["resumed_from_epoch"] == results[1]["resumed_from_epoch"] >= 1
    assert results[0]["history"] == results[1]["history"]
    np.testing.assert_array_equal(*(np.load(tmp_path / f"result{index}.npy") for index in range(2)))
    assert json.loads((tmp_path / "worker0" / "model" / "metrics.json").read_text())["epochs"] == 4


@pytest.mark.slow
def test_a_worker_whose_checkpoint_does_not_read_stops_every_worker(tmp_path):
    """Worker 1's state for the agreed epoch is torn: both workers end with that error instead of hanging."""
    import tensorflow as tf
    from multiworker_child import tiny_config

    from textae.training import inputs, trainer

    config = tiny_config(TINY)
    inputs.prepare(config)
    model = trainer.build_model(config, tf.distribute.get_strategy())
    checkpoints.save(model, tmp_path / "worker0" / "backup", 1, keep=2)
    checkpoints.save(model, tmp_path / "worker1" / "backup-worker-1", 1, keep=2)
    (tmp_path / "worker1" / "backup-worker-1" / "epoch-1.weights.h5").write_bytes(b"torn")
    workers = start_two_workers(tmp_path, TINY)
    logs = wait_for(workers, tmp_path)  # a hang fails here
    assert all(process.returncode != 0 for process, _ in workers), logs
    assert "Cannot read the checkpoint" in logs[1] and "Another worker cannot read its checkpoint of epoch 1" in logs[0]


@pytest.mark.slow
def test_a_series_model_trains_on_two_workers(tmp_path):
    """The time-series autoencoder on the same multi-worker loop: equal weights, the chief's bundle loads."""
    from conftest import sine_series, write_series_csv

    import textae

    source = write_series_csv(tmp_path / "train.csv", sine_series(400, 2))
    run_two_workers(tmp_path, [f"data.source={json.dumps(str(source))}", "train.epochs=2"], mode="series-worker")
    weights = [np.load(tmp_path / f"result{index}.npy") for index in range(2)]
    np.testing.assert_array_equal(weights[0], weights[1])
    results = [json.loads((tmp_path / f"result{index}.json").read_text()) for index in range(2)]
    assert results[0]["history"] == results[1]["history"] and len(results[0]["history"]["val_loss"]) == 2
    detector = textae.load(tmp_path / "worker0" / "model")
    assert detector.columns == ["v0", "v1"] and np.isfinite(detector.threshold)
    assert results[1]["bundle_path"] is None  # only the chief writes it
