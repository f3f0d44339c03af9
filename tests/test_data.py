"""Tests for textae.data (loading every local format, hub errors) and textae.text.cleaning."""

import gzip
import json

import datasets
import pandas as pd
import pytest

from textae import data
from textae.data import DataError, load_texts
from textae.text.cleaning import CleaningReport, clean_texts

SENTENCES = ["The cat sat on the mat.", "A dog barked loudly.", "Birds sing at dawn."]


@pytest.fixture
def frame():
    return pd.DataFrame({"id": [1, 2, 3], "text": SENTENCES, "score": [0.5, 0.1, 0.9]})


def test_txt_and_gzipped_txt(tmp_path):
    plain = tmp_path / "corpus.txt"
    plain.write_text("\n".join(SENTENCES) + "\n", encoding="utf-8")
    packed = tmp_path / "corpus.txt.gz"
    with gzip.open(packed, "wt", encoding="utf-8") as file:
        file.write("\n".join(SENTENCES) + "\n")
    assert load_texts(data_files=[str(plain)]) == SENTENCES
    assert load_texts(str(packed)) == SENTENCES
    assert load_texts(data_files=str(plain), limit=2) == SENTENCES[:2]


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".json", ".jsonl", ".parquet"])
def test_tabular_formats(tmp_path, frame, suffix):
    path = tmp_path / f"corpus{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".tsv":
        frame.to_csv(path, index=False, sep="\t")
    elif suffix == ".json":
        path.write_text(json.dumps(frame.to_dict(orient="records")), encoding="utf-8")
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_parquet(path)
    assert load_texts(data_files=[str(path)]) == SENTENCES  # the only string column is found
    assert load_texts(str(path), text_column="text", limit=1) == SENTENCES[:1]


def test_streaming_local_file(tmp_path, frame):
    path = tmp_path / "corpus.jsonl"
    frame.to_json(path, orient="records", lines=True)
    assert load_texts(data_files=[str(path)], streaming=True, limit=2) == SENTENCES[:2]


def test_save_to_disk_folders(tmp_path, frame):
    single = tmp_path / "single"
    datasets.Dataset.from_pandas(frame).save_to_disk(str(single))
    assert load_texts(str(single)) == SENTENCES
    both = tmp_path / "both"
    datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_pandas(frame),
            "validation": datasets.Dataset.from_dict({"text": ["Hi there."]}),
        }
    ).save_to_disk(str(both))
    assert load_texts(str(both), split="validation") == ["Hi there."]
    with pytest.raises(DataError, match="has splits train, validation"):
        load_texts(str(both), split="test")


def test_ambiguous_and_wrong_columns(tmp_path):
    path = tmp_path / "two.csv"
    pd.DataFrame({"title": ["a", "b"], "body": ["x", "y"]}).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"string columns are title, body.*text_column"):
        load_texts(data_files=[str(path)])
    with pytest.raises(DataError, match=r"no column 'text'; the columns are title, body"):
        load_texts(data_files=[str(path)], text_column="text")
    assert load_texts(data_files=[str(path)], text_column="body") == ["x", "y"]


def test_local_file_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_texts(data_files=[str(tmp_path / "missing.txt")])
    odd = tmp_path / "corpus.docx"
    odd.write_bytes(b"x")
    with pytest.raises(DataError, match="Cannot tell the format"):
        load_texts(data_files=[str(odd)])
    with pytest.raises(DataError, match="No file or folder"):
        load_texts(str(tmp_path / "nothing.txt"))


def test_offline_hub_error_points_to_local_files():
    with pytest.raises(DataError) as caught:
        load_texts("someone/nonexistent-dataset")
    assert type(caught.value) is DataError
    message = str(caught.value)
    assert "Hugging Face hub" in message and ".parquet" in message and "save_to_disk" in message


def test_shipped_corpus_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "SHIPPED_CORPUS_DIR", tmp_path)
    with pytest.raises(DataError, match="shipped corpus file"):
        load_texts()
    with pytest.raises(DataError, match="splits train, validation, test"):
        load_texts(split="dev")
    with gzip.open(tmp_path / "validation.txt.gz", "wt", encoding="utf-8") as file:
        file.write("One line.\nTwo lines.\n")
    assert load_texts(split="validation") == ["One line.", "Two lines."]


def test_invalid_utf8_bytes_do_not_crash(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"\xff\xfe bad\nA good line here.\nCaf\xe9 and a long enough line to repair it.\n")
    raw = load_texts(data_files=[str(path)])
    assert len(raw) == 3 and "\ufffd" in raw[0]
    texts, report = clean_texts(raw)
    assert texts == ["A good line here.", "Caf and a long enough line to repair it."]
    assert report.invalid == 1 and report.invalid_repaired == 1


def test_cleaning_counts():
    lines = [
        "",
        "   ",
        " = = Early life = = ",
        " = Valkyria Chronicles = ",
        "Hello\x00 world\x1b[31m again",
        "Tabs\tand   spaces\n",
        "A repeated line.",
        "A repeated line.",
        "x" * 50,
        None,
        "Surrogate \ud800 here in a longer sentence with many words.",
    ]
    texts, report = clean_texts(lines, max_chars=40)
    assert texts == ["Hello world again", "Tabs and spaces", "A repeated line."]
    assert report == CleaningReport(
        total=11,
        empty=3,
        heading=2,
        control_chars_repaired=1,
        invalid_repaired=1,
        too_long_chars=2,
        duplicate=1,
        kept=3,
    )
    assert report.summary().startswith("kept 3 of 11 lines (dropped: 3 empty, 2 headings, 2 too long, 1 duplicates)")


def test_cleaning_options():
    paragraph = "Mr. Smith went home. He was tired! Was he? yes. The END."
    texts, report = clean_texts([paragraph, "The END."], split_sentences=True, lowercase=True)
    assert texts == ["mr. smith went home.", "he was tired!", "was he? yes.", "the end."]
    assert report.sentences_added == 3 and report.duplicate == 1
    texts, report = clean_texts([f"Line {i}." for i in range(10)], limit=4)
    assert texts == ["Line 0.", "Line 1.", "Line 2.", "Line 3."] and report.over_limit == 6
    texts, _ = clean_texts(["Same.", "Same."], deduplicate=False)
    assert texts == ["Same.", "Same."]


def test_nothing_left_is_an_error():
    with pytest.raises(DataError, match=r"No text left after cleaning: kept 0 of 3 lines.*Check the text column"):
        clean_texts(["", " = = Heading = = ", "  "])
