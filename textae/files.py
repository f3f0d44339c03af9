"""Where textae's files are, and durable writes: after a crash or a power loss, readers see the old file or the new one.

The shipped model, corpus and attribute pairs live in `assets/` in a checkout; an
installed package (wheel, `pip install .`) carries the same folder as `textae/shipped/`.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
CHECKOUT_DIR = PACKAGE_DIR.parent  # the repository, when textae runs from a checkout or an editable install
MODEL_VARIABLE = "TEXTAE_MODEL"  # a model folder to use when no path is given


def shipped(*parts: str) -> Path:
    """A shipped file or folder: `textae/shipped/...` in an installed package, else `<checkout>/assets/...`."""
    packaged = PACKAGE_DIR / "shipped"
    return (packaged if packaged.is_dir() else CHECKOUT_DIR / "assets").joinpath(*parts)


def working_dir() -> Path:
    """Where relative paths such as `runs` are taken from: the current folder, as `textae-train` writes there."""
    return Path.cwd()


def sync_file(path: str | os.PathLike) -> None:
    """Flush a written file's data to disk."""
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def sync_directory(path: str | os.PathLike) -> None:
    """Flush a folder's entries (files created, renamed or removed in it) to disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_synced(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `path` and flush it to disk (for files in a folder that is renamed into place later)."""
    path = Path(path)
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return path


def write_atomic(path: str | os.PathLike, data: bytes, mode: int = 0o644) -> Path:
    """Write `data` to a temporary file beside `path`, sync it, rename it over `path`, then sync the folder.

    Args:
        path: the file to create or replace; its folder must exist.
        data: the whole new content.
        mode: permission bits of the new file (a temporary file starts private).
    """
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    sync_directory(path.parent)  # the rename itself is durable only once the folder is synced
    return path
