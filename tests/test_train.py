"""python -m training.train: flags, config files, the run folder, clear errors, resume and NaN handling.

Real runs use `--preset tiny` on a few hundred sentences of the shipped corpus,
a few steps per epoch, so each takes seconds.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from textae.text.config import preset
from textae.training import train

ROOT = Path(__file__).resolve().parent.parent
# conftest.py sets the offline variables; pass them (and a quiet TensorFlow) to every child process.
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
QUICK = ["--preset", "tiny", "--limit", "300", "--epochs", "1", "--steps-per-epoch", "3"]


def run_train(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "training.train", *args],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


NOISE = re.compile(r"^([EIW]0000 |WARNING: All log messages)|examples/s\]|it/s\]")


def error_lines(stderr: str) -> list[str]:
    """stderr without TensorFlow's C++ log lines and Hugging Face progress bars."""
    return [line for line in stderr.splitlines() if line.strip() and not NOISE.search(line)]


# --------------------------------------------------------------------------- flags and config files
def option_blocks(help_text: str) -> dict[str, str]:
    """Each option's help entry, keyed by its first flag, with whitespace normalised."""
    options = help_text.split("\noptions:", 1)[1]
    blocks = re.split(r"\n  (?=-)", "\n" + options)
    return {block.split()[0].rstrip(","): " ".join(block.split()) for block in blocks if block.strip().startswith("-")}


def test_help_lists_every_option_with_its_default():
    result = subprocess.run(
        [sys.executable, "-m", "training.train", "--help"], cwd=ROOT, env=ENV, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    blocks = option_blocks(result.stdout)
    defaults = preset("default")  # what a bare `python -m training.train` trains, not the bare Config's values
    expected = {"--preset", "--config", "--output", "--overwrite"}
    for section in train.SECTIONS:
        for field in dataclasses.fields(getattr(defaults, section)):
            if (section, field.name) != ("model", "vocab_size"):  # --vocab-size sets both
                flag = "--" + field.name.replace("_", "-")
                expected.add(flag)
                default = getattr(getattr(defaults, section), field.name)
                shown = blocks.get(flag, "")
                if "(default:" in field.metadata["help"]:  # the help says it in words, once
                    assert shown.count("(default:") == 1, f"{flag}: {shown!r}"
                else:
                    assert f"(default: {default})" in shown, f"{flag}: {shown!r}"
    assert expected <= set(blocks), sorted(expected - set(blocks))
    for flag in set(blocks) - {"-h"}:
        assert "default:" in blocks[flag], f"{flag} does not show its default: {blocks[flag]!r}"
    assert "(default: tiny)" not in blocks["--preset"] and "default: default" in blocks["--preset"]
    assert "(default: 512)" in blocks["--latent-dim"] and "(default: constant)" in blocks["--sampling-schedule"]


CONFIG_FILES = {
    ".json": '{"model": {"hidden_dim": 12, "latent_dim": 6}, "train": {"learning_rate": 0.005, "seed": 3}}',
    ".yaml": "model:\n  hidden_dim: 12\n  latent_dim: 6\ntrain:\n  learning_rate: 0.005\n  seed: 3\n",
    ".toml": "[model]\nhidden_dim = 12\nlatent_dim = 6\n[train]\nlearning_rate = 0.005\nseed = 3\n",
}


@pytest.mark.parametrize("suffix", sorted(CONFIG_FILES))
def test_config_file_then_flags_override_the_preset(tmp_path, suffix):
    path = tmp_path / f"settings{suffix}"
    path.write_text(CONFIG_FILES[suffix], encoding="utf-8")
    args = train.build_parser().parse_args(["--preset", "tiny", "--config", str(path), "--hidden-dim", "20"])
    config = train.resolve_config(args)
    assert config.model.hidden_dim == 20  # the flag beats the file
    assert config.model.latent_dim == 6  # the file beats the preset
    assert config.train.learning_rate == 0.005 and config.train.seed == 3
    assert config.model.embedding_dim == preset("tiny").model.embedding_dim  # the preset beats the defaults


def test_vocab_size_flag_sets_tokenizer_and_model():
    config = train.resolve_config(train.build_parser().parse_args(["--preset", "tiny", "--vocab-size", "77"]))
    assert config.tokenizer.vocab_size == config.model.vocab_size == 77


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A finished tiny run configured by a TOML file with one flag overriding it."""
    folder = tmp_path_factory.mktemp("tiny_run")
    settings = folder / "settings.toml"
    settings.write_text(CONFIG_FILES[".toml"], encoding="utf-8")
    run_dir = folder / "run"
    result = run_train(*QUICK, "--config", str(settings), "--hidden-dim", "20", "--output", str(run_dir))
    return run_dir, result


def test_tiny_run_writes_a_bundle_and_the_effective_config(tiny_run):
    run_dir, result = tiny_run
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert f"Model written to {run_dir / 'model'}" in result.stdout
    for name in ("model.keras", "tokenizer.model", "config.json", "metrics.json", "MODEL_CARD.md"):
        assert (run_dir / "model" / name).is_file(), name
    assert not (run_dir / "backup").exists()  # a finished run leaves nothing to resume

    effective = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    assert effective["model"]["hidden_dim"] == 20  # flag
    assert effective["model"]["latent_dim"] == 6  # file
    assert effective["train"]["learning_rate"] == 0.005 and effective["train"]["seed"] == 3
    assert effective["train"]["steps_per_epoch"] == 3 and effective["data"]["limit"] == 300
    bundled = json.loads((run_dir / "model" / "config.json").read_text(encoding="utf-8"))
    assert bundled["config"] == effective  # the bundle can be rebuilt from its own folder
    metrics = json.loads((run_dir / "model" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["epochs"] == 1 and math.isfinite(metrics["val_loss"])


def test_tiny_run_exports_validation_latents_for_the_projector(tiny_run):
    run_dir, result = tiny_run
    assert result.returncode == 0, result.stderr[-3000:]
    folder = run_dir / "logs" / "projector"
    sentences = (folder / "metadata.tsv").read_text(encoding="utf-8").splitlines()
    vectors = np.loadtxt(folder / "vectors.tsv", delimiter="\t", ndmin=2)
    assert len(sentences) == len(vectors) > 0 and vectors.shape[1] == 6  # one latent per sentence
    assert "validation_latents" in (folder / "projector_config.pbtxt").read_text(encoding="utf-8")


def test_tiny_run_writes_learning_curves_and_validation_by_length(tiny_run):
    run_dir, result = tiny_run
    assert result.returncode == 0, result.stderr[-3000:]
    points = [json.loads(line) for line in (run_dir / "logs" / "curves.jsonl").read_text().splitlines()]
    assert [point["epoch"] for point in points] == [1]
    assert points[0]["minutes"] > 0 and set(points[0]["by_length"]) == {"1-8", "9-16", "17-24", "25-32", "33-48"}
    assert (run_dir / "logs" / "learning_curves.png").read_bytes().startswith(b"\x89PNG")
    assert list((run_dir / "logs" / "by_length").glob("events.out.tfevents.*"))  # TensorBoard scalars beside them
    metrics = json.loads((run_dir / "model" / "metrics.json").read_text(encoding="utf-8"))
    assert set(metrics["validation"]["by_length"]) == set(points[0]["by_length"])
    card = (run_dir / "model" / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "## Reconstruction by sentence length (validation split)" in card and "| 9–16 |" in card


def test_a_finished_run_is_not_trained_again(tiny_run):
    run_dir, _ = tiny_run
    result = run_train(*QUICK, "--output", str(run_dir), timeout=120)
    assert result.returncode == 0
    assert "already holds a finished model" in result.stderr and "--overwrite" in result.stderr


def test_overwrite_with_a_new_vocab_size_trains_a_new_tokenizer(tiny_run, tmp_path):
    from textae.text.tokenizer import Tokenizer

    run_dir = tmp_path / "run"
    shutil.copytree(tiny_run[0], run_dir)
    before = Tokenizer.load(run_dir / "model" / "tokenizer.model").vocab_size
    (run_dir / "backup").mkdir()  # even a resumable state is dropped: --overwrite starts afresh
    result = run_train(*QUICK, "--output", str(run_dir), "--overwrite", "--vocab-size", "100")
    assert result.returncode == 0, result.stderr[-2000:]
    assert before != 100 and Tokenizer.load(run_dir / "model" / "tokenizer.model").vocab_size == 100
    assert "Resuming" not in result.stdout


def test_resuming_with_other_tokenizer_settings_is_refused(tiny_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(tiny_run[0], run_dir)
    (run_dir / "backup").mkdir()  # an interrupted run
    result = run_train(*QUICK, "--output", str(run_dir), "--vocab-size", "100")
    assert result.returncode == 2
    message = error_lines(result.stderr)[-1]
    assert message.startswith("train: error:") and "tokenizer trained with other settings" in message
    assert "vocab_size" in message and "--overwrite" in message


# --------------------------------------------------------------------------- clear errors
def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "sentences.csv"
    path.write_text("text,label\nThe cat sat on the mat.,1\nA dog barked at night.,0\n", encoding="utf-8")
    return path


def _blank(tmp_path: Path) -> Path:
    path = tmp_path / "blank.txt"
    path.write_text("   \n\t\n \n", encoding="utf-8")
    return path


def _bad_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text("model: [hidden_dim: 12\n", encoding="utf-8")
    return path


def _unknown_section(tmp_path: Path) -> Path:
    path = tmp_path / "unknown.json"
    path.write_text('{"optimiser": {"learning_rate": 0.1}}', encoding="utf-8")
    return path


def _unknown_setting(tmp_path: Path) -> Path:
    path = tmp_path / "unknown.toml"
    path.write_text("[model]\nhiden_dim = 12\n", encoding="utf-8")
    return path


ERRORS = {
    "missing dataset path": (lambda tmp: ["--dataset", str(tmp / "nowhere" / "data.csv")], "No file or folder"),
    "unreachable hub name": (lambda tmp: ["--dataset", "textae-tests/no-such-dataset"], "no-such-dataset"),
    "wrong text column": (lambda tmp: ["--dataset", str(_csv(tmp)), "--text-column", "body"], "'body'"),
    "empty after cleaning": (lambda tmp: ["--dataset", str(_blank(tmp))], None),
    "negative hidden dim": (lambda tmp: ["--hidden-dim", "-4"], "hidden_dim must be positive, got -4"),
    "zero batch size": (lambda tmp: ["--batch-size", "0"], "--batch-size must be positive"),
    "unknown strategy": (lambda tmp: ["--strategy", "magic"], "--strategy must be one of"),
    "multi-worker without TF_CONFIG": (lambda tmp: ["--strategy", "multi-worker"], "TF_CONFIG"),
    "missing config file": (lambda tmp: ["--config", str(tmp / "none.toml")], "does not exist"),
    "unparsable config file": (lambda tmp: ["--config", str(_bad_yaml(tmp))], "Could not parse"),
    "config file section": (lambda tmp: ["--config", str(_unknown_section(tmp))], "'optimiser'"),
    "config file setting": (lambda tmp: ["--config", str(_unknown_setting(tmp))], "hiden_dim"),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_bad_input_is_one_clear_line(tmp_path, capsys, monkeypatch, case):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    make_args, expected = ERRORS[case]
    code = train.main([*QUICK, "--output", str(tmp_path / "run"), *make_args(tmp_path)])
    stderr = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in stderr
    lines = error_lines(stderr)
    assert len(lines) == 1 and lines[0].startswith("train: error: "), stderr
    if expected:
        assert expected in lines[0]
    assert not (tmp_path / "run" / "model").exists()


def test_bad_input_from_the_command_line(tmp_path):
    """The real process: exit status 2, one line on stderr, no traceback."""
    result = run_train(*QUICK, "--output", str(tmp_path / "run"), "--dataset", str(tmp_path / "missing.txt"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = error_lines(result.stderr)
    assert len(lines) == 1 and lines[0].startswith("train: error: No file or folder"), result.stderr[-2000:]


# --------------------------------------------------------------------------- NaN
class PoisonWeightsInSecondEpoch:
    """Stands in for TimeLimit: at the start of epoch 2 every weight becomes NaN, so the loss does too."""

    def __new__(cls, minutes):
        import keras

        class Poison(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                if epoch == 1:
                    for variable in self.model.trainable_variables:
                        variable.assign(variable * float("nan"))

        return Poison()


def test_nan_loss_stops_training_and_keeps_the_last_good_model(tmp_path, capsys, monkeypatch):
    from textae.text import bundle
    from textae.training import callbacks

    monkeypatch.setattr(callbacks, "TimeLimit", PoisonWeightsInSecondEpoch)
    run_dir = tmp_path / "run"
    code = train.main(["--preset", "tiny", "--limit", "300", "--epochs", "3", "--steps-per-epoch", "3",
                       "--output", str(run_dir)])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 1
    assert "The loss became nan" in captured.out and "try a lower --learning-rate" in captured.out
    assert "Training stopped on a NaN loss; the last good model is kept." in captured.err
    assert "Epoch 3/3" not in captured.out

    loaded = bundle.load_bundle(run_dir / "model")
    assert loaded.metrics["epochs"] == 1 and math.isfinite(loaded.metrics["val_loss"])
    assert all(math.isfinite(float(abs(w).max())) for w in loaded.model.get_weights())
    # The resumable state is the epoch-1 one too, so running the command again resumes from there.
    assert json.loads((run_dir / "backup" / "latest.json").read_text(encoding="utf-8"))["epoch"] == 1


# --------------------------------------------------------------------------- resume after a kill
def _val_loss(run_dir: Path) -> float:
    return json.loads((run_dir / "model" / "metrics.json").read_text(encoding="utf-8"))["val_loss"]


@pytest.mark.slow
def test_resume_after_sigkill(tmp_path):
    """Killed mid-epoch, the same command resumes at the step it saved and trains exactly as many steps."""
    command = [sys.executable, "-m", "training.train", "--preset", "tiny", "--limit", "300", "--epochs", "3",
               "--steps-per-epoch", "20", "--seed", "1", "--checkpoint-every-steps", "3"]  # fmt: skip
    reference = subprocess.Popen(  # the same run, uninterrupted, alongside
        [*command, "--output", str(tmp_path / "reference")],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    run_dir = tmp_path / "killed"
    pointer = run_dir / "backup" / "latest.json"
    victim = subprocess.Popen(
        [*command, "--output", str(run_dir)], cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 240
        state = (0, 0)
        while time.monotonic() < deadline and victim.poll() is None:
            try:
                saved = json.loads(pointer.read_text(encoding="utf-8"))
                state = (saved["epoch"], saved["step"])
            except (OSError, ValueError, KeyError):
                state = (0, 0)
            if state[0] >= 1 and state[1] > 0:  # part-way through epoch 2 or 3
                victim.send_signal(signal.SIGKILL)
                break
            time.sleep(0.005)
        victim.wait(timeout=30)
        assert victim.returncode == -signal.SIGKILL, "the run ended before a checkpoint could be interrupted"
        killed_after, step = state
        assert 1 <= killed_after < 3 and 0 < step < 20

        resumed = subprocess.run(
            [*command, "--output", str(run_dir)], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300
        )
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        assert not (run_dir / "backup").exists()  # finished: nothing left to resume
        assert f"Resuming at epoch {killed_after + 1}, step {step} of 20." in resumed.stdout
        assert "ran out of data" not in resumed.stdout + resumed.stderr
        epochs_run = [int(n) for n in re.findall(r"^Epoch (\d+)/3", resumed.stdout, flags=re.MULTILINE)]
        assert epochs_run == list(range(killed_after + 1, 4)), resumed.stdout[-3000:]
        assert f"{20 - step}/{20 - step}" in resumed.stdout  # the resumed epoch's bar knows its length
        assert resumed.stdout.count("Sample reconstructions:") == 3 - killed_after
        metrics = json.loads((run_dir / "model" / "metrics.json").read_text(encoding="utf-8"))
        assert metrics["epochs"] == 3

        assert reference.wait(timeout=300) == 0, reference.stderr.read()[-3000:]
        expected = json.loads((tmp_path / "reference" / "model" / "metrics.json").read_text(encoding="utf-8"))
        assert metrics["optimizer_steps"] == expected["optimizer_steps"] == 60  # exactly the steps asked for
        # Weights, optimizer state and the data order are restored exactly; scheduled sampling's random draws
        # are not, so the two runs agree closely but not to the last digit.
        assert abs(metrics["val_loss"] - expected["val_loss"]) <= 0.1 * expected["val_loss"], (metrics, expected)
        print(f"resumed at {state}: val_loss {metrics['val_loss']:.4f}, uninterrupted {expected['val_loss']:.4f}")
    finally:
        for process in (victim, reference):
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.mark.parametrize("keep_best, written", [(False, [1, 2, 3, 4]), (True, [1, 2, 4])])
def test_keep_best_writes_the_bundle_only_for_a_better_validation_loss(keep_best, written):
    from textae.training import callbacks

    saved = []
    writer = callbacks.BundleWriter(lambda logs, epoch: saved.append(epoch), callbacks.NaNGuard(), keep_best)
    for epoch, loss in enumerate([1.0, 0.8, 0.9, 0.7]):
        writer.on_epoch_end(epoch, {"loss": 0.5, "val_loss": loss})
    assert saved == written
    resumed = callbacks.BundleWriter(lambda logs, epoch: saved.append(epoch), callbacks.NaNGuard(), True, best=0.75)
    resumed.on_epoch_end(4, {"val_loss": 0.8})  # a resumed run must beat the bundle it already has
    assert saved == written
