"""Model folders: round trip, atomic replacement, and an error for each way a folder can be broken."""

import json
import shutil

import numpy as np
import pytest

from textae import bundle as core_bundle
from textae import files
from textae.text import bundle
from textae.text.bundle import BundleError, load_bundle, save_bundle


@pytest.fixture
def broken_copy(tiny_bundle, tmp_path):
    """A private copy of the tiny bundle that a test may damage."""
    copy = tmp_path / "model"
    shutil.copytree(tiny_bundle, copy)
    return copy


def test_round_trip_keeps_outputs(tiny_bundle, tmp_path, tiny_sentences_trained):
    first = load_bundle(tiny_bundle)
    tokens = np.array([first.tokenizer.encode(tiny_sentences_trained[0])[0]], np.int32)
    before = first.model.encode(tokens)[0].numpy()
    saved = save_bundle(tmp_path / "again", first.model, first.tokenizer, first.config, metrics={"x": np.float32(0.5)})
    second = load_bundle(saved)
    np.testing.assert_array_equal(second.model.encode(tokens)[0].numpy(), before)
    assert second.config == first.config
    assert second.metrics == {"x": 0.5}
    assert second.tokenizer.to_bytes() == first.tokenizer.to_bytes()
    assert "# textae model card" in second.card and "latent_dim" in second.card
    header = json.loads((saved / "config.json").read_text())
    assert header["format_version"] == bundle.FORMAT_VERSION and header["created"] and header["textae_version"]


def test_save_replaces_and_leaves_no_temporary_folders(tiny_bundle, tmp_path):
    loaded = load_bundle(tiny_bundle)
    target = tmp_path / "model"
    save_bundle(target, loaded.model, loaded.tokenizer, loaded.config, card="first")
    save_bundle(target, loaded.model, loaded.tokenizer, loaded.config, card="second", extra_files={"notes.txt": b"hi"})
    assert load_bundle(target).card == "second"
    assert (target / "notes.txt").read_bytes() == b"hi"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model"]


def test_failed_save_keeps_the_old_folder(tiny_bundle, tmp_path, monkeypatch):
    loaded = load_bundle(tiny_bundle)
    target = tmp_path / "model"
    save_bundle(target, loaded.model, loaded.tokenizer, loaded.config, card="good")
    real_write = files.write_synced

    def write_then_crash(file, data):
        real_write(file, data[: len(data) // 2])
        raise OSError("disk full")

    monkeypatch.setattr(files, "write_synced", write_then_crash)
    with pytest.raises(OSError, match="disk full"):
        save_bundle(target, loaded.model, loaded.tokenizer, loaded.config, card="bad")
    monkeypatch.undo()
    assert load_bundle(target).card == "good"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model"]


def test_failed_rename_puts_the_old_folder_back(tiny_bundle, tmp_path, monkeypatch):
    loaded = load_bundle(tiny_bundle)
    target = tmp_path / "model"
    save_bundle(target, loaded.model, loaded.tokenizer, loaded.config, card="good")
    real_rename = core_bundle.os.rename

    def rename(source, destination):
        if ".tmp-" in str(source):  # moving the new folder into place
            raise OSError("crash while swapping")
        real_rename(source, destination)

    monkeypatch.setattr(core_bundle.os, "rename", rename)
    with pytest.raises(OSError, match="swapping"):
        save_bundle(target, loaded.model, loaded.tokenizer, loaded.config, card="bad")
    monkeypatch.undo()
    assert load_bundle(target).card == "good"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model"]


def test_package_exports():
    import textae
    from textae.text.autoencoder import TextAE

    assert textae.TextAE is TextAE and callable(textae.load)
    assert {"Config", "ModelConfig", "TextAutoencoder", "Tokenizer"} <= set(dir(textae))


def test_latents_round_trip(broken_copy):
    assert load_bundle(broken_copy).load_latents() is None
    bundle.save_latents(broken_copy, ["a b.", "ç d!"], np.ones((2, 3)))
    sentences, vectors = load_bundle(broken_copy).load_latents()
    assert sentences == ["a b.", "ç d!"] and vectors.dtype == np.float32 and vectors.shape == (2, 3)


def test_missing_folder(tmp_path):
    with pytest.raises(BundleError, match="No model folder.*training.train"):
        load_bundle(tmp_path / "nowhere")


def test_missing_folder_points_at_an_interrupted_save(tmp_path):
    (tmp_path / ".model.old-1234").mkdir()
    with pytest.raises(BundleError, match="interrupted save"):
        load_bundle(tmp_path / "model")


@pytest.mark.parametrize("name", ["model.keras", "tokenizer.model", "config.json"])
def test_missing_file(broken_copy, name):
    (broken_copy / name).unlink()
    with pytest.raises(BundleError, match=name):
        load_bundle(broken_copy)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("model.keras", b"not a zip archive", "model.keras"),
        ("tokenizer.model", b"\x00garbage", "tokenizer.model"),
        ("config.json", b"{not json", "not valid JSON"),
        ("metrics.json", b"[1, 2", "not valid JSON"),
    ],
)
def test_corrupt_file(broken_copy, name, content, message):
    (broken_copy / name).write_bytes(content)
    with pytest.raises(BundleError, match=message):
        load_bundle(broken_copy)


def test_unknown_format_version(broken_copy):
    header = json.loads((broken_copy / "config.json").read_text())
    header["format_version"] = 99
    (broken_copy / "config.json").write_text(json.dumps(header))
    with pytest.raises(BundleError, match="format_version 99"):
        load_bundle(broken_copy)


def test_invalid_config(broken_copy):
    header = json.loads((broken_copy / "config.json").read_text())
    header["config"]["model"]["hidden_units"] = 3
    (broken_copy / "config.json").write_text(json.dumps(header))
    with pytest.raises(BundleError, match="hidden_units"):
        load_bundle(broken_copy)


def test_model_card_lists_metrics_and_notes(tiny_bundle):
    loaded = load_bundle(tiny_bundle)
    card = bundle.render_model_card(loaded.config, {"test": {"exact_match": 0.91234}}, notes="Trained on a laptop.")
    assert "| test.exact_match | 0.9123 |" in card
    assert "Trained on a laptop." in card and "python -m training.train" in card


def test_default_model_dir_is_the_variable_else_the_shipped_model(monkeypatch, tmp_path):
    monkeypatch.delenv("TEXTAE_MODEL", raising=False)
    assert bundle.default_model_dir().parts[-2:] == ("assets", "model")  # a checkout
    monkeypatch.setenv("TEXTAE_MODEL", str(tmp_path))
    assert bundle.default_model_dir() == tmp_path
    assert bundle.shipped_model_dir().parts[-2:] == ("assets", "model")  # what ship and the app call shipped


def test_shipped_files_come_from_the_package_when_it_carries_them(monkeypatch, tmp_path):
    from textae import files

    monkeypatch.setattr(files, "PACKAGE_DIR", tmp_path / "textae")
    monkeypatch.setattr(files, "CHECKOUT_DIR", tmp_path)
    assert files.shipped("model") == tmp_path / "assets" / "model"
    (tmp_path / "textae" / "shipped").mkdir(parents=True)
    assert files.shipped("model") == tmp_path / "textae" / "shipped" / "model"


def test_a_missing_model_says_what_to_pass(tmp_path):
    with pytest.raises(bundle.BundleError, match="TEXTAE_MODEL"):
        bundle.load_bundle(tmp_path / "nowhere")
