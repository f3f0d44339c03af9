"""The shipped attribute pairs: built from the corpus by their rule, and measured on a model."""

from __future__ import annotations

import pytest

from textae.text import attributes
from textae.training import attributes as build_attributes


@pytest.mark.parametrize(
    "name, text, is_a, is_b",
    [
        ("tense", "The dog is asleep", True, False),
        ("tense", "The dog was asleep", False, True),
        ("tense", "The dog is here and was there", False, False),
        ("tense", "This island is small", True, False),  # "is" the word, not the letters
        ("negation", "The dog is asleep", True, False),
        ("negation", "The dog is not asleep", False, True),
        ("negation", "Nothing happened", False, False),
    ],
)
def test_rules(name, text, is_a, is_b):
    pair = attributes.PAIRS[name]
    assert (pair.is_a(text), pair.is_b(text)) == (is_a, is_b)


def test_the_shipped_files_follow_their_rules_and_rebuild_byte_for_byte(tmp_path, monkeypatch):
    shipped = {name: [file.read_bytes() for file in pair.files()] for name, pair in attributes.PAIRS.items()}
    for name, (group_a, group_b) in ((name, attributes.load(name)) for name in attributes.PAIRS):
        pair = attributes.PAIRS[name]
        assert len(group_a) >= 200 and len(group_b) >= 200
        assert all(map(pair.is_a, group_a)) and all(map(pair.is_b, group_b))
    monkeypatch.setattr(attributes, "ATTRIBUTES_DIR", tmp_path)
    build_attributes.build()
    for name, pair in attributes.PAIRS.items():
        assert [file.read_bytes() for file in pair.files()] == shipped[name], name


def test_an_unknown_pair_is_a_clear_error():
    with pytest.raises(ValueError, match="the shipped ones are tense, negation"):
        attributes.load("gender")


def test_measure_reports_transfer_and_bleu_per_strength(tiny_bundle):
    import textae

    result = build_attributes.measure(textae.load(tiny_bundle), "tense", strengths=(0.0, 1.0), held_out=10)
    assert result["sentences"] == 10 and set(result["by_strength"]) == {"0", "1"}
    for figures in result["by_strength"].values():
        assert 0 <= figures["transfer"] <= 1 and 0 <= figures["bleu"] <= 100
    assert result["best_strength"] in (0.0, 1.0) and len(result["examples"]) == 5
