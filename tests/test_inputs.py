"""training.inputs: the validation sample represents its split, whatever order the text came in."""

from collections import Counter

from textae import data
from textae.text.config import preset
from textae.training import corpus, inputs


def _total_variation(sample, population) -> float:
    a, b = Counter(sample), Counter(population)
    return 0.5 * sum(abs(a[k] / len(sample) - b[k] / len(population)) for k in set(a) | set(b))


def _letters(texts):
    return [text[0].upper() for text in texts]


def _lengths(texts):
    return [min(len(text.split()), 20) // 4 for text in texts]


def test_shipped_validation_sample_matches_the_split():
    config = preset("default")
    config.train.validation_size = 500
    _, validation, _ = inputs.load_sentences(config)
    split = data.load_texts(None, split="validation")
    assert len(validation) == 500
    assert _total_variation(_letters(validation), _letters(split)) < 0.1
    assert _total_variation(_lengths(validation), _lengths(split)) < 0.1


def test_validation_sample_of_sorted_local_text_is_a_hash_sample(tmp_path):
    # A user's file sorted alphabetically: the sample must not be its first sentences.
    sentences = sorted(data.load_texts(None, split="train", limit=20000))
    path = tmp_path / "sorted.txt"
    path.write_text("\n".join(sentences) + "\n", encoding="utf-8")
    config = preset("default")
    config.data.data_files = (str(path),)
    config.train.validation_size = 200
    _, validation, _ = inputs.load_sentences(config)
    held_out = [s for s in sentences if inputs._is_validation(s)]
    assert validation == sorted(held_out, key=corpus.order_key)[:200]
    assert _total_variation(_letters(validation), _letters(held_out)) < 0.15
