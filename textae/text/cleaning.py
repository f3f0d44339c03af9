"""Raw lines in, the sentences a model trains on out, with a report of what was dropped.

`clean_texts` repairs control and undecodable characters, drops empty lines,
wikitext headings, over-long lines and duplicates, optionally splits
paragraphs into sentences and lowercases; `textae.data` loads the lines.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Iterable

from textae.data import DataError
from textae.text.inputs import normalise


@dataclasses.dataclass
class CleaningReport:
    """How many lines `clean_texts` read, repaired, dropped and kept."""

    total: int = 0  # input lines read
    empty: int = 0
    heading: int = 0  # wikitext headings such as " = = Title = = "
    control_chars_repaired: int = 0  # lines whose control characters were removed
    invalid_repaired: int = 0  # lines whose few invalid characters were removed
    invalid: int = 0  # lines dropped because many characters were undecodable
    too_long_chars: int = 0
    duplicate: int = 0
    over_limit: int = 0  # input lines not read because `limit` was reached
    sentences_added: int = 0  # extra sentences made by sentence splitting
    kept: int = 0

    def summary(self) -> str:
        """One line, e.g. "kept 1,234 of 2,000 lines (dropped: 500 empty, 10 headings, 256 duplicates)"."""
        dropped = [
            (self.empty, "empty"),
            (self.heading, "headings"),
            (self.invalid, "undecodable"),
            (self.too_long_chars, "too long"),
            (self.duplicate, "duplicates"),
            (self.over_limit, "over the limit"),
        ]
        parts = [f"{count:,} {reason}" for count, reason in dropped if count]
        repaired = self.control_chars_repaired + self.invalid_repaired
        unit = "sentences from" if self.sentences_added else "of"
        text = f"kept {self.kept:,} {unit} {self.total:,} lines"
        if parts:
            text += f" (dropped: {', '.join(parts)})"
        if repaired:
            text += f"; repaired {repaired:,}"
        return text


_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u2060"))
_HEADING = re.compile(r"^(?:=\s*)+[^=].*?(?:\s*=)+$")
# A sentence ends at . ! or ? (optionally followed by a closing quote or bracket) when a
# space and a capital letter follow. Simple on purpose: "Mr. Smith" is rejoined below,
# but other abbreviations followed by a capitalised word will be split.
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'”’)\]]))\s+(?=[\"'“‘(\[]?[A-ZÀ-ÖØ-Þ])")
_ABBREVIATIONS = re.compile(r"(?:^|\s)(?:Mr|Mrs|Ms|Dr|Prof|St|Jr|Sr|Mt|No|vs|etc|e\.g|i\.e|U\.S|[A-Z])\.$")
_MAX_INVALID_FRACTION = 0.1


def _repair(line: str, report: CleaningReport) -> str | None:
    """Remove control and invalid characters and collapse whitespace; None drops the line."""
    repaired = _ANSI_ESCAPE.sub("", line).translate(_INVISIBLE)
    # Whitespace controls (tab, newline) become spaces below; the others go.
    repaired = "".join(char for char in repaired if char.isspace() or unicodedata.category(char) != "Cc")
    if repaired != line:
        report.control_chars_repaired += 1
    # U+FFFD marks bytes that were not UTF-8; lone surrogates come from broken encodings.
    invalid = sum(1 for char in repaired if char == "\ufffd" or "\ud800" <= char <= "\udfff")
    if invalid:
        visible = sum(1 for char in repaired if not char.isspace())
        if invalid > _MAX_INVALID_FRACTION * visible:
            report.invalid += 1
            return None
        report.invalid_repaired += 1
        repaired = "".join(char for char in repaired if char != "\ufffd" and not "\ud800" <= char <= "\udfff")
    return unicodedata.normalize("NFC", normalise(repaired))


def split_into_sentences(paragraph: str) -> list[str]:
    """Split a paragraph at `. ! ?` followed by a space and a capital letter."""
    sentences: list[str] = []
    for piece in _SENTENCE_END.split(paragraph):
        if sentences and _ABBREVIATIONS.search(sentences[-1]):
            sentences[-1] += " " + piece
        else:
            sentences.append(piece)
    return [sentence.strip() for sentence in sentences if sentence.strip()]


def clean_texts(
    texts: Iterable[str],
    *,
    lowercase: bool = False,
    split_sentences: bool = False,
    deduplicate: bool = True,
    limit: int | None = None,
    max_chars: int = 2000,
) -> tuple[list[str], CleaningReport]:
    """Turn raw lines into training sentences.

    Drops empty lines and wikitext headings; removes control characters and ANSI
    escapes; removes undecodable characters (U+FFFD, lone surrogates), dropping
    the line when they are more than a tenth of it; collapses whitespace and
    applies NFC; optionally splits paragraphs into sentences (see
    `split_into_sentences`) and lowercases; drops units longer than `max_chars`
    and, optionally, exact duplicates (the first one is kept, order is kept).

    Args:
        texts: Raw lines, e.g. from `load_texts`.
        lowercase: Lowercase every sentence.
        split_sentences: Split paragraphs into sentences.
        deduplicate: Drop repeated sentences.
        limit: Keep at most this many sentences and stop reading.
        max_chars: Drop sentences longer than this many characters.

    Returns:
        `(sentences, report)`.

    Raises:
        DataError: If no sentence is left.
    """
    if limit is not None and limit <= 0:
        raise DataError(f"limit must be positive or None, got {limit}.")
    report = CleaningReport()
    kept: list[str] = []
    seen: set[str] = set()
    for line in texts:
        if limit is not None and len(kept) >= limit:
            if hasattr(texts, "__len__"):
                report.over_limit = len(texts) - report.total
            break
        report.total += 1
        line = _repair(line or "", report)
        if line is None:
            continue
        if not line:
            report.empty += 1
            continue
        if _HEADING.match(line):
            report.heading += 1
            continue
        units = split_into_sentences(line) if split_sentences else [line]
        report.sentences_added += len(units) - 1
        for unit in units:
            if limit is not None and len(kept) >= limit:
                break
            if len(unit) > max_chars:
                report.too_long_chars += 1
                continue
            if lowercase:
                unit = unit.lower()
            if deduplicate:
                if unit in seen:
                    report.duplicate += 1
                    continue
                seen.add(unit)
            kept.append(unit)
    report.kept = len(kept)
    if not kept:
        raise DataError(f"No text left after cleaning: {report.summary()}. Check the text column / the file.")
    return kept, report
