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
    (folder / "a.txt").write_text("\n".join(tiny_sentences_trained[:4]))
    quoted = [f'"{text}"' for text in tiny_sentences_trained[:6]]
    (folder / "table.csv").write_text("id,sentence\n" + "\n".join(f"{i},{q}" for i, q in enumerate(quoted)) + "\n")
    (folder / "b.txt").write_text("\n".join(tiny_sentences_trained[4:8]))
    model = ["--model", str(tiny_bundle)]
    commands = {
        "reconstruct_json": (["reconstruct", *model, "--json", a, b], None),
        "interpolate": (["interpolate", *model, a, b, "--steps", "4", "--interpolation", "lerp"], None),
        "encode": (
            ["encode", *model, "--input", str(folder / "sentences.txt"), "--output", str(folder / "v.npy")],
            None,
        ),
        "score_json": (["score", *model, "--json", a, "Park near the dinner a letter blue."], None),
        "export": (["export", *model, "--output", str(folder / "exported"), "--max-length", "16"], None),
        "arithmetic": (
            [
                "arithmetic",
                *model,
                "--from",
                str(folder / "a.txt"),
                "--to",
                str(folder / "b.txt"),
                "--strength",
                "0",
                "1.5",
                "--json",
                a,
            ],
            None,
        ),  # fmt: skip
        "arithmetic_no_groups": (["arithmetic", *model, a], None),
        "encode_csv_parquet": (
            [
                "encode",
                *model,
                "--data-files",
                str(folder / "table.csv"),
                "--text-column",
                "sentence",
                "--output",
                str(folder / "table.parquet"),
            ],
            None,
        ),  # fmt: skip
        "encode_csv_dataset": (
            ["encode", *model, "--data-files", str(folder / "table.csv"), "--output-dataset", str(folder / "with")],
            None,
        ),
        "encode_two_outputs": (
            [
                "encode",
                *model,
                "--input",
                str(folder / "a.txt"),
                "--output",
                str(folder / "x.npy"),
                "--output-dataset",
                str(folder / "y"),
            ],
            None,
        ),  # fmt: skip
        "missing_model": (["reconstruct", "--model", str(folder / "no-model"), a], None),
        "empty_input": (["reconstruct", *model], ""),
        "overlong_input": (["score", *model, "word " * 200], None),
        "batch_json": (["reconstruct", *model, "--json"], f"{a}\n\n{'word ' * 200}\n{b}\n"),
        "encode_batch": (
            [
                "encode",
                *model,
                "--input",
                "-",
                "--output",
                str(folder / "batch.npy"),
                "--line-numbers",
                str(folder / "rows.txt"),
            ],
            f"{a}\n\n{'word ' * 200}\n{b}\n",
        ),  # fmt: skip
    }
    environment = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    results = {}
    names = list(commands)
    for start in range(0, len(names), 4):  # four TensorFlow processes at a time: memory and 2 cores
        processes = {}
        for name in names[start : start + 4]:
            processes[name] = subprocess.Popen(
                [sys.executable, "-m", "textae", *commands[name][0]],
                cwd=REPO,
                env=environment,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
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
        ("encode_two_outputs", "give one output: --output FILE (.npy or .parquet) or --output-dataset DIR"),
        ("arithmetic_no_groups", "give --pair (tense, negation) or both --from A.txt and --to B.txt"),
        ("empty_input", "no text"),
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
    from textae.cli.main import build_parser

    help_text = build_parser().format_help()
    for command in ("reconstruct", "interpolate", "encode", "score", "neighbours", "sample"):
        assert command in help_text


def test_in_process_neighbours_and_sample(tiny_bundle, tiny_sentences_trained, tmp_path, capsys):
    from textae.cli.main import main

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
    from textae.cli.main import main

    a, b = tiny_sentences_trained[:2]
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{a}\n\n  {b}\n"))
    assert main(["reconstruct", "--model", str(tiny_bundle), "--method", "beam", "--beam-width", "2"]) == 0
    assert capsys.readouterr().out.splitlines() == [a, b]


def test_a_bad_line_is_reported_and_the_others_are_processed(runs, tiny_sentences_trained):
    a, b = tiny_sentences_trained[:2]
    returncode, stdout, stderr = runs["batch_json"]
    assert returncode == 2 and "Traceback" not in stderr
    assert "textae: line 3 has 999 characters; the limit is 500." in stderr  # line 2 is blank: skipped, no error
    assert "textae: error: 1 of 3 inputs failed (see above); the others were processed." in stderr
    records = json.loads(stdout)
    assert [r.get("output") for r in records] == [a, None, b]  # every input keeps its place
    assert records[1]["input"] == ("word " * 200).strip() and records[1]["error"].startswith("line 3 has 999")


def test_encode_keeps_row_order_with_nan_rows_and_line_numbers(runs):
    returncode, stdout, stderr = runs["encode_batch"]
    assert returncode == 2 and "textae: line 3 has 999 characters" in stderr
    assert "wrote 3 vectors of size 16" in stdout and "1 NaN rows" in stdout
    vectors = np.load(runs["folder"] / "batch.npy")
    assert vectors.shape == (3, 16)
    assert np.isnan(vectors[1]).all() and np.isfinite(vectors[[0, 2]]).all()
    assert (runs["folder"] / "rows.txt").read_text().split() == ["1", "3", "4"]


def test_a_single_bad_argument_fails_with_its_reason(runs):
    returncode, stdout, stderr = runs["overlong_input"]
    assert returncode == 2 and "Traceback" not in stderr
    assert stderr.splitlines()[0].startswith("textae: sentence 1 has 999 characters; the limit is 500.")
    assert stdout.startswith("nan\t")  # the score of the input that failed, in its place


def test_export_writes_a_saved_model(runs):
    assert "wrote a SavedModel with signatures encode, decode" in succeeded(runs["export"])
    assert (runs["folder"] / "exported" / "saved_model.pb").is_file()


def test_arithmetic_moves_a_sentence_at_every_strength(runs, tiny_sentences_trained):
    records = json.loads(succeeded(runs["arithmetic"]))
    assert len(records) == 1 and records[0]["input"] == tiny_sentences_trained[0]
    assert [item["strength"] for item in records[0]["outputs"]] == [0.0, 1.5]
    assert records[0]["outputs"][0]["output"] == tiny_sentences_trained[0]  # strength 0: the reconstruction


def test_encode_reads_a_dataset_and_writes_parquet_or_a_saved_dataset(runs, tiny_sentences_trained):
    import datasets
    import pyarrow.parquet as pq

    assert "wrote 6 vectors of size 16" in succeeded(runs["encode_csv_parquet"])
    table = pq.read_table(runs["folder"] / "table.parquet")
    assert table.column("text").to_pylist() == tiny_sentences_trained[:6]
    assert "wrote 6 vectors of size 16" in succeeded(runs["encode_csv_dataset"])
    saved = datasets.load_from_disk(str(runs["folder"] / "with"))
    assert saved.column_names == ["id", "sentence", "vector"] and saved["id"] == list(range(6))
    np.testing.assert_allclose(np.array(saved["vector"]), np.array(table.column("vector").to_pylist()), atol=1e-5)


def test_help_and_version_answer_without_starting_tensorflow():
    """`textae --help` took 5 s because every command started TensorFlow first (issue #25)."""
    import subprocess
    import sys

    code = (
        "import sys\nfrom textae.cli import main\n"
        "try:\n    main.main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "print('tensorflow' in sys.modules)"
    )
    for flags in (["--version"], ["--help"], ["neighbors", "--help"]):
        result = subprocess.run([sys.executable, "-c", code, *flags], capture_output=True, text=True, timeout=60)
        assert result.stdout.strip().splitlines()[-1] == "False", (flags, result.stdout, result.stderr)
    version = subprocess.run([sys.executable, "-m", "textae", "--version"], capture_output=True, text=True)
    assert version.stdout.strip().startswith("textae ")
