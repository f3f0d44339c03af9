"""`python -m textae export`: a SavedModel that TensorFlow alone loads, giving TextAE's answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from textae.text import decoding, export

# Runs in a fresh interpreter that never imports textae (only TensorFlow, and tensorflow_text for its op).
CHILD = r"""
import json, sys
import tensorflow as tf
if "--text" in sys.argv:
    import tensorflow_text  # noqa: F401  (registers the SentencePiece op the text signatures use)
loaded = tf.saved_model.load(sys.argv[1])
request = json.loads(sys.stdin.read())
result = {"latent": loaded.encode(tf.constant(request["ids"], tf.int32))["latent"].numpy().tolist()}
decoded = loaded.decode(tf.constant(request["latents"], tf.float32))
result["token_ids"] = decoded["token_ids"].numpy().tolist()
result["lengths"] = decoded["lengths"].numpy().tolist()
if "--text" in sys.argv:
    result["text_latent"] = loaded.encode_text(tf.constant(request["texts"]))["latent"].numpy().tolist()
    result["text"] = [t.decode() for t in loaded.reconstruct_text(tf.constant(request["texts"]))["text"].numpy()]
result["textae_imported"] = any(name.split(".")[0] == "textae" for name in sys.modules)
result["tensorflow_text_imported"] = "tensorflow_text" in sys.modules
print(json.dumps(result))
"""


@pytest.fixture(scope="module")
def exported(tiny_bundle, tmp_path_factory):
    import textae

    autoencoder = textae.load(tiny_bundle)
    return autoencoder, export.export(autoencoder, tmp_path_factory.mktemp("export") / "saved", max_length=20)


@pytest.fixture(scope="module")
def exported_with_text(tiny_bundle, tmp_path_factory):
    import textae

    if not export.text_signatures_available():
        pytest.skip("tensorflow-text is not installed: the opt-in text signatures cannot be written")
    autoencoder = textae.load(tiny_bundle)
    folder = tmp_path_factory.mktemp("export_text") / "saved"
    return autoencoder, export.export(autoencoder, folder, max_length=20, text_signatures=True)


@pytest.mark.parametrize("text", [False, True], ids=["stock-tensorflow", "text-signatures"])
def test_a_fresh_process_without_textae_gets_the_same_vectors_and_decodings(
    request, text, tiny_sentences_trained
):  # fmt: skip
    """The default export loads where only TensorFlow is imported (no textae, no tensorflow_text): the process
    stock TF Serving is. The opt-in export is loaded with tensorflow_text imported, for its SentencePiece op."""
    autoencoder, path = request.getfixturevalue("exported_with_text" if text else "exported")
    texts = [
        tiny_sentences_trained[0],
        "  The cat   saw a red ball. ",
        "The\u00a0cat saw\u2003a red ball.",
        tiny_sentences_trained[5],
    ]
    ids = autoencoder.tokenizer.encode(autoencoder.check_texts(texts))
    padded = np.zeros((len(ids), max(map(len, ids))), np.int32)
    for row, sentence in enumerate(ids):
        padded[row, : len(sentence)] = sentence
    vectors = autoencoder.encode(texts)
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    request = {"ids": padded.tolist(), "latents": vectors.tolist(), "texts": texts}
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), *(["--text"] if text else [])],
        input=json.dumps(request), capture_output=True, text=True, timeout=300, env=environment, cwd=path.parent,
    )  # fmt: skip
    assert child.returncode == 0, child.stderr[-3000:]
    result = json.loads(child.stdout.strip().splitlines()[-1])
    assert result["textae_imported"] is False and result["tensorflow_text_imported"] is text
    np.testing.assert_allclose(result["latent"], vectors, atol=1e-5)
    expected = decoding.decode(autoencoder.model, vectors, decoding.DecodingSettings(max_length=20))
    assert result["lengths"] == expected.lengths.tolist()
    for row, length in enumerate(expected.lengths):
        assert result["token_ids"][row][:length] == expected.tokens[row, :length].tolist()
    if text:  # SentencePiece inside the graph: the same ids, so the same vectors and reconstructions
        np.testing.assert_allclose(result["text_latent"], vectors, atol=1e-5)
        assert result["text"] == [
            r.output for r in autoencoder.reconstruct(texts, decoding.DecodingSettings(max_length=20))
        ]


def test_the_export_carries_its_tokenizer_and_description(exported):
    autoencoder, path = exported
    info = json.loads((path / export.INFO_FILE).read_text(encoding="utf-8"))
    assert info["latent_dim"] == autoencoder.latent_dim and info["special_ids"]["pad"] == 0
    assert (path / "tokenizer.model").read_bytes() == (autoencoder.path / "tokenizer.model").read_bytes()
    assert (path / "saved_model.pb").is_file()
    assert info["signatures"] == ["encode", "decode"]  # stock ops only, unless asked


def test_text_signatures_without_tensorflow_text_are_refused_with_the_way_out(exported, tmp_path, monkeypatch):
    autoencoder, _ = exported
    monkeypatch.setattr(export, "text_signatures_available", lambda: False)
    with pytest.raises(ValueError, match="needs tensorflow-text"):
        export.export(autoencoder, tmp_path / "saved", text_signatures=True)
    assert not (tmp_path / "saved").exists()


def test_export_refuses_a_folder_in_use(exported, tmp_path):
    autoencoder, _ = exported
    (tmp_path / "x.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not empty"):
        export.export(autoencoder, tmp_path)
    assert (tmp_path / "x.txt").read_text() == "keep me"
