"""SentencePiece tokenizer: train in memory, encode, decode, save and load.

The special ids are fixed for every textae model so that padding, masking and
decoding code can rely on them: `<pad>` 0, `<unk>` 1, `<s>` 2, `</s>` 3.

Example:

```python
tokenizer = Tokenizer.train(sentences, TokenizerConfig(vocab_size=1000))
ids = tokenizer.encode(["A short sentence."])
tokenizer.decode(ids)  # ['A short sentence.']
```
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import sentencepiece

from textae.files import write_atomic
from textae.text.config import TokenizerConfig

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
SPECIAL_PIECES = ("<pad>", "<unk>", "<s>", "</s>")
MODEL_TYPES = ("unigram", "bpe", "char", "word")
# 256 byte pieces, 4 special pieces and some room for the characters themselves.
MIN_BYTE_FALLBACK_VOCAB_SIZE = 300


class Tokenizer:
    """A SentencePiece model with textae's fixed special ids.

    Args:
        processor: A loaded `sentencepiece.SentencePieceProcessor` whose special
            ids are pad 0, unk 1, bos 2, eos 3.
        model_proto: The serialized model the processor was loaded from.

    Use `Tokenizer.train`, `Tokenizer.load` or `Tokenizer.from_bytes` rather than
    the constructor.
    """

    def __init__(self, processor: sentencepiece.SentencePieceProcessor, model_proto: bytes):
        expected = (PAD_ID, UNK_ID, BOS_ID, EOS_ID)
        found = (processor.pad_id(), processor.unk_id(), processor.bos_id(), processor.eos_id())
        if found != expected:
            raise ValueError(
                f"This SentencePiece model has special ids pad/unk/bos/eos = {found}, but textae needs {expected}. "
                "Train the tokenizer with `Tokenizer.train` (or `pad_id=0, unk_id=1, bos_id=2, eos_id=3`)."
            )
        self._processor = processor
        self._model_proto = bytes(model_proto)

    @classmethod
    def train(cls, sentences: Iterable[str], config: TokenizerConfig) -> Tokenizer:
        """Train a SentencePiece model in memory.

        Training is deterministic: the same sentences and settings give a
        byte-identical model (one thread, no input sampling or shuffling).

        Args:
            sentences: Training text, one sentence per item. At most
                `config.max_sentences` non-empty sentences are used.
            config: Vocabulary size, model type, character coverage and byte fallback.

        Returns:
            The trained `Tokenizer`.

        Raises:
            ValueError: If the settings are impossible or there is no text.
        """
        if config.model_type not in MODEL_TYPES:
            raise ValueError(f"model_type must be one of {', '.join(MODEL_TYPES)}; got {config.model_type!r}.")
        if config.vocab_size < len(SPECIAL_PIECES) + 1:
            raise ValueError(f"vocab_size must be at least 5 (4 special pieces), got {config.vocab_size}.")
        if config.byte_fallback and config.vocab_size < MIN_BYTE_FALLBACK_VOCAB_SIZE:
            raise ValueError(
                f"byte_fallback needs vocab_size of at least {MIN_BYTE_FALLBACK_VOCAB_SIZE} (256 byte pieces plus the "
                f"special pieces and characters), got {config.vocab_size}. Raise vocab_size or set byte_fallback=False."
            )
        if config.max_sentences <= 0:
            raise ValueError(f"max_sentences must be positive, got {config.max_sentences}.")
        corpus = []
        for sentence in sentences:
            if sentence and sentence.strip():
                corpus.append(sentence)
                if len(corpus) >= config.max_sentences:
                    break
        if not corpus:
            raise ValueError("Cannot train a tokenizer on no text: every sentence given was empty.")

        model_writer = io.BytesIO()
        try:
            sentencepiece.SentencePieceTrainer.train(
                sentence_iterator=iter(corpus),
                model_writer=model_writer,
                vocab_size=config.vocab_size,
                model_type=config.model_type,
                character_coverage=config.character_coverage,
                byte_fallback=config.byte_fallback,
                pad_id=PAD_ID,
                unk_id=UNK_ID,
                bos_id=BOS_ID,
                eos_id=EOS_ID,
                num_threads=1,  # more threads make the model depend on scheduling
                hard_vocab_limit=False,  # tiny corpora cannot always fill the vocabulary
                input_sentence_size=len(corpus),
                shuffle_input_sentence=False,
                normalization_rule_name="nmt_nfkc",
                minloglevel=2,
            )
        except RuntimeError as error:
            raise ValueError(
                f"SentencePiece could not train a {config.model_type} model with vocab_size={config.vocab_size} on "
                f"{len(corpus):,} sentences: {error}. Try a larger vocab_size, a lower character_coverage or more text."
            ) from error
        return cls.from_bytes(model_writer.getvalue())

    @classmethod
    def from_bytes(cls, model_proto: bytes) -> Tokenizer:
        """Load a tokenizer from a serialized SentencePiece model.

        Args:
            model_proto: The bytes of a `tokenizer.model` file (see `to_bytes`).

        Returns:
            The `Tokenizer`.

        Raises:
            ValueError: If the bytes are not a SentencePiece model.
        """
        try:
            processor = sentencepiece.SentencePieceProcessor(model_proto=bytes(model_proto))
        except (RuntimeError, TypeError) as error:
            raise ValueError(
                f"These {len(model_proto):,} bytes are not a valid SentencePiece model ({error}). "
                "Retrain the tokenizer or restore the file from the model folder."
            ) from error
        return cls(processor, model_proto)

    def to_bytes(self) -> bytes:
        """Return the serialized SentencePiece model."""
        return self._model_proto

    @classmethod
    def load(cls, path: str | os.PathLike) -> Tokenizer:
        """Load a tokenizer from a `tokenizer.model` file.

        Args:
            path: The model file, or a folder that holds `tokenizer.model`.

        Returns:
            The `Tokenizer`.

        Raises:
            FileNotFoundError: If there is no such file.
            ValueError: If the file is not a SentencePiece model.
        """
        path = Path(path).expanduser()
        if path.is_dir():
            path = path / "tokenizer.model"
        if not path.is_file():
            raise FileNotFoundError(
                f"No tokenizer model at {str(path)!r}. Pass the path of a tokenizer.model file written by "
                "Tokenizer.save (it is saved inside every trained model folder)."
            )
        try:
            return cls.from_bytes(path.read_bytes())
        except ValueError as error:
            raise ValueError(f"Could not load the tokenizer at {str(path)!r}: {error}") from error

    def save(self, path: str | os.PathLike) -> None:
        """Write the model file atomically (a temporary file, then `os.replace`).

        Args:
            path: Where to write, conventionally `<model folder>/tokenizer.model`.
        """
        path = Path(path).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, self._model_proto)

    @property
    def vocab_size(self) -> int:
        """Number of pieces, special pieces included."""
        return self._processor.get_piece_size()

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Encode texts to token ids, without bos or eos (nothing is truncated).

        Args:
            texts: The texts; a single string is treated as a list of one.

        Returns:
            One list of ids per text.
        """
        if isinstance(texts, str):
            texts = [texts]
        texts = list(texts)
        return self._processor.encode(texts, out_type=int) if texts else []

    def decode(self, ids_batch: Sequence[Sequence[int]]) -> list[str]:
        """Decode rows of ids to text, e.g. a model's output.

        Padding and bos ids are skipped and each row ends at its first eos.

        Args:
            ids_batch: Rows of ids: lists, or a 2-D numpy array or tensor.

        Returns:
            One string per row.
        """
        texts = []
        for row in ids_batch:
            ids = []
            for token_id in np.asarray(row).reshape(-1).tolist():
                token_id = int(token_id)
                if token_id == EOS_ID:
                    break
                if token_id in (PAD_ID, BOS_ID):
                    continue
                if not 0 <= token_id < self.vocab_size:
                    raise ValueError(
                        f"Token id {token_id} is outside the vocabulary (size {self.vocab_size}). "
                        "Was this output made with a different tokenizer?"
                    )
                ids.append(token_id)
            texts.append(self._processor.decode(ids))
        return texts

    def pieces(self, ids: Sequence[int]) -> list[str]:
        """Return the piece string of each id, for display."""
        return [self.id_to_piece(token_id) for token_id in np.asarray(ids).reshape(-1).tolist()]

    def id_to_piece(self, token_id: int) -> str:
        """Return the piece string of one id."""
        return self._processor.id_to_piece(int(token_id))

    def __repr__(self) -> str:
        return f"Tokenizer(vocab_size={self.vocab_size})"
