"""Encoding whole datasets in chunks: row order, NaN rows for bad inputs, .npy, Parquet and a saved dataset."""

from __future__ import annotations

import numpy as np
import pytest

from textae.text import bulk


@pytest.fixture(scope="module")
def autoencoder(tiny_bundle):
    import textae

    return textae.load(tiny_bundle)


def _inputs(sentences):
    texts = list(sentences[:9])
    texts.insert(4, "the cat " * 40)  # too many tokens for the model
    return texts


def test_a_file_larger_than_a_chunk_keeps_row_order(autoencoder, tiny_sentences_trained, tmp_path):
    texts = _inputs(tiny_sentences_trained)
    done = []
    report = bulk.encode_to_file(
        autoencoder, iter(texts), len(texts), tmp_path / "v.npy", chunk=3, progress=done.append
    )
    vectors = np.load(tmp_path / "v.npy")
    assert vectors.shape == (10, autoencoder.latent_dim) and done == [3, 3, 3, 1]
    assert report.count == 10 and [index for index, _ in report.failed] == [4]
    assert "tokens long" in report.failed[0][1] and np.isnan(vectors[4]).all()
    good = [i for i in range(10) if i != 4]
    np.testing.assert_allclose(vectors[good], autoencoder.encode([texts[i] for i in good]), atol=1e-5)
    assert [path.name for path in tmp_path.iterdir()] == ["v.npy"]  # no temporary file left


def test_parquet_holds_row_text_and_vector(autoencoder, tiny_sentences_trained, tmp_path):
    import pyarrow.parquet as pq

    texts = _inputs(tiny_sentences_trained)
    bulk.encode_to_file(autoencoder, texts, len(texts), tmp_path / "v.parquet", chunk=4)
    table = pq.read_table(tmp_path / "v.parquet")
    assert table.column("row").to_pylist() == list(range(10)) and table.column("text").to_pylist() == texts
    vectors = np.array(table.column("vector").to_pylist(), np.float32)
    np.testing.assert_allclose(vectors[0], autoencoder.encode(texts[:1])[0], atol=1e-5)
    assert np.isnan(vectors[4]).all()


def test_a_failed_job_leaves_no_output(autoencoder, tiny_sentences_trained, tmp_path):
    def broken():
        yield from tiny_sentences_trained[:3]
        raise OSError("the disk went away")

    with pytest.raises(OSError, match="disk went away"):
        bulk.encode_to_file(autoencoder, broken(), 5, tmp_path / "v.npy", chunk=2)
    with pytest.raises(ValueError, match="5 inputs were announced but 3 were given"):
        bulk.encode_to_file(autoencoder, tiny_sentences_trained[:3], 5, tmp_path / "v.npy")
    assert list(tmp_path.iterdir()) == []


def test_a_dataset_gets_a_vector_column_beside_its_rows(autoencoder, tiny_sentences_trained, tmp_path):
    import datasets

    texts = _inputs(tiny_sentences_trained)
    loaded = datasets.Dataset.from_dict({"text": texts, "label": list(range(10))})
    _, failed = bulk.encode_dataset(autoencoder, loaded, "text", tmp_path / "saved", chunk=4)
    saved = datasets.load_from_disk(str(tmp_path / "saved"))
    assert saved.column_names == ["text", "label", "vector"] and saved["label"] == list(range(10))
    vectors = np.array(saved["vector"], np.float32)
    np.testing.assert_allclose(vectors[[0, 9]], autoencoder.encode([texts[0], texts[9]]), atol=1e-5)
    assert np.isnan(vectors[4]).all() and [index for index, _ in failed] == [4]
    with pytest.raises(ValueError, match="already has a column 'vector'"):
        bulk.encode_dataset(autoencoder, saved, "text", tmp_path / "again")


@pytest.mark.parametrize("suffix", [".npy", ".parquet"])
def test_memory_stays_bounded_as_the_input_grows(autoencoder, tiny_sentences_trained, tmp_path, suffix):
    """Ten times the sentences, the same peak of Python memory: nothing grows with N but the output file."""
    import tracemalloc

    def peak(count: int) -> int:
        texts = (tiny_sentences_trained[i % len(tiny_sentences_trained)] for i in range(count))  # never a list
        tracemalloc.start()
        try:
            bulk.encode_to_file(autoencoder, texts, count, tmp_path / f"{count}{suffix}", chunk=256)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    peak(512)  # compile the encoder's graphs and warm the caches first
    small, large = peak(2_000), peak(20_000)
    assert large < 1.5 * small + 2**20, (
        f"peak {small / 2**20:.1f} MiB for 2,000 sentences, {large / 2**20:.1f} for 20,000"
    )


def test_an_already_checked_batch_is_encoded_without_a_second_check(tiny_bundle, tiny_sentences_trained, monkeypatch):
    """`bulk` and the CLI check the lines once and hand the `Checked` batch on (issue #22: bulk re-did
    TextAE.encode by reaching into the model)."""
    import numpy as np

    import textae
    from textae.text import inputs

    autoencoder = textae.load(tiny_bundle)
    lines = [tiny_sentences_trained[0], "", tiny_sentences_trained[1]]
    checked = autoencoder.check(lines, errors="skip")
    monkeypatch.setattr(inputs, "check", lambda *args, **kwargs: pytest.fail("checked twice"))
    vectors = autoencoder.encode(checked, errors="skip")
    assert np.isnan(vectors[1]).all() and np.isfinite(vectors[[0, 2]]).all()
    with pytest.raises(inputs.InputError, match="empty"):
        autoencoder.encode(checked)
