"""A normal install works anywhere: build the wheel, install it beside the installed dependencies, use it elsewhere."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = ("textae", "textae-train", "textae-evaluate", "textae-benchmark", "textae-app")
NOISE = ("absl::InitializeLog", "cuInit", "E0000", "I0000", "oneDNN")  # TensorFlow's C++ start-up lines


def _source_copy(folder: Path) -> Path:
    """What a clone holds for building (setuptools writes build/ and *.egg-info into the tree it builds)."""
    source = folder / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "screenshot.png")
    source.mkdir()
    shutil.copy(REPO / "pyproject.toml", source / "pyproject.toml")
    shutil.copytree(REPO / "textae", source / "textae", ignore=ignore)
    shutil.copytree(REPO / "assets", source / "assets", ignore=ignore)
    return source


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """`(target, environment)`: the wheel installed with --no-deps into a folder of its own."""
    folder = tmp_path_factory.mktemp("packaging")
    wheels = folder / "wheels"
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels)]
    subprocess.run([*build, str(_source_copy(folder))], check=True, capture_output=True, text=True, timeout=300)
    (wheel,) = wheels.glob("textae-*.whl")
    target = folder / "target"
    install = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)]
    subprocess.run(install, check=True, capture_output=True, text=True, timeout=300)
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "PYTHONPATH", "TEXTAE_MODEL")}
    env["PYTHONPATH"] = str(target)  # the installed package, never the checkout
    env["PATH"] = f"{target / 'bin'}{os.pathsep}{env['PATH']}"
    return wheel, target, env


def _run(command, env, cwd, timeout=300):
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def _assert_quiet(result):
    assert result.returncode == 0, result.stderr
    noisy = [line for line in result.stderr.splitlines() if any(marker in line for marker in NOISE)]
    assert not noisy, f"TensorFlow's C++ start-up lines reached the terminal: {noisy}"


@pytest.mark.slow
def test_the_wheel_carries_the_model_and_no_generic_top_level_package(installed):
    wheel, _, _ = installed
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names if not name.startswith("textae-")} == {"textae"}
    for needed in (
        "textae/shipped/model/model.keras",
        "textae/shipped/series_model/model.keras",
        "textae/shipped/corpus/train.txt.gz",
        "textae/app/streamlit_app.py",
        "textae/training/train.py",
    ):
        assert needed in names
    assert wheel.stat().st_size < 50 * 2**20


@pytest.mark.slow
def test_installed_commands_work_from_another_folder_and_stay_quiet(installed, tmp_path):
    _, target, env = installed
    result = _run(["textae", "reconstruct", "A small dog barked."], env, tmp_path)
    _assert_quiet(result)
    assert result.stdout.strip()  # one reconstruction line
    for script in SCRIPTS:
        helped = _run([script, "--help"], env, tmp_path)
        assert helped.returncode == 0 and "usage:" in helped.stdout, (script, helped.stderr)
    assert "usage: textae-train" in _run(["textae-train", "--help"], env, tmp_path).stdout


@pytest.mark.slow
def test_installed_library_loads_the_packaged_model_and_the_env_variable(installed, tmp_path, tiny_bundle):
    _, target, env = installed
    code = (
        "import textae; a = textae.load(); print(a.path); print(a.reconstruct(['The cat sat on the mat.'])[0].output)"
    )
    result = _run([sys.executable, "-c", code], env, tmp_path)
    _assert_quiet(result)
    assert Path(result.stdout.splitlines()[0]).resolve() == (target / "textae" / "shipped" / "model").resolve()
    chosen = _run(
        [sys.executable, "-c", "import textae; print(textae.load().path)"],
        {**env, "TEXTAE_MODEL": str(tiny_bundle)},
        tmp_path,
    )
    assert Path(chosen.stdout.strip()).resolve() == Path(tiny_bundle).resolve(), chosen.stderr
    missing = _run(["textae", "reconstruct", "A dog."], {**env, "TEXTAE_MODEL": str(tmp_path / "nowhere")}, tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.startswith("textae: error: No model folder at") and "TEXTAE_MODEL" in missing.stderr
    assert "Traceback" not in missing.stderr


@pytest.mark.slow
def test_installed_app_script_renders_the_page(installed, tmp_path):
    _, target, env = installed
    script = target / "textae" / "app" / "streamlit_app.py"
    code = (
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({str(script)!r}, default_timeout=120).run()\n"
        "assert not at.exception, at.exception\n"
        "print(at.title[0].value)\n"
    )
    result = _run([sys.executable, "-c", code], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "recurrent text autoencoder" in result.stdout


@pytest.mark.slow
def test_verbose_shows_tensorflow_lines(installed, tmp_path):
    _, _, env = installed
    quiet = _run(["textae", "score", "A dog."], env, tmp_path)
    loud = _run(["textae", "score", "A dog.", "--verbose"], env, tmp_path)
    assert quiet.returncode == loud.returncode == 0, (quiet.stderr, loud.stderr)
    assert len(loud.stderr) > len(quiet.stderr)
    assert any(marker in loud.stderr for marker in NOISE)


def test_quiet_stderr_replays_what_was_hidden_when_the_block_fails(capfd):
    import os

    from textae import quiet

    with quiet.quiet_stderr():
        os.write(2, b"hidden start-up line\n")
    assert "hidden start-up line" not in capfd.readouterr().err
    with pytest.raises(RuntimeError):
        with quiet.quiet_stderr():
            os.write(2, b"why the import failed\n")
            raise RuntimeError("import failed")
    assert "why the import failed" in capfd.readouterr().err
