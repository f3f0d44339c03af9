"""python -m training.evaluate: the metrics of a model folder, as text or one JSON object."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

from textae.training import evaluate

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
KEYS = ("exact_match", "bleu", "teacher_forced_token_accuracy", "free_running_token_accuracy", "loss", "perplexity")


def run_evaluate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "training.evaluate", *args], cwd=ROOT, env=ENV, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip


def test_json_report_of_a_tiny_model(tiny_bundle):
    result = run_evaluate("--model", str(tiny_bundle), "--limit", "50", "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, result.stdout  # exactly one JSON object on stdout
    report = json.loads(lines[0])
    assert set(KEYS) <= set(report)
    assert 0.0 <= report["exact_match"] <= 1.0
    assert 0.0 <= report["bleu"] <= 100.0
    for key in ("teacher_forced_token_accuracy", "free_running_token_accuracy"):
        assert 0.0 <= report[key] <= 1.0, key
    assert report["loss"] > 0 and math.isclose(report["perplexity"], math.exp(report["loss"]), rel_tol=1e-4)
    assert 0 < report["sentences"] <= 50


def test_text_report_on_a_local_file(tiny_bundle, tiny_sentences_trained, tmp_path, capsys):
    path = tmp_path / "sentences.txt"
    path.write_text("\n".join(tiny_sentences_trained) + "\n", encoding="utf-8")
    assert evaluate.main(["--model", str(tiny_bundle), "--dataset", str(path), "--split", "train"]) == 0
    out = capsys.readouterr().out
    assert f"on {len(tiny_sentences_trained)} sentences" in out
    for key in KEYS:
        assert key in out
    # The tiny model learned exactly these sentences.
    exact_match = float(out.split("exact_match", 1)[1].split()[0])
    assert exact_match > 0.5


def test_missing_model_folder_is_one_clear_line(tmp_path, capsys):
    code = evaluate.main(["--model", str(tmp_path / "no-model"), "--limit", "5"])
    stderr = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("evaluate: error: No model folder at"), stderr
    assert "python -m training.train" in lines[0]  # says what to do


def test_bad_limit_is_one_clear_line(tiny_bundle, capsys):
    assert evaluate.main(["--model", str(tiny_bundle), "--limit", "0"]) == 2
    assert capsys.readouterr().err.strip() == "evaluate: error: --limit must be positive, got 0."


def test_held_out_texts_are_cleaned_like_the_models_training_text():
    """`training.ship` and `python -m training.evaluate` both read the test split through this function."""
    import types

    from textae.text.config import Config

    config = Config()
    config.data.lowercase = True
    texts = evaluate.held_out_texts(types.SimpleNamespace(config=config), limit=20)
    assert len(texts) == 20 and all(text == text.lower() for text in texts)
    assert any(
        text != text.lower() for text in evaluate.held_out_texts(types.SimpleNamespace(config=Config()), limit=20)
    )


def test_json_report_has_every_length_bucket(tiny_bundle):
    result = run_evaluate("--model", str(tiny_bundle), "--limit", "50", "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    by_length = report["by_length"]
    assert list(by_length) == ["1-8", "9-16", "17-24", "25-32", "33-48"]  # the tiny model's max_tokens is 48
    assert sum(entry["sentences"] for entry in by_length.values()) == report["sentences"]
    for label, entry in by_length.items():
        low, high = entry["tokens"]
        assert label == f"{low}-{high}"
        if entry["sentences"]:
            for key in KEYS[:-1]:  # every figure but perplexity
                assert key in entry, (label, key)
            assert 0.0 <= entry["exact_match"] <= 1.0


def test_by_length_figures_add_up_to_the_overall_ones(tiny_bundle, tiny_sentences_trained):
    from textae.text import bundle

    loaded = bundle.load_bundle(tiny_bundle)
    report = evaluate.evaluate(loaded, tiny_sentences_trained + ["A much longer sentence " * 3])
    weighted = sum(e["exact_match"] * e["sentences"] for e in report["by_length"].values() if e["sentences"])
    assert math.isclose(weighted / report["sentences"], report["exact_match"])
    assert math.isclose(sum(e["share"] for e in report["by_length"].values()), 1.0)


def test_text_report_prints_the_by_length_table(tiny_bundle, capsys):
    assert evaluate.main(["--model", str(tiny_bundle), "--limit", "40"]) == 0
    out = capsys.readouterr().out
    assert "| tokens | sentences | share | exact match | BLEU |" in out
    assert "| 1–8 |" in out and "| 33–48 |" in out


def test_a_mix_is_reported_by_source(tiny_bundle, tiny_sentences_trained, tmp_path, capsys):
    """A dataset with a `source` column (a training.mix folder) gets figures per source, by length too."""
    import gzip
    import json as json_module

    rows = [{"text": text, "source": "left" if i % 3 else "right"} for i, text in enumerate(tiny_sentences_trained)]
    with gzip.open(tmp_path / "test.jsonl.gz", "wt", encoding="utf-8") as file:
        file.write("".join(json_module.dumps(row) + "\n" for row in rows))
    assert evaluate.main(["--model", str(tiny_bundle), "--dataset", str(tmp_path), "--json"]) == 0
    results = json_module.loads(capsys.readouterr().out)
    by_source = results["by_source"]
    assert set(by_source) == {"left", "right"}
    assert by_source["left"]["sentences"] + by_source["right"]["sentences"] == results["sentences"]
    assert by_source["right"]["sentences"] == len(rows[::3])
    assert (
        sum(entry["sentences"] for entry in by_source["left"]["by_length"].values()) == by_source["left"]["sentences"]
    )
    assert evaluate.main(["--model", str(tiny_bundle), "--dataset", str(tmp_path)]) == 0
    assert "| source | sentences | exact match |" in capsys.readouterr().out
