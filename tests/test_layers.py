"""Layers only import downward: every module's imports, read with `ast` (nothing is imported)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Top to bottom. A module may import its own layer and the layers below it, never one above.
# Reading and preparing a corpus sits above the inference facade: loading and using a model never needs it.
LAYERS = (
    ("training", "training textae.training"),
    (
        "interface",
        "app textae.app textae.cli textae.__main__ textae.commands textae.command_inputs textae.export\n"
        " textae.series_commands",
    ),
    ("corpus", "textae.explorer textae.attributes textae.bulk textae.pipeline textae.noise textae.cleaning"),
    ("loading", "textae.data textae.series_data"),
    (
        "inference",
        "textae.autoencoder textae.text_input textae.results textae.correction textae.encoding textae.decoding\n"
        " textae.series"
        " textae.series_bundle",
    ),
    ("search", "textae.beam_search"),  # decoding.py's beam search, in a file of its own
    ("measures", "textae.latent textae.metrics textae.windows"),  # pure NumPy: geometry, metrics, series windows
    ("bundle", "textae.bundle textae.model_card"),
    ("model", "textae.model textae.training_step textae.schedules textae.losses textae.optimizers textae.series_model"),
    ("layers", "textae.recurrent textae.lstm"),
    ("text", "textae.tokenizer"),
    ("base", "textae textae.config textae.examples textae.files textae.kernels textae.quiet textae.series_config"),
)
RANK = {name: rank for rank, (_, names) in enumerate(LAYERS) for name in names.split()}


def layer_of(module: str) -> int | None:
    """The rank of `module`'s layer (0 is the top): its own entry, or its package's."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in RANK:
            return RANK[".".join(parts[:end])]
    return None


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
    """One message per import of a layer above `module`'s own."""
    own = layer_of(module)
    return [
        f"{module} (line {line}) imports {target}, from the {LAYERS[layer_of(target)][0]} layer above its own "
        f"({LAYERS[own][0]})"
        for line, target in imported_modules(source, known)
        if layer_of(target) < own
    ]


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
        ("textae.autoencoder", "from textae.pipeline import pad_batch\n"),  # inference padding from the tf.data module
        ("textae.bundle", "def f():\n    from textae import data\n"),  # a model folder reading the corpus
        ("textae.data", "from textae.cleaning import DataError\n"),  # the loading layer's error from above it
        ("textae.model", "import textae.autoencoder\n"),
        ("textae.tokenizer", "from textae.training import trainer\n"),
    ],
)
def test_the_cut_links_would_be_caught(module, source):
    problems = upward_imports(module, source, set(project_modules()))
    assert len(problems) == 1 and module in problems[0]
