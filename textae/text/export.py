"""A trained model as a TensorFlow SavedModel, for TF Serving or any TensorFlow program without textae.

Signatures (Keras 3 `ExportArchive`):
- `encode(token_ids)`: `(B, T)` int32 right-padded with 0 (`<pad>`), no `<s>`/`</s>` -> `latent` `(B, Z)`.
- `decode(latent)`: greedy decoding with the compiled loop -> `token_ids` `(B, L)` (0 after the end),
  `lengths`, `finished` (emitted `</s>`), `log_probability`.
- `serving_default`: `encode` (TF Serving needs a default signature).

These use only stock TensorFlow ops: `tf.saved_model.load` in a process that imports neither textae nor
`tensorflow_text` loads them, and stock TF Serving serves them.

Opt-in (`text_signatures=True`, `python -m textae export --text-signatures`): `encode_text(text)` and
`reconstruct_text(text)` on raw strings `(B,)`: whitespace collapsed, lower-cased for a lower-casing model,
SentencePiece in the graph (the bundle's own `tokenizer.model`). They need `tensorflow-text` to export, and
a process (or a TF Serving build) with the TensorFlow Text ops to load: the graph then holds
`SentencepieceOp`, which plain TensorFlow does not register, so not even `encode` loads without it. Unlike
`TextAE`, they do not refuse over-long input: a sentence longer than the model's `max_tokens` is encoded
whole, as the model never saw in training.

`tokenizer.model` and `textae_export.json` (special ids, `max_tokens`, `lowercase`, `latent_dim`) are written
beside the SavedModel, so a client can tokenize without `tensorflow-text`.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import keras
import tensorflow as tf

from textae.text import decoding
from textae.text.tokenizer import BOS_ID, EOS_ID, PAD_ID, UNK_ID

INFO_FILE = "textae_export.json"
# RE2 for the characters Python's str.split() splits on: ASCII whitespace, \x1c-\x1f, \x85 and Unicode separators.
WHITESPACE = r"[\s\x{0b}\x{1c}-\x{1f}\x{85}\p{Z}]+"
TOKENIZER_FILE = "tokenizer.model"


def text_signatures_available() -> bool:
    """True when `tensorflow_text` (SentencePiece as a TensorFlow op) imports beside this TensorFlow."""
    if importlib.util.find_spec("tensorflow_text") is None:
        return False
    try:
        import tensorflow_text  # noqa: F401
    except (ImportError, OSError):  # e.g. a build for another TensorFlow: "undefined symbol"
        return False
    return True


TEXT_SIGNATURES_HINT = (
    "--text-signatures needs tensorflow-text beside this TensorFlow (pip install 'tensorflow-text>=2.21.1,<2.22'); "
    "the default export needs only TensorFlow and serves token ids (tokenizer.model is written beside it)."
)


def export(autoencoder, output, max_length: int = 64, text_signatures: bool = False) -> Path:
    """Write `autoencoder` (a `TextAE`) as a SavedModel folder; returns its path.

    Args:
        autoencoder: the loaded model.
        output: the folder to create (it must not exist, or be empty).
        max_length: the most tokens `decode` and `reconstruct_text` emit per sentence.
        text_signatures: also `encode_text`/`reconstruct_text` (SentencePiece in the graph; see the module docstring).

    Raises:
        ValueError: the folder is in use, or text signatures were asked for without `tensorflow-text`.
    """
    output = Path(output)
    if output.exists() and any(output.iterdir()):
        raise ValueError(f"{output} exists and is not empty; choose a new folder for the export.")
    if text_signatures and not text_signatures_available():
        raise ValueError(TEXT_SIGNATURES_HINT)
    model = autoencoder.model
    latent_dim = autoencoder.latent_dim
    greedy = decoding.compiled_decoder(model, decoding.DecodingSettings(max_length=max_length))

    def encode_ids(token_ids):
        mean, _ = model.encode(token_ids, training=False)
        return tf.cast(mean, tf.float32)

    def decode_latent(latent):
        tokens, _, lengths, log_probability, finished = greedy(
            latent, tf.constant(1.0), tf.constant(0), tf.constant(1.0), tf.constant(0.0), tf.constant(0, tf.int64)
        )
        return {"token_ids": tokens, "lengths": lengths, "finished": finished, "log_probability": log_probability}

    archive = keras.export.ExportArchive()
    archive.track(model)
    token_spec = tf.TensorSpec([None, None], tf.int32, name="token_ids")
    latent_spec = tf.TensorSpec([None, latent_dim], tf.float32, name="latent")
    archive.add_endpoint("encode", lambda token_ids: {"latent": encode_ids(token_ids)}, input_signature=[token_spec])
    archive.add_endpoint("decode", decode_latent, input_signature=[latent_spec])
    if text_signatures:
        _add_text_endpoints(archive, autoencoder, encode_ids, decode_latent)
    archive.write_out(str(output), verbose=False)
    shutil.copyfile(autoencoder.path / TOKENIZER_FILE, output / TOKENIZER_FILE)
    info = {
        "latent_dim": latent_dim,
        "max_tokens": autoencoder.max_input_tokens,
        "max_length": max_length,
        "lowercase": bool(autoencoder.config.data.lowercase),
        "special_ids": {"pad": PAD_ID, "unk": UNK_ID, "bos": BOS_ID, "eos": EOS_ID},
        "signatures": ["encode", "decode"] + (["encode_text", "reconstruct_text"] if text_signatures else []),
    }
    (output / INFO_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return output


def _add_text_endpoints(archive, autoencoder, encode_ids, decode_latent) -> None:
    import tensorflow_text

    proto = (autoencoder.path / TOKENIZER_FILE).read_bytes()
    tokenizer = tensorflow_text.SentencepieceTokenizer(model=proto, out_type=tf.int32)
    archive.track(tokenizer)
    lowercase = bool(autoencoder.config.data.lowercase)

    def token_ids(text):
        # As text_input.normalise (Python's str.split): every Unicode whitespace run becomes one space.
        text = tf.strings.regex_replace(text, WHITESPACE, " ")
        text = tf.strings.regex_replace(text, "^ | $", "")
        if lowercase:
            text = tf.strings.lower(text, encoding="utf-8")
        return tokenizer.tokenize(text).to_tensor(default_value=PAD_ID)  # (B, T)

    def encode_text(text):
        return {"latent": encode_ids(token_ids(text))}

    def reconstruct_text(text):
        latent = encode_ids(token_ids(text))
        decoded = decode_latent(latent)
        ragged = tf.RaggedTensor.from_tensor(decoded["token_ids"], lengths=decoded["lengths"])
        return {"text": tokenizer.detokenize(ragged), "latent": latent, "finished": decoded["finished"]}

    text_spec = tf.TensorSpec([None], tf.string, name="text")
    archive.add_endpoint("encode_text", encode_text, input_signature=[text_spec])
    archive.add_endpoint("reconstruct_text", reconstruct_text, input_signature=[text_spec])
