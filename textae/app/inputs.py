"""Checking what a visitor typed, and turning failures into one friendly line."""

from __future__ import annotations

import contextlib
import unicodedata

import streamlit as st

from textae.text.bundle import BundleError
from textae.text.inputs import InputError

MAX_SENTENCES = 20  # per Reconstruct request; each is decoded separately
_EMOJI_RANGES = ((0x1F000, 0x1FAFF), (0x2600, 0x27BF), (0x2B00, 0x2BFF), (0xFE00, 0xFE0F), (0x200D, 0x200D))


def script_problem(text: str) -> str | None:
    """A friendly message if `text` holds emoji or letters of a non-Latin script, else None."""
    for character in text:
        code = ord(character)
        if any(low <= code <= high for low, high in _EMOJI_RANGES) or unicodedata.category(character) == "So":
            return (
                f"The emoji or symbol “{character}” cannot be read by this model, which was trained on "
                "plain English text. Please remove it and try again."
            )
        if unicodedata.category(character).startswith("L") and "LATIN" not in unicodedata.name(character, ""):
            name = unicodedata.name(character, "unknown").split(" ")[0].title()
            return (
                f"“{character}” is a letter of a non-Latin script ({name}). This model was trained on "
                "English text only, so please type a sentence in the Latin alphabet."
            )
    return None


def sentence(text: str, what: str = "a sentence") -> str:
    """One checked sentence (the library normalises it); raises InputError with a friendly message."""
    text = text or ""
    if not text.strip():
        raise InputError(f"Please type {what} first.")
    problem = script_problem(text)
    if problem:
        raise InputError(problem)
    return text


def sentences(text: str) -> list[str]:
    """The non-empty lines of `text`, each checked; raises InputError with a friendly message."""
    lines = [line for line in (text or "").splitlines() if line.strip()]
    if not lines:
        raise InputError("Please type at least one sentence (one per line) first.")
    if len(lines) > MAX_SENTENCES:
        raise InputError(f"You entered {len(lines)} sentences; please enter at most {MAX_SENTENCES} at a time.")
    return [sentence(line) for line in lines]


def store_request(key: str, build) -> None:
    """Replace the request under `key` by `build()`, or by None (with a notice) when the input is bad."""
    st.session_state[key] = None
    with friendly_errors():
        st.session_state[key] = build()


@contextlib.contextmanager
def friendly_errors():
    """Show bad input as a warning and any other failure as a one-line error, never a traceback."""
    try:
        yield
    except BundleError as error:
        st.error(f"The model could not be used: {error}")
    except ValueError as error:  # InputError included: bad input, said as the library words it
        st.warning(str(error), icon=":material/edit_note:")
    except Exception as error:  # noqa: BLE001 (the page must never show a traceback)
        first_line = (str(error).strip().splitlines() or [""])[0][:300]
        st.error(f"Something went wrong ({type(error).__name__}): {first_line}")
