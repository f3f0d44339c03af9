"""Layers only import downward: every module's imports, read with `ast` (nothing is imported)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Top to bottom: the folders are the layers. A module may import its own layer and the layers below it, never one
# above, and never a sibling package of its own layer: text and series never see each other, nor do the app, the
# command line and training.
LAYERS = (
    ("entry points", "app training textae.__main__ textae.app textae.cli textae.training"),
    ("loading", "textae.loading"),  # the one place below the entry points that sees both halves
    ("halves", "textae.text textae.series"),
    ("core", "textae"),
)
RANK = {name: rank for rank, (_, names) in enumerate(LAYERS) for name in names.split()}
# Entry points that are another's thin alias: the checkout's `training` package (textae.training's path), `python -m
# textae` (the command line) and the checkout's app.py (the app's page).
ALLOWED_SIBLINGS = {("training", "textae.training"), ("textae.__main__", "textae.cli"), ("app", "textae.app")}


def owner(module: str) -> str | None:
    """The LAYERS entry `module` belongs to: the longest listed name that is it or its package."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in RANK:
            return ".".join(parts[:end])
    return None


def layer_of(module: str) -> int | None:
    """The rank of `module`'s layer (0 is the top)."""
    found = owner(module)
    return None if found is None else RANK[found]


def project_modules() -> dict[str, Path]:
    files = [ROOT / "app.py", *(ROOT / "textae").rglob("*.py"), *(ROOT / "training").glob("*.py")]
    modules = {}
    for file in files:
        parts = file.relative_to(ROOT).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = file
    return modules


def imported_modules(source: str, known: set[str]) -> list[tuple[int, str]]:
    """`(line, module)` of every import of a project module in `source`, function-level imports included."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from textae import data` imports the module textae.data; `from textae import __version__` the package.
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            found += [(node.lineno, name if name in known else node.module) for name in names]
    return [(line, module) for line, module in found if layer_of(module) is not None]


def upward_imports(module: str, source: str, known: set[str]) -> list[str]:
    """One message per import of a layer above `module`'s own, or of a sibling package of its layer."""
    own, problems = layer_of(module), []
    for line, target in imported_modules(source, known):
        mine, theirs = owner(module), owner(target)
        if layer_of(target) < own:
            problems.append(
                f"{module} (line {line}) imports {target}, from the {LAYERS[layer_of(target)][0]} layer above its "
                f"own ({LAYERS[own][0]})"
            )
        elif layer_of(target) == own and mine != theirs and (mine, theirs) not in ALLOWED_SIBLINGS:
            problems.append(f"{module} (line {line}) imports {target}, a sibling ({theirs}) in its own layer")
    return problems


def test_every_module_has_a_layer():
    missing = [name for name in project_modules() if layer_of(name) is None]
    assert not missing, f"Add these modules to LAYERS in tests/test_layers.py: {', '.join(missing)}"


def test_no_module_imports_a_layer_above_its_own():
    modules = project_modules()
    problems = []
    for module, file in sorted(modules.items()):
        problems += upward_imports(module, file.read_text(encoding="utf-8"), set(modules))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("textae.series.autoencoder", "from textae.text.inputs import InputError\n"),  # a half borrowing the other's
        ("textae.text.bundle", "def f():\n    from textae.series import model\n"),  # even inside a function
        ("textae.bundle", "from textae.text.tokenizer import Tokenizer\n"),  # the core reaching up into a half
        ("textae.text.model", "import textae.loading\n"),
        ("textae.text.tokenizer", "from textae.training import trainer\n"),
        ("textae.cli.text", "from textae.app import render\n"),  # one entry point reaching into another
    ],
)
def test_the_cut_links_would_be_caught(module, source):
    problems = upward_imports(module, source, set(project_modules()))
    assert len(problems) == 1 and module in problems[0]


def test_the_halves_sit_side_by_side_with_matching_names():
    """The same concept has the same file name in both halves."""
    text = {file.stem for file in (ROOT / "textae" / "text").glob("*.py")}
    series = {file.stem for file in (ROOT / "textae" / "series").glob("*.py")}
    assert {"config", "model", "autoencoder", "bundle"} <= text & series
