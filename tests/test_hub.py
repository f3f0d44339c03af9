"""hf://OWNER/NAME models through a local Hugging Face Hub cache (offline, as on these machines), and `push`
through a recording stand-in of HfApi. The Hub itself is never reached from tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from textae import hub
from textae.bundle import BundleError

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def hub_cache(tmp_path, monkeypatch, tiny_bundle):
    """A Hub cache laid out as huggingface_hub lays it out, holding `owner/tiny` at revision main."""
    import huggingface_hub.constants

    cache = tmp_path / "hub"
    repo = cache / "models--owner--tiny"
    shutil.copytree(tiny_bundle, repo / "snapshots" / COMMIT)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    return cache


def test_load_an_hf_name_from_the_hub_cache(hub_cache, tiny_sentences_trained):
    import textae

    model = textae.load("hf://owner/tiny")
    assert str(model.path).startswith(str(hub_cache))
    assert model.reconstruct(tiny_sentences_trained[:1])[0].output == tiny_sentences_trained[0]


def test_the_command_line_takes_an_hf_model(hub_cache, tiny_sentences_trained, capsys):
    from textae.cli import main

    assert main.main(["reconstruct", "--model", "hf://owner/tiny", tiny_sentences_trained[0]]) == 0
    assert tiny_sentences_trained[0] in capsys.readouterr().out


def test_a_model_missing_offline_is_one_clear_line(hub_cache, capsys):
    from textae.cli import main

    with pytest.raises(BundleError, match="HF_HUB_OFFLINE is set and it is not in the local Hub cache"):
        hub.resolve("hf://owner/missing")
    assert main.main(["reconstruct", "--model", "hf://owner/missing", "A sentence."]) == 2
    error = capsys.readouterr().err
    assert "local model folder" in error and "Traceback" not in error
    with pytest.raises(ValueError, match="hf://OWNER/NAME"):
        hub.resolve("hf://just-a-name")


def test_local_paths_are_not_touched():
    assert hub.resolve("runs/x/model") == "runs/x/model"


class RecordingApi:
    """Stands in for huggingface_hub.HfApi: records the calls and what the uploaded folder held."""

    def __init__(self):
        self.calls, self.files = [], {}

    def create_repo(self, repo_id, private=False, exist_ok=False):
        self.calls.append(("create_repo", repo_id, private, exist_ok))

    def upload_folder(self, repo_id, folder_path, commit_message=None):
        self.calls.append(("upload_folder", repo_id))
        self.files = {path.name: path.read_bytes() for path in Path(folder_path).iterdir()}
        return type("CommitInfo", (), {"commit_url": f"https://huggingface.co/{repo_id}/commit/{COMMIT}"})()


def test_push_uploads_the_folder_with_a_hub_readme(tiny_bundle, capsys):
    from textae.cli import hub as hub_commands
    from textae.cli import main

    api = RecordingApi()
    args = main.build_parser().parse_args(["push", str(tiny_bundle), "owner/tiny", "--private"])
    hub_commands.push(args, api=api)
    assert api.calls == [("create_repo", "owner/tiny", True, True), ("upload_folder", "owner/tiny")]
    assert {"model.keras", "tokenizer.model", "config.json", "MODEL_CARD.md", "README.md"} <= set(api.files)
    readme = api.files["README.md"].decode()
    meta = yaml.safe_load(readme.split("---\n")[1])
    assert meta["library_name"] == "keras" and "textae" in meta["tags"] and "text" in meta["tags"]
    assert 'textae.load("hf://owner/tiny")' in readme and "# textae model card" in readme
    assert capsys.readouterr().out.strip().endswith(COMMIT)


def test_push_refuses_a_folder_that_is_not_a_model(tmp_path, capsys):
    from textae.cli import main

    assert main.main(["push", str(tmp_path), "owner/tiny"]) == 2
    assert "is not a textae model folder" in capsys.readouterr().err
