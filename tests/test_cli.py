"""`python -m textae` end to end, in subprocesses started together to save time."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def runs(tiny_bundle, tiny_sentences_trained, tmp_path_factory):
    """Run every command at once; `{name: (returncode, stdout, stderr)}`."""
    folder = tmp_path_factory.mktemp("cli")
    a, b = tiny_sentences_trained[:2]
    (folder / "sentences.txt").write_text("\n".join(tiny_sentences_trained[:5]) + "\n\n")
    model = ["--model", str(tiny_bundle)]
    commands = {
        "reconstruct_json": (["reconstruct", *model, "--json", a, b], None),
        "interpolate": (["interpolate", *model, a, b, "--steps", "4", "--interpolation", "lerp"], None),
        "encode": (
            ["encode", *model, "--input", str(folder / "sentences.txt"), "--output", str(folder / "v.npy")],
            None,
        ),
        "score_json": (["score", *model, "--json", a, "Park near the dinner a letter blue."], None),
        "missing_model": (["reconstruct", "--model", str(folder / "no-model"), a], None),
        "empty_input": (["reconstruct", *model], ""),
        "overlong_input": (["score", *model, "word " * 200], None),
    }
    environment = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    processes = {}
    for name, (arguments, _) in commands.items():
        processes[name] = subprocess.Popen(
            [sys.executable, "-m", "textae", *arguments],
            cwd=REPO,
            env=environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    results = {}
    for name, process in processes.items():
        stdout, stderr = process.communicate(commands[name][1] or "", timeout=300)
        results[name] = (process.returncode, stdout, stderr)
    results["folder"] = folder
    return results


def succeeded(run):
    returncode, stdout, stderr = run
    assert returncode == 0, stderr
    assert stderr == ""  # no TensorFlow start-up logs
    return stdout


def test_reconstruct_json(runs, tiny_sentences_trained):
    results = json.loads(succeeded(runs["reconstruct_json"]))
    assert [r["output"] for r in results] == tiny_sentences_trained[:2]
    assert all(r["exact_match"] and r["bleu"] == pytest.approx(100.0) for r in results)
    assert len(results[0]["pieces"]) == len(results[0]["token_probabilities"])


def test_interpolate(runs, tiny_sentences_trained):
    lines = succeeded(runs["interpolate"]).splitlines()
    assert len(lines) == 4
    assert lines[0] == f"0.00\t{tiny_sentences_trained[0]}" and lines[-1] == f"1.00\t{tiny_sentences_trained[1]}"


def test_encode_writes_vectors(runs):
    assert "wrote 5 vectors" in succeeded(runs["encode"])
    vectors = np.load(runs["folder"] / "v.npy")
    assert vectors.shape == (5, 16) and vectors.dtype == np.float32


def test_score_json(runs, tiny_sentences_trained):
    results = json.loads(succeeded(runs["score_json"]))
    assert results[0]["text"] == tiny_sentences_trained[0]
    assert results[1]["anomaly_score"] > results[0]["anomaly_score"]


@pytest.mark.parametrize(
    "name, message",
    [
        ("missing_model", "No model folder"),
        ("empty_input", "no text"),
        ("overlong_input", "characters; the limit is 500"),
    ],
)
def test_user_errors_are_one_line(runs, name, message):
    returncode, stdout, stderr = runs[name]
    assert returncode == 2
    assert stdout == ""
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert stderr.startswith("textae: error: ") and message in stderr


def test_help_lists_commands():
    from textae.cli import build_parser

    help_text = build_parser().format_help()
    for command in ("reconstruct", "interpolate", "encode", "score", "neighbours", "sample"):
        assert command in help_text


def test_in_process_neighbours_and_sample(tiny_bundle, tiny_sentences_trained, tmp_path, capsys):
    from textae.cli import main

    candidates = tmp_path / "candidates.txt"
    candidates.write_text("\n".join(tiny_sentences_trained))
    query = tiny_sentences_trained[4]
    model = ["--model", str(tiny_bundle)]
    assert main(["neighbours", query, "--candidates", str(candidates), "-k", "3", "--json", *model]) == 0
    found = json.loads(capsys.readouterr().out)
    assert len(found) == 3 and found[0]["text"] == query
    assert main(["sample", "-n", "2", "--around", query, "--radius", "0", *model]) == 0
    assert capsys.readouterr().out.splitlines() == [query, query]
    assert main(["sample", "-n", "2", *model]) == 2
    assert "deterministic" in capsys.readouterr().err


def test_reconstruct_reads_stdin_skipping_blank_lines(tiny_bundle, tiny_sentences_trained, monkeypatch, capsys):
    from textae.cli import main

    a, b = tiny_sentences_trained[:2]
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{a}\n\n  {b}\n"))
    assert main(["reconstruct", "--model", str(tiny_bundle), "--method", "beam", "--beam-width", "2"]) == 0
    assert capsys.readouterr().out.splitlines() == [a, b]
