"""Tests for textae.text.tokenizer."""

import unicodedata

import numpy as np
import pytest

from textae.text.config import TokenizerConfig
from textae.text.tokenizer import BOS_ID, EOS_ID, PAD_ID, UNK_ID, Tokenizer

MULTILINGUAL = [
    "Café crème brûlée à la façon de Zoë.",
    "Ça coûte dix-huit euros, señor Muñoz.",
    "東京タワーは高いです。",
    "I love pizza 🍕 and cats 🐈 so much!",
]


@pytest.fixture(scope="module")
def byte_tokenizer(tiny_sentences):
    """A tokenizer with byte fallback, trained on English plus a few accented lines."""
    corpus = list(tiny_sentences) + ["Le café est très chaud.", "Où est la gare, señor?", "Élodie a mangé une crêpe."]
    return Tokenizer.train(corpus, TokenizerConfig(vocab_size=400, byte_fallback=True))


def test_special_pieces(tiny_tokenizer):
    assert [tiny_tokenizer.id_to_piece(i) for i in range(4)] == ["<pad>", "<unk>", "<s>", "</s>"]
    assert (PAD_ID, UNK_ID, BOS_ID, EOS_ID) == (0, 1, 2, 3)
    assert 20 < tiny_tokenizer.vocab_size <= 100


def test_round_trip_with_byte_fallback(byte_tokenizer):
    ids = byte_tokenizer.encode(MULTILINGUAL)
    assert all(UNK_ID not in row for row in ids)
    expected = [unicodedata.normalize("NFKC", text) for text in MULTILINGUAL]
    assert byte_tokenizer.decode(ids) == expected


def test_byte_fallback_needs_large_vocabulary(tiny_sentences):
    with pytest.raises(ValueError, match="byte_fallback needs vocab_size"):
        Tokenizer.train(tiny_sentences, TokenizerConfig(vocab_size=100, byte_fallback=True))


def test_training_is_deterministic(tiny_sentences, tiny_tokenizer):
    again = Tokenizer.train(tiny_sentences, TokenizerConfig(vocab_size=100, byte_fallback=False))
    assert again.to_bytes() == tiny_tokenizer.to_bytes()


def test_training_on_no_text_is_an_error():
    with pytest.raises(ValueError, match="no text"):
        Tokenizer.train(["", "   "], TokenizerConfig(vocab_size=100, byte_fallback=False))


def test_decode_skips_padding_and_stops_at_eos(tiny_tokenizer):
    ids = tiny_tokenizer.encode(["The cat saw a red ball."])[0]
    row = [BOS_ID, *ids, EOS_ID, *ids, PAD_ID, PAD_ID]
    array = np.array([row, [BOS_ID, *ids, PAD_ID, PAD_ID, *([PAD_ID] * (len(ids) + 1))]], dtype=np.int32)
    assert tiny_tokenizer.decode(array) == ["The cat saw a red ball."] * 2
    assert tiny_tokenizer.decode([[EOS_ID, *ids]]) == [""]


def test_decode_rejects_ids_outside_vocabulary(tiny_tokenizer):
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tiny_tokenizer.decode([[5, 10_000]])


def test_pieces(tiny_tokenizer):
    ids = tiny_tokenizer.encode(["The cat"])[0]
    assert "".join(tiny_tokenizer.pieces(ids)).replace("▁", " ").strip() == "The cat"


def test_save_and_load_round_trip(tmp_path, tiny_tokenizer):
    path = tmp_path / "model" / "tokenizer.model"
    tiny_tokenizer.save(path)
    assert [p.name for p in path.parent.iterdir()] == ["tokenizer.model"]  # no temporary file left
    loaded = Tokenizer.load(path)
    assert loaded.to_bytes() == tiny_tokenizer.to_bytes()
    text = ["The farmer heard a bright star."]
    assert loaded.encode(text) == tiny_tokenizer.encode(text)
    assert Tokenizer.load(path.parent).vocab_size == tiny_tokenizer.vocab_size


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="No tokenizer model"):
        Tokenizer.load(tmp_path / "missing.model")
    corrupt = tmp_path / "tokenizer.model"
    corrupt.write_bytes(b"this is not a protobuf")
    with pytest.raises(ValueError, match="not a valid SentencePiece model"):
        Tokenizer.load(corrupt)
