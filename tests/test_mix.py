"""training.mix: the general-English mix (dedup across sources, templates capped, split by hash, weights),
read back by training and evaluation as a folder of split files with a `source` column."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from textae import data
from textae.text import examples
from textae.training import mix

SHARED = Path(__file__).resolve().parents[2] / "shared" / "corpora"


def _sources(tmp_path) -> Path:
    folder = tmp_path / "sources"
    folder.mkdir()
    chat = [f"Could you book a table for {n} people at {n} pm?" for n in range(2, 30)]  # one template
    chat += ["I would love a cup of tea.", "Where is the nearest bus stop?", '"can u set a timer', "HELLO WORLD AGAIN"]
    chat += list(examples.PROBES[:1])  # a sentence the app shows: never in any split
    with gzip.open(folder / "chat.txt.gz", "wt", encoding="utf-8") as file:
        file.write("\n".join(chat) + "\n")
    (folder / "speech.txt").write_text(
        "Where is the nearest bus stop!\n" + "\n".join(f"We shall build {n} new schools this year." for n in range(50))
        + "\nThe nation is strong because its people are free.\n", encoding="utf-8",
    )  # fmt: skip
    return folder


def test_mix_dedups_across_sources_caps_templates_and_keeps_examples_out(tmp_path):
    sources = mix.read_sources(_sources(tmp_path))
    wordnet = {"train": ["A cup of tea."], "validation": [], "test": ["Where is the nearest bus stop?"]}
    rows, report = mix.build_mix(sources, wordnet, weights={}, template_cap=3)
    everything = [row for split in mix.SPLITS for row in rows[split]]
    texts = [row["text"] for row in everything]
    assert len(texts) == len({mix.sentence_key(t) for t in texts})  # no duplicates across sources or splits
    # WordNet keeps its own split, and wins the duplicate over the later sources ("?" and "!" are the same key).
    assert {"text": "Where is the nearest bus stop?", "source": "wordnet"} in rows["test"]
    assert report["chat"]["duplicates"] == 1 and report["speech"]["duplicates"] == 1
    # A template shared by 28 sentences keeps 3; the speech's 50 numbered sentences keep 3 too.
    assert sum("book a table" in t for t in texts) == 3 and sum("new schools" in t for t in texts) == 3
    assert "can u set a timer" in texts  # the stray opening quote is removed
    assert "HELLO WORLD AGAIN" not in texts  # a heading in capitals is not a sentence
    assert all(mix.sentence_key(t) != mix.sentence_key(examples.PROBES[0]) for t in texts)
    assert report["chat"]["held_out"] == 1


def test_weights_keep_a_fixed_share_and_unknown_names_are_refused(tmp_path):
    sources = {"many": [f"Sentence number {word} is here." for word in ("alpha beta gamma delta".split() * 1)]}
    sources["many"] += [
        f"The {a} {b} sat down." for a in "red green blue black white".split() for b in "cat dog fox owl".split()
    ]
    full, _ = mix.build_mix(sources, None, weights={}, template_cap=0)
    half, report = mix.build_mix(sources, None, weights={"many": 0.5}, template_cap=0)
    kept = sum(len(rows) for rows in half.values())
    assert 0 < kept < sum(len(rows) for rows in full.values())
    assert report["many"]["weighted_out"] == sum(len(r) for r in full.values()) - kept
    with pytest.raises(ValueError, match="unknown source"):
        mix.build_mix(sources, None, weights={"nope": 0.5})


def test_rebuilding_gives_the_same_bytes_and_training_reads_the_folder(tmp_path):
    folder = _sources(tmp_path)
    for name in ("a", "b"):
        assert mix.main(["--sources", str(folder), "--output", str(tmp_path / name)]) == 0
    for file in ("train.jsonl.gz", "validation.jsonl.gz", "test.jsonl.gz", "mix.json"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes(), file
    manifest = json.loads((tmp_path / "a" / "mix.json").read_text())
    assert manifest["splits"]["train"] > 100_000  # the shipped WordNet corpus is in by default
    # A folder of split files is a dataset: its splits, its `text` column picked over `source`.
    test = data.load_texts(str(tmp_path / "a"), split="test")
    assert len(test) == manifest["splits"]["test"]
    assert data.has_split(str(tmp_path / "a"), "validation") and not data.has_split(str(tmp_path / "a"), "dev")
    assert data.has_column(str(tmp_path / "a"), "test", "source")
    with pytest.raises(data.DataError, match="has split files"):
        data.load_texts(str(tmp_path / "a"), split="dev")


def test_bad_sources_folder_is_one_clear_line(tmp_path, capsys):
    assert mix.main(["--sources", str(tmp_path / "missing"), "--output", str(tmp_path / "out")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert mix.main(["--sources", str(tmp_path), "--output", str(tmp_path / "out")]) == 2
    assert "holds no .txt" in capsys.readouterr().err


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/corpora is not on this machine")
def test_the_shared_corpora_build_a_mix_without_the_apps_sentences():
    sources = mix.read_sources(SHARED)
    assert set(sources) >= {"sgd_dialogue", "common_voice", "us_speeches"}
    rows, report = mix.build_mix({"us_speeches": sources["us_speeches"]}, None)
    keys = {mix.sentence_key(row["text"]) for split in rows.values() for row in split}
    assert not keys & {mix.sentence_key(text) for text in examples.ALL}
    assert report["us_speeches"]["cleaned_out"] > 0  # headings such as "PRESIDENT HARRY S." go


def test_the_template_report_counts_shared_skeletons(capsys, tmp_path):
    lines = mix.template_report(["The phone number is 555-0100.", "The phone number is 555-0199.", "Hello there."])
    assert lines[0].startswith("3 sentences, 2 skeletons; 2 sentences share a skeleton")
    assert "2  the phone number is #" in lines[1]
    assert mix.main(["--sources", str(_sources(tmp_path)), "--templates", "chat"]) == 0
    assert "skeletons" in capsys.readouterr().out
