"""Tests for training/corpus.py: the WordNet line parser, the split rule and the shipped corpus."""

import gzip
from collections import Counter
from pathlib import Path

import pytest

from textae.training import corpus

CORPUS_DIR = Path(__file__).resolve().parent.parent / "assets" / "corpus"

# Real lines from WordNet 3.0 (the two trailing spaces are part of the format).
NOUN_TWO_EXAMPLES = (
    "00003553 03 n 02 whole 0 unit 0 015 @ 00002684 n 0000 + 01462023 v 0204 + 00367685 v 0201 "
    "+ 01385476 v 0201 + 00368109 v 0201 + 00784215 a 0103 ~ 00003993 n 0000 ~ 00004258 n 0000 "
    "~ 00019128 n 0000 ~ 00021939 n 0000 ~ 02749953 n 0000 ~ 03588414 n 0000 %p 03892891 n 0000 "
    "%p 04164989 n 0000 ~ 04353803 n 0000 | an assemblage of parts that is regarded as a single entity; "
    '"how big is that part compared to the whole?"; "the team is a unit"  \n'
)
VERB_SEMICOLON_IN_QUOTES = (
    "00342812 30 v 01 come 2 001 @ 02603699 v 0000 03 + 04 00 + 06 00 + 07 00 | be found or available; "
    '"These shoes come in three colors; The furniture comes unassembled"  \n'
)
ADJECTIVE_WITH_ATTRIBUTION = (
    "01690245 00 s 03 canonic 0 canonical 0 sanctioned 0 001 & 01689881 a 0000 | conforming to orthodox or "
    'recognized rules; "the drinking of cocktails was as canonical a rite as the mixing"- Sinclair Lewis  \n'
)
ADJECTIVE_BACKTICKS = (
    "00002098 00 a 01 unable 0 002 = 05200169 n 0000 ! 00001740 a 0101 | (usually followed by `to') not having "
    'the necessary means or skill or know-how; "unable to get to town without a car"; "unable to obtain funds"  \n'
)
LICENCE_HEADER = (
    "  1 This software and database is being provided to you, the LICENSEE, by  \n"
    "  2   \n"
    "  3 WordNet 3.0 Copyright 2006 by Princeton University.  All rights reserved.  \n"
)


def test_parse_noun_with_two_examples():
    definition, examples = corpus.parse_data_line(NOUN_TWO_EXAMPLES)
    assert definition == "An assemblage of parts that is regarded as a single entity."
    assert examples == ["How big is that part compared to the whole?", "The team is a unit"]


def test_parse_keeps_semicolon_inside_quotes_and_skips_verb_frames():
    definition, examples = corpus.parse_data_line(VERB_SEMICOLON_IN_QUOTES)
    assert definition == "Be found or available."
    assert examples == ["These shoes come in three colors; The furniture comes unassembled"]


def test_parse_drops_attribution_and_turns_backticks_into_apostrophes():
    assert corpus.parse_data_line(ADJECTIVE_WITH_ATTRIBUTION) == (
        "Conforming to orthodox or recognized rules.",
        ["The drinking of cocktails was as canonical a rite as the mixing"],
    )
    definition, examples = corpus.parse_data_line(ADJECTIVE_BACKTICKS)
    assert definition == "(Usually followed by 'to') not having the necessary means or skill or know-how."
    assert examples == ["Unable to get to town without a car", "Unable to obtain funds"]


def test_parse_drops_examples_with_stray_quotes():
    line = "00000001 00 a 01 odd 0 000 | fueled by wood; \"a wood-burning stove'  \n"
    assert corpus.parse_data_line(line) == ("Fueled by wood.", [])


@pytest.mark.parametrize(
    "line",
    [
        LICENCE_HEADER.splitlines()[0],  # a header line is not a synset line
        "00003553 03 n 02 whole 0 unit 0 015 @ 00002684 n 0000 | too few pointers",
        "00342812 30 v 01 come 2 001 @ 02603699 v 0000 | a verb without its frame count",
    ],
)
def test_parse_refuses_lines_in_another_format(line):
    with pytest.raises(ValueError, match="not a WordNet data line"):
        corpus.parse_data_line(line)


def test_split_of_is_stable_and_roughly_94_3_3():
    sentences = [f"Sentence number {index}." for index in range(3000)]
    splits = [corpus.split_of(sentence) for sentence in sentences]
    assert splits == [corpus.split_of(sentence) for sentence in sentences]
    assert set(splits) == {"train", "validation", "test"}
    assert 0.9 < splits.count("train") / len(splits) < 0.97
    # Pinned so that a change to the rule, which would reshuffle the shipped splits, is noticed.
    assert splits[:3] == ["train", "train", "test"] and splits[35] == "validation"


def _read(path: Path) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as file:
        return file.read().splitlines()


def test_shipped_corpus_splits_are_in_hash_order_disjoint_and_follow_the_rule():
    splits = {split: _read(CORPUS_DIR / f"{split}.txt.gz") for split in corpus.SPLITS}
    for split, sentences in splits.items():
        assert len(sentences) > 1000, split
        assert len(set(sentences)) == len(sentences), f"{split} has duplicates"
        assert sentences == sorted(sentences, key=corpus.order_key), f"{split} is not in hash order"
        assert all(corpus.split_of(sentence) == split for sentence in sentences[:500])
    train, validation, test = (set(splits[split]) for split in corpus.SPLITS)
    assert not train & validation and not train & test and not validation & test
    assert "WordNet 3.0 Copyright 2006 by Princeton University" in (CORPUS_DIR / "LICENSE").read_text()
    assert (CORPUS_DIR / "README.md").is_file()


def _fake_wordnet(directory: Path) -> Path:
    """A WordNet folder of tiny data files: one noun, one verb, two adjectives, no adverbs."""
    directory.mkdir()
    (directory / "data.noun").write_text(LICENCE_HEADER + NOUN_TWO_EXAMPLES)
    (directory / "data.verb").write_text(LICENCE_HEADER + VERB_SEMICOLON_IN_QUOTES)
    (directory / "data.adj").write_text(LICENCE_HEADER + ADJECTIVE_WITH_ATTRIBUTION + ADJECTIVE_BACKTICKS)
    (directory / "data.adv").write_text(LICENCE_HEADER)
    return directory


def test_build_from_tiny_wordnet_is_deterministic(tmp_path, capsys):
    wordnet = _fake_wordnet(tmp_path / "wordnet")
    outputs = [tmp_path / "first", tmp_path / "second"]
    for output in outputs:
        assert corpus.main(["--wordnet-dir", str(wordnet), "--output", str(output)]) == 0
    for name in ("train.txt.gz", "validation.txt.gz", "test.txt.gz", "LICENSE", "README.md"):
        assert (outputs[0] / name).read_bytes() == (outputs[1] / name).read_bytes(), name
    written = [line for split in corpus.SPLITS for line in _read(outputs[0] / f"{split}.txt.gz")]
    assert sorted(written) == corpus.extract_sentences([wordnet / name for name in corpus.DATA_FILES])
    assert len(written) == 10  # 4 definitions and 6 examples
    assert "examples: 6 sentences" in capsys.readouterr().out


def test_max_words_drops_long_sentences(tmp_path):
    wordnet = _fake_wordnet(tmp_path / "wordnet")
    sentences = corpus.extract_sentences([wordnet / name for name in corpus.DATA_FILES], max_words=4)
    assert sentences == ["Be found or available.", "Unable to obtain funds"]


def test_missing_wordnet_dir_is_a_clear_error(tmp_path, capsys):
    assert corpus.main(["--wordnet-dir", str(tmp_path / "nowhere"), "--output", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert "install Debian package wordnet-base or pass --wordnet-dir" in error
    assert len(error.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def _total_variation(sample, population) -> float:
    """Half the L1 distance between two empirical distributions (0: equal, 1: disjoint)."""
    a, b = Counter(sample), Counter(population)
    return 0.5 * sum(abs(a[k] / len(sample) - b[k] / len(population)) for k in set(a) | set(b))


def test_any_prefix_of_a_shipped_split_represents_it():
    # A --limit, the validation sample and the explorer's sentences all read a file from its start.
    for split in corpus.SPLITS:
        sentences = _read(CORPUS_DIR / f"{split}.txt.gz")
        prefix = sentences[:1000]
        letters = lambda texts: [t[0].upper() for t in texts]  # noqa: E731
        words = lambda texts: [min(len(t.split()), 20) // 4 for t in texts]  # noqa: E731
        assert _total_variation(letters(prefix), letters(sentences)) < 0.1, split
        assert _total_variation(words(prefix), words(sentences)) < 0.1, split
