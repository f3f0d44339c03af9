"""Keep TensorFlow's C++ start-up log lines off the terminal.

On a machine without a GPU, importing TensorFlow and finding its devices prints
lines such as `WARNING: All log messages before absl::InitializeLog() is called...`
and `E0000 ... failed call to cuInit: ... CUDA error`, whatever TF_CPP_MIN_LOG_LEVEL
says. A new user reads an `E` line about CUDA as a failure, so every command and
the app start TensorFlow through `start_tensorflow()`, which hides them.
Set TEXTAE_VERBOSE=1, or pass --verbose, to see them.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile

VARIABLE = "TEXTAE_VERBOSE"
VERBOSE_HELP = f"show TensorFlow's C++ start-up log lines (also: {VARIABLE}=1)"


def verbose_requested(argv: list[str] | None = None) -> bool:
    """True when TEXTAE_VERBOSE is set (to anything but 0) or `--verbose` is among the command's arguments."""
    argv = sys.argv[1:] if argv is None else argv
    return os.environ.get(VARIABLE, "0").strip() not in ("", "0") or "--verbose" in argv


@contextlib.contextmanager
def quiet_stderr():
    """Send file descriptor 2 to a temporary file: TensorFlow's C++ logs ignore TF_CPP_MIN_LOG_LEVEL and sys.stderr.

    What was written there is replayed on the real stderr if the block raises (so a failed import still shows
    TensorFlow's own message), and dropped otherwise. A Python exception raised inside reaches the terminal as
    usual: it is printed after the block restores stderr. Where fd 2 cannot be duplicated (closed, or no
    stderr at all), the block runs unchanged.
    """
    try:
        if sys.stderr is not None:
            sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    captured = tempfile.TemporaryFile()
    os.dup2(captured.fileno(), 2)
    try:
        yield
    except BaseException:
        os.dup2(saved, 2)
        captured.seek(0)
        os.write(2, captured.read())
        raise
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        captured.close()


def unless_verbose(argv: list[str] | None = None):
    """`quiet_stderr()`, or a block that changes nothing when --verbose or TEXTAE_VERBOSE asks for the logs."""
    return contextlib.nullcontext() if verbose_requested(argv) else quiet_stderr()


def start_tensorflow(argv: list[str] | None = None) -> None:
    """Import TensorFlow and list its devices (where the start-up lines are printed), quietly unless verbose.

    Call it before anything imports TensorFlow; once TensorFlow is imported it does nothing.
    """
    if "tensorflow" in sys.modules:
        return
    if verbose_requested(argv):
        import tensorflow  # noqa: F401

        return
    # Later C++ lines too (XLA compiles, oneDNN fallbacks logged as E); real failures still raise Python errors.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with quiet_stderr():
        import tensorflow as tf

        tf.config.list_physical_devices()
