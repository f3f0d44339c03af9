"""The Streamlit app through `AppTest`, on a copy of the tiny trained bundle."""

import shutil
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from textae.app import inputs, models, render
from textae.text import examples
from textae.text.bundle import save_latents

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture(scope="module")
def app_bundle(tiny_bundle, tiny_sentences, tmp_path_factory) -> Path:
    """A copy of `tiny_bundle` with cached corpus latents (the shared one must stay as it is)."""
    import textae

    path = tmp_path_factory.mktemp("app") / "tiny" / "model"
    shutil.copytree(tiny_bundle, path)
    save_latents(path, tiny_sentences, textae.load(path).encode(tiny_sentences))
    return path


@pytest.fixture
def app(app_bundle, tmp_path, monkeypatch) -> AppTest:
    """The app, run once, offering only the tiny model."""
    monkeypatch.setenv(models.MODEL_DIRS_VARIABLE, str(app_bundle))
    monkeypatch.setenv(models.RUNS_DIR_VARIABLE, str(tmp_path / "no-runs"))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def _submit(at: AppTest, label: str) -> AppTest:
    next(button for button in at.button if button.label == label).click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def _markdown(at: AppTest) -> str:
    return "\n".join(element.value for element in at.markdown)


def test_opens_on_the_model_with_title_and_tabs(app):
    assert "recurrent text autoencoder" in app.title[0].value
    assert [tab.label for tab in app.tabs] == ["Reconstruct", "Interpolate", "Arithmetic", "Explore", "Sample"]
    assert app.selectbox(key="model_label").options == [str(models._resolve(app.selectbox(key="model_label").value))]
    assert not app.warning and not app.error


def test_reconstruct_shows_the_reconstruction(app, tiny_sentences_trained):
    sentence = tiny_sentences_trained[0]
    app.text_area(key="reconstruct_text").input(f"{sentence}\n\n{tiny_sentences_trained[1]}")
    _submit(app, "Reconstruct")
    shown = _markdown(app)
    assert f"**Reconstruction** &nbsp; {render.escape(sentence)}" in shown  # trained sentences come back exactly
    assert shown.count("**Input**") == 2
    captions = [caption.value for caption in app.caption]
    assert sum("exact match" in c and "BLEU 100.0" in c and "anomaly score" in c for c in captions) == 2
    assert any("Anomaly score" in caption for caption in captions)


def test_example_button_fills_in_and_reconstructs(app):
    app.button(key="example_0").click().run()
    assert not app.exception
    first = examples.EVERYDAY[0]
    assert app.text_area(key="reconstruct_text").value == first
    assert f"**Input** &nbsp; {render.escape(first)}" in _markdown(app)


@pytest.mark.parametrize(
    "text, message",
    [
        ("   \n  ", "at least one sentence"),
        ("a" * 501, "characters; the limit is 500"),
        ("the " * 120, "tokens long"),
        ("Привет, как дела?", "non-Latin script"),
        ("The cat 😀 sat.", "emoji"),
        ("\n".join(["A sentence."] * 25), "at most 20"),
    ],
)
def test_bad_input_gets_a_friendly_warning(app, text, message):
    app.text_area(key="reconstruct_text").input(text)
    _submit(app, "Reconstruct")
    assert any(message in warning.value for warning in app.warning), [w.value for w in app.warning]
    assert "**Reconstruction**" not in _markdown(app)


def test_decoding_settings_apply_to_reconstruction(app, tiny_sentences_trained, monkeypatch):
    """The sidebar's method reaches TextAE.reconstruct (greedy would give the same sentence back, so the
    settings it was called with are what is checked)."""
    from textae.text.autoencoder import TextAE

    used, original = [], TextAE.reconstruct
    monkeypatch.setattr(TextAE, "reconstruct", lambda self, texts, settings=None, **kw: used.append(settings)
                        or original(self, texts, settings, **kw))  # fmt: skip
    app.radio(key="decoding_method").set_value("beam")
    _submit(app, "Apply")
    app.text_area(key="reconstruct_text").input(tiny_sentences_trained[2])
    _submit(app, "Reconstruct")
    assert f"**Reconstruction** &nbsp; {render.escape(tiny_sentences_trained[2])}" in _markdown(app)
    assert used and used[-1].method == "beam"


def test_interpolate_lists_the_steps_and_draws_the_distances(app, tiny_sentences_trained):
    app.text_input(key="interpolate_a").input(tiny_sentences_trained[0])
    app.text_input(key="interpolate_b").input(tiny_sentences_trained[1])
    app.slider(key="interpolate_steps").set_value(5)
    app.radio(key="interpolate_method").set_value("lerp")
    _submit(app, "Interpolate")
    table = next(value for value in (m.value for m in app.markdown) if value.startswith("<table"))
    assert table.count("<tr>") == 1 + 5  # header and steps
    assert render.escape(tiny_sentences_trained[0]) in table and render.escape(tiny_sentences_trained[1]) in table
    assert app.get("plotly_chart")


def test_interpolate_with_an_empty_end_warns(app):
    app.text_input(key="interpolate_b").input("  ")
    _submit(app, "Interpolate")
    assert any("second sentence" in warning.value for warning in app.warning)


@pytest.mark.parametrize("method", ["PCA", "t-SNE"])
def test_explore_draws_the_map_and_lists_neighbours(app, tiny_sentences_trained, method):
    app.selectbox(key="explore_method").set_value(method)
    app.text_input(key="explore_query").input(tiny_sentences_trained[3])
    app.slider(key="explore_k").set_value(3)
    _submit(app, "Draw the map")
    assert app.get("plotly_chart")
    shown = _markdown(app)
    assert "Nearest neighbours of" in shown
    assert f"1. {render.escape(tiny_sentences_trained[3])} — `1.000`" in shown  # the corpus holds the query itself


def test_sample_around_a_sentence(app, tiny_sentences_trained):
    app.text_input(key="sample_around").input(tiny_sentences_trained[4])
    app.slider(key="sample_count").set_value(4)
    _submit(app, "Sample")
    listing = next(m.value for m in app.markdown if m.value.startswith("1. "))
    assert listing.count("\n") == 3
    assert not any("from the prior" in option for option in app.radio(key="sample_source").options)  # deterministic


def test_no_model_shows_how_to_train_one(tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv(models.MODEL_DIRS_VARIABLE, str(tmp_path / "empty"))
    monkeypatch.setenv(models.RUNS_DIR_VARIABLE, str(tmp_path / "empty"))
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception and not at.error
    assert any("python -m training.train" in info.value for info in at.info)
    assert not at.tabs


def test_a_broken_model_folder_shows_a_one_line_error(tmp_path, monkeypatch):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    (broken / "model.keras").write_bytes(b"")
    (broken / "tokenizer.model").write_bytes(b"")
    monkeypatch.setenv(models.MODEL_DIRS_VARIABLE, str(broken))
    monkeypatch.setenv(models.RUNS_DIR_VARIABLE, str(tmp_path / "none"))
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    assert "not valid JSON" in at.error[0].value
    assert any("training.train" in info.value for info in at.info)


def test_discover_models_offers_only_complete_folders(app_bundle, tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(app_bundle, runs / "first" / "model")
    (runs / "unfinished" / "model").mkdir(parents=True)
    (runs / "unfinished" / "model" / "config.json").write_text("{}")
    environ = {models.MODEL_DIRS_VARIABLE: f"{app_bundle}:{tmp_path / 'missing'}", models.RUNS_DIR_VARIABLE: str(runs)}
    found = models.discover_models(environ)
    assert list(found.values()) == [app_bundle.resolve(), (runs / "first" / "model").resolve()]
    assert list(found)[1] == str((runs / "first" / "model").resolve())


@pytest.mark.parametrize(
    "text, expected",
    [("Café au lait, naïve.", None), ("Ωmega", "Greek"), ("今日は", "Cjk"), ("ok 👍", "emoji"), ("★", "emoji")],
)
def test_script_problem(text, expected):
    problem = inputs.script_problem(text)
    assert problem is None if expected is None else expected in problem


def test_word_diff_and_escape():
    diff, changed = render.word_diff("the cat sat on the mat", "the dog sat the mat")
    assert changed == 2 and ">dog</span>" in diff and "line-through" in diff
    assert render.word_diff("same words", "same words") == ("same words", 0)
    assert render.escape("<b>$5 *x*</b>") == "&#60;b&#62;&#36;5 &#42;x&#42;&#60;/b&#62;"


def test_explore_without_cached_latents_encodes_the_shipped_corpus(tiny_bundle, tmp_path, monkeypatch):
    monkeypatch.setenv(models.MODEL_DIRS_VARIABLE, str(tiny_bundle))
    monkeypatch.setenv(models.RUNS_DIR_VARIABLE, str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=120).run()
    _submit(at, "Draw the map")
    figure = at.get("plotly_chart")[0].proto.spec
    assert figure.count('"text"') >= 1 and "Nearest neighbours" not in _markdown(at)
    autoencoder = models.load_autoencoder(str(tiny_bundle), models.bundle_key(tiny_bundle))
    sentences, vectors = models.corpus_latents(autoencoder, models.bundle_key(tiny_bundle))
    assert 1000 <= len(sentences) <= models.CORPUS_SIZE and vectors.shape == (len(sentences), 16)


def test_metrics_panel_charts_reconstruction_by_length(app_bundle, tmp_path, monkeypatch):
    import json

    from test_plots import _by_length

    path = tmp_path / "charted" / "model"
    shutil.copytree(app_bundle, path)
    metrics = {"test": {"exact_match": 0.5, "by_length": _by_length()}, "training": {"epochs": 3}}
    # Sorted keys, as bundles write metrics.json: "9-16" comes after "33-48" there.
    (path / "metrics.json").write_text(json.dumps(metrics, sort_keys=True), encoding="utf-8")
    monkeypatch.setenv(models.MODEL_DIRS_VARIABLE, str(path))
    monkeypatch.setenv(models.RUNS_DIR_VARIABLE, str(tmp_path / "no-runs"))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    texts = [element.value for element in at.sidebar.markdown]
    assert any("Reconstruction by sentence length" in text and "test split" in text for text in texts)
    charts = at.get("plotly_chart")
    assert charts, "no chart in the Metrics panel"
    figure = json.loads(charts[0].proto.spec)
    assert figure["data"][0]["x"] == ["1–8", "9–16", "17–24", "25–32"]  # the empty 33–48 bucket is left out
    assert any("| test.exact_match | 0.5 |" in text for text in texts)  # the flat figures stay, by_length not
    assert not any("by_length" in text for text in texts)


def test_a_replaced_model_folder_is_loaded_again(tiny_bundle, tiny_sentences_trained, tmp_path, monkeypatch):
    """Training replaces runs/*/model after every epoch: the next run of the script must use the new model."""
    import keras

    from textae.text.bundle import load_bundle, save_bundle
    from textae.text.model import TextAutoencoder

    path = tmp_path / "run" / "model"
    shutil.copytree(tiny_bundle, path)
    monkeypatch.setenv(models.MODEL_DIRS_VARIABLE, str(path))
    monkeypatch.setenv(models.RUNS_DIR_VARIABLE, str(tmp_path / "no-runs"))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    sentence = tiny_sentences_trained[0]
    at.text_area(key="reconstruct_text").input(sentence)
    _submit(at, "Reconstruct")
    assert f"**Reconstruction** &nbsp; {render.escape(sentence)}" in _markdown(at)

    old = load_bundle(path)
    keras.utils.set_random_seed(1)
    untrained = TextAutoencoder(old.model.model_config)  # same shapes, weights that reconstruct nothing
    save_bundle(path, untrained, old.tokenizer, old.config, card="# A replaced model")
    at.run()  # the same request, as after a rerun the visitor did not ask for
    assert not at.exception, at.exception
    assert f"**Reconstruction** &nbsp; {render.escape(sentence)}" not in _markdown(at)
    assert "A replaced model" in _markdown(at)  # the model card in the sidebar is the new model's too


def test_arithmetic_moves_the_example_along_the_shipped_pair(app):
    assert app.selectbox(key="arithmetic_pair").value == "tense"
    assert app.text_area(key="arithmetic_a").value.count("\n") >= 199  # the shipped group, pre-filled
    assert app.text_input(key="arithmetic_sentence").value
    _submit(app, "Move")
    shown = _markdown(app)
    assert shown.count("<tr><td") == 5  # strength 0 (the reconstruction) up to the chosen one
    assert "+0.00" in shown and "+2.00" in shown


def test_arithmetic_with_a_group_the_model_cannot_take_warns(app):
    app.text_area(key="arithmetic_b").input("   ")
    next(button for button in app.button if button.label == "Move").click().run()
    assert not app.exception
    assert any("group B" in warning.value for warning in app.warning)


def test_choosing_another_pair_fills_in_its_groups(app):
    app.selectbox(key="arithmetic_pair").select("negation").run()
    assert not app.exception
    assert "is not" in app.text_area(key="arithmetic_b").value.splitlines()[0]
