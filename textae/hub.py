"""Models shared through the Hugging Face Hub: `hf://OWNER/NAME[@REVISION]` in, `push` out.

`resolve("hf://owner/name")` downloads the repository's files with `huggingface_hub.snapshot_download`
(into its usual cache, so the second time costs nothing and works offline) and returns the local folder;
any other string is a local path and comes back unchanged. `push(folder, "owner/name")` uploads a model
folder with `HfApi.upload_folder`, its card becoming the repository's README.md with the YAML front matter
the Hub reads (library, licence, datasets, tags, headline metrics).

Only what an operator names goes through here (`--model`, `textae.load()`, `TEXTAE_MODEL`); the app never
resolves what a visitor types.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from textae import files
from textae.bundle import CARD_FILE, CONFIG_FILE, METRICS_FILE, BundleError, read_json, shipped_model_dir

SCHEME = "hf://"
LOCAL_HINT = "or pass a local model folder instead (download it once with `huggingface-cli download OWNER/NAME`)"


def is_hub_name(path) -> bool:
    return isinstance(path, str) and path.startswith(SCHEME)


def model_folder(path=None):
    """The local folder of the model `path` names: a folder, an `hf://` name, or None for `$TEXTAE_MODEL` (a
    folder or an `hf://` name) and else the shipped text model."""
    if path is None:
        path = os.environ.get(files.MODEL_VARIABLE, "").strip() or shipped_model_dir()
    return resolve(os.fspath(path) if isinstance(path, os.PathLike) else path)


def parse(name: str) -> tuple[str, str | None]:
    """`("owner/name", revision or None)` of `hf://owner/name[@revision]`; ValueError when malformed."""
    repo, _, revision = name[len(SCHEME) :].partition("@")
    parts = repo.split("/")
    if len(parts) != 2 or not all(parts):
        raise ValueError(f"{name!r} is not a Hub model name; write hf://OWNER/NAME or hf://OWNER/NAME@REVISION.")
    return repo, revision or None


def resolve(path) -> str | os.PathLike:
    """A local folder for `path`: `hf://` names are downloaded (or found in the cache); the rest is returned as is.

    Raises:
        BundleError: one line saying what was tried and how to use a local folder instead.
    """
    if not is_hub_name(path):
        return path
    repo, revision = parse(path)
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError

    try:
        return snapshot_download(repo, revision=revision, library_name="textae")
    except RepositoryNotFoundError:
        raise BundleError(
            f"There is no model {repo!r} on the Hugging Face Hub (or it is private); {LOCAL_HINT}."
        ) from None
    except LocalEntryNotFoundError:
        offline = os.environ.get("HF_HUB_OFFLINE", "").strip() not in ("", "0")
        why = "HF_HUB_OFFLINE is set" if offline else "the Hub could not be reached"
        raise BundleError(f"Could not get {path}: {why} and it is not in the local Hub cache; {LOCAL_HINT}.") from None
    except (HfHubHTTPError, OSError, ValueError) as error:
        message = " ".join(str(error).split())[:200]
        raise BundleError(f"Could not get {path} from the Hugging Face Hub ({message}); {LOCAL_HINT}.") from None


def front_matter(folder: Path) -> dict:
    """The Hub's model-card metadata for a model folder: library, licence, datasets, tags, headline metrics."""
    config = read_json(folder / CONFIG_FILE, "model config").get("config", {})
    metrics = read_json(folder / METRICS_FILE, "metrics file") if (folder / METRICS_FILE).is_file() else {}
    task = config.get("task", "text")
    tags = ["textae", "keras", "autoencoder"] + (["time-series", "anomaly-detection"] if task == "timeseries"
                                                 else ["text", "sentence-embeddings"])  # fmt: skip
    meta = {"library_name": "keras", "license": "other", "tags": tags}
    dataset = (config.get("data") or {}).get("dataset") or (config.get("data") or {}).get("source")
    meta["datasets"] = [dataset] if dataset and "/" in str(dataset) and not Path(str(dataset)).exists() else []
    headline = {}
    for section in ("test", "mix_test"):
        figures = metrics.get(section) or {}
        for key in ("exact_match", "bleu", "loss"):
            if isinstance(figures.get(key), (int, float)):
                headline[f"{section}_{key}"] = round(float(figures[key]), 4)
    if headline:
        meta["textae_metrics"] = headline
    return meta


def readme(folder: Path) -> str:
    """The repository's README.md: YAML front matter, then the model card."""
    import yaml

    card = (folder / CARD_FILE).read_text(encoding="utf-8") if (folder / CARD_FILE).is_file() else "# textae model\n"
    # "{repo}" is filled in by push.
    usage = '\n## Use\n\n```python\nimport textae\n\nmodel = textae.load("hf://{repo}")\n```\n'
    return "---\n" + yaml.safe_dump(front_matter(folder), sort_keys=False) + "---\n\n" + card.rstrip() + "\n" + usage


def push(folder, repo: str, *, private: bool = False, token: str | None = None, api=None) -> str:
    """Upload the model folder to the Hub repository `repo` ("owner/name"); returns the commit's URL.

    Args:
        folder: a textae model folder.
        repo: the Hub repository, created when missing.
        private: create it private.
        token: a Hub token (default: the one `huggingface-cli login` stored, or HF_TOKEN).
        api: an `HfApi` (tests pass a stand-in).
    """
    folder = Path(folder)
    if not (folder / CONFIG_FILE).is_file():
        raise BundleError(f"{folder} is not a textae model folder (no {CONFIG_FILE}); pass the folder that holds one.")
    parse(SCHEME + repo)
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi(token=token)
    text = readme(folder).replace("{repo}", repo)
    with tempfile.TemporaryDirectory() as staging:
        staged = Path(staging) / "model"
        shutil.copytree(folder, staged, ignore=shutil.ignore_patterns(".*"))
        (staged / "README.md").write_text(text, encoding="utf-8")
        api.create_repo(repo, private=private, exist_ok=True)
        info = api.upload_folder(repo_id=repo, folder_path=str(staged), commit_message="Upload a textae model")
    return str(getattr(info, "commit_url", info))
