"""Attribute pairs for latent vector arithmetic (Shen et al. 2020), chosen from the corpus by a rule.

Two groups of sentences that differ in one attribute give a direction in latent space,
`mean(z_B) - mean(z_A)` (`TextAE.offset`); adding it to a sentence of group A should move it to B
(`TextAE.apply_offset`). The shipped pairs live in `assets/attributes/<name>.a.txt` and `<name>.b.txt`,
written by `python -m training.attributes` from the training split: A holds sentences that match
`pattern_a` and not `pattern_b`, B the reverse, in the corpus's hash order.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from textae import files

ATTRIBUTES_DIR = files.shipped("attributes")


@dataclasses.dataclass(frozen=True)
class AttributePair:
    """Two groups of sentences told apart by two patterns, and how to read a moved sentence."""

    name: str
    title: str  # e.g. "present → past tense"
    pattern_a: str  # regular expression of group A's marker
    pattern_b: str  # regular expression of group B's marker

    def is_a(self, text: str) -> bool:
        """The sentence carries A's marker and not B's."""
        return bool(re.search(self.pattern_a, text)) and not re.search(self.pattern_b, text)

    def is_b(self, text: str) -> bool:
        """The sentence carries B's marker and not A's: what a sentence moved from A to B should do."""
        return bool(re.search(self.pattern_b, text)) and not re.search(self.pattern_a, text)

    def files(self) -> tuple[Path, Path]:
        return ATTRIBUTES_DIR / f"{self.name}.a.txt", ATTRIBUTES_DIR / f"{self.name}.b.txt"


PAIRS = {
    pair.name: pair
    for pair in (
        AttributePair("tense", "present → past tense (is → was)", r"\bis\b", r"\bwas\b"),
        AttributePair("negation", "affirmative → negated (is → is not)", r"\bis\b(?! not\b)", r"\bis not\b"),
    )
}


def select(pair: AttributePair, texts, count: int) -> tuple[list[str], list[str]]:
    """The first `count` sentences of each group among `texts`, in their order."""
    group_a, group_b = [], []
    for text in texts:
        if len(group_a) < count and pair.is_a(text):
            group_a.append(text)
        elif len(group_b) < count and pair.is_b(text):
            group_b.append(text)
        if len(group_a) == len(group_b) == count:
            break
    return group_a, group_b


def load(name: str) -> tuple[list[str], list[str]]:
    """The shipped groups A and B of the pair `name` (see `PAIRS`)."""
    if name not in PAIRS:
        raise ValueError(f"Unknown attribute pair {name!r}; the shipped ones are {', '.join(PAIRS)}.")
    groups = []
    for file in PAIRS[name].files():
        if not file.is_file():
            raise ValueError(f"{file} is missing; rebuild it with `python -m training.attributes`.")
        groups.append([line for line in file.read_text(encoding="utf-8").splitlines() if line.strip()])
    return groups[0], groups[1]
