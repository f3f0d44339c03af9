"""The one place text enters a model: normalise it, check it, tokenize it, and say what is wrong with each bad text.

`TextAE` checks every input here once. With `errors="raise"` the first bad text stops the call with an
`InputError`; with `errors="skip"` the good texts go on and each bad one keeps its reason (batch jobs
report them line by line instead of losing the batch).
"""

from __future__ import annotations

import dataclasses

from textae.errors import InputError  # noqa: F401  (raised here; part of this module's interface)

MAX_INPUT_CHARS = 500
ERRORS = ("raise", "skip")


def normalise(text: str) -> str:
    """Whitespace collapsed to single spaces, ends stripped: how a model sees any text."""
    return " ".join(text.split())


@dataclasses.dataclass
class Checked:
    """Texts as the model sees them, with their token ids, and why any of them cannot be used."""

    texts: list[str]  # normalised (and lower-cased for a lower-casing model); "" for a text that is not a string
    ids: list[list[int]]  # token ids; [] for a text with a problem
    problems: list[str | None]  # e.g. "is empty: enter a sentence." (to follow "Text 3 " or "line 3 "), or None

    @property
    def usable(self) -> list[int]:
        """Indices of the texts without a problem."""
        return [index for index, problem in enumerate(self.problems) if problem is None]

    @property
    def usable_texts(self) -> list[str]:
        return [self.texts[index] for index in self.usable]

    @property
    def usable_ids(self) -> list[list[int]]:
        return [self.ids[index] for index in self.usable]

    def raise_first(self) -> None:
        """Raise `InputError` for the first text with a problem, if any."""
        for index, problem in enumerate(self.problems):
            if problem is not None:
                raise InputError(f"Text {index + 1} {problem}")


def check(texts, tokenizer, *, lowercase: bool, max_tokens: int, errors: str = "raise") -> Checked:
    """Normalise, check and tokenize `texts` (a string or a sequence of strings).

    Args:
        texts: the input.
        tokenizer: the model's `Tokenizer`.
        lowercase: whether the model was trained on lower-cased text.
        max_tokens: the longest input, in tokens, the model was trained on.
        errors: "raise" raises `InputError` at the first bad text; "skip" records it in `problems`.

    Raises:
        InputError: no text at all, or (with errors="raise") a text the model cannot take.
    """
    if errors not in ERRORS:
        raise ValueError(f"errors must be one of {', '.join(ERRORS)}; got {errors!r}.")
    texts = [texts] if isinstance(texts, str) else list(texts)
    if not texts:
        raise InputError("No text was given: enter at least one sentence.")
    cleaned, problems = [], []
    for text in texts:
        problem = None
        if not isinstance(text, str):
            problem, text = f"is a {type(text).__name__}, not a string.", ""
        text = normalise(text)
        if problem is None and not text:
            problem = "is empty: enter a sentence."
        elif problem is None and len(text) > MAX_INPUT_CHARS:
            problem = f"has {len(text)} characters; the limit is {MAX_INPUT_CHARS}. Enter one sentence at a time."
        cleaned.append(text.lower() if lowercase else text)
        problems.append(problem)
    usable = [index for index, problem in enumerate(problems) if problem is None]
    encoded = dict(zip(usable, tokenizer.encode([cleaned[index] for index in usable]))) if usable else {}
    ids = []
    for index in range(len(texts)):
        row = encoded.get(index, [])
        if len(row) > max_tokens:
            problems[index] = (
                f"is {len(row)} tokens long; this model was trained on sentences of at most {max_tokens} tokens. "
                "Shorten it or split it into sentences."
            )
            row = []
        ids.append(row)
    checked = Checked(cleaned, ids, problems)
    if errors == "raise":
        checked.raise_first()
    return checked
