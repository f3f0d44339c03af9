"""Build the shipped corpus of English sentences from the WordNet 3.0 database files.

    python -m training.corpus [--wordnet-dir /usr/share/wordnet] [--output assets/corpus] [--max-words 20]

Every synset line of data.noun, data.verb, data.adj and data.adv ends in a gloss,
`definition; "example one"; "example two"`. Definitions (the clauses before the first example,
joined with "; ") get a capital first letter and a final period unless they end in . ! or ?.
Examples are the quoted text with a capital first letter and no period added; an attribution
after one, `"a just and lasting peace"- A.Lincoln`, is dropped. In both, backticks become
apostrophes (WordNet writes `word' for 'word'), whitespace runs one space, and a trailing ; : ,
is removed. Kept: 1 to --max-words words with balanced quotes, parentheses and brackets; exact
duplicates are removed and each sentence goes to the split named by a hash of its text (split_of).
Within each file sentences are in hash order (order_key), so any prefix of a file (a --limit, a
validation sample) is a uniform sample of it rather than an alphabetical slice. Files are gzip with
mtime 0 and no file name: same input, same bytes.
"""

import argparse
import gzip
import hashlib
import io
import re
import sys
from pathlib import Path

from textae.files import write_atomic
from textae.text.inputs import normalise

DATA_FILES = ("data.noun", "data.verb", "data.adj", "data.adv")
SPLITS = ("train", "validation", "test")
MISSING_HINT = "install Debian package wordnet-base or pass --wordnet-dir"

# One or more quoted pieces, optionally followed by an attribution such as `- Sinclair Lewis`.
_EXAMPLE_SEGMENT = re.compile(r'^(?:"[^"]*"\s*)+(?:-+\s*[^"]*)?$')
_QUOTED = re.compile(r'"([^"]*)"')


def order_key(sentence: str) -> str:
    """Where a sentence goes within its file: a salted SHA-256, independent of `split_of`'s hash."""
    return hashlib.sha256(b"textae-order\0" + sentence.encode("utf-8")).hexdigest()


def split_of(sentence: str) -> str:
    """The split of a sentence: SHA-256 of its UTF-8 bytes mod 100; 0-93 train, 94-96 validation, 97-99 test."""
    bucket = int(hashlib.sha256(sentence.encode("utf-8")).hexdigest(), 16) % 100
    if bucket < 94:
        return "train"
    return "validation" if bucket < 97 else "test"


def _split_gloss(gloss: str) -> list[str]:
    """Split a gloss at semicolons that are outside double quotes; empty pieces are dropped."""
    segments, current, in_quotes = [], [], False
    for character in gloss:
        if character == '"':
            in_quotes = not in_quotes
        if character == ";" and not in_quotes:
            segments.append("".join(current))
            current = []
        else:
            current.append(character)
    segments.append("".join(current))
    return [segment.strip() for segment in segments if segment.strip()]


def _normalise(text: str) -> str:
    """Backticks to apostrophes, whitespace runs to one space, trailing ; : , removed."""
    text = normalise(text.replace("`", "'"))
    return text.rstrip(";:, ")


def _capitalise(text: str) -> str:
    """Upper-case the first letter (after any opening ( [ ' "), unless the word is like pH or mRNA."""
    index = len(text) - len(text.lstrip("([\"'"))
    if text[index : index + 1].islower() and not text[index + 1 : index + 2].isupper():
        return text[:index] + text[index].upper() + text[index + 1 :]
    return text


def parse_data_line(line: str) -> tuple[str, list[str]]:
    """Parse one synset line of a WordNet data.* file into its definition and examples.

    The format (wndb(5)) is `offset lex_filenum ss_type w_cnt word lex_id [word lex_id...] p_cnt [ptr...]
    [frames...] | gloss`: w_cnt and lex_id hexadecimal, p_cnt decimal, four fields per pointer (symbol,
    offset, pos, source/target); verbs add f_cnt and `+ f_num w_num` per frame. The counts are checked.

    Args:
        line: one line that is not part of the licence header (header lines start with two spaces).

    Returns:
        (definition, examples): the normalised definition sentence ("" if the gloss has none)
        and the normalised example sentences, in the order of the gloss.

    Raises:
        ValueError: if the line does not follow the data.* format.
    """
    head, separator, gloss = line.partition(" | ")
    fields = head.split()
    try:
        if not separator or len(fields) < 6 or fields[2] not in ("n", "v", "a", "s", "r"):
            raise ValueError("no ' | ' gloss separator or a short synset header")
        position = 4 + 2 * int(fields[3], 16)  # skip w_cnt (word, lex_id) pairs
        position += 1 + 4 * int(fields[position])  # skip p_cnt pointers
        if fields[2] == "v":
            position += 1 + 3 * int(fields[position])  # skip f_cnt verb frames
        if position != len(fields):
            raise ValueError(f"the counts add up to {position} fields but there are {len(fields)}")
    except (ValueError, IndexError) as error:
        raise ValueError(f"not a WordNet data line ({error}): {line[:80]!r}") from error

    definition_parts, examples, seen_example = [], [], False
    for segment in _split_gloss(gloss):
        if segment.startswith('"'):
            seen_example = True
            if _EXAMPLE_SEGMENT.match(segment):  # else a stray quote: not trustworthy, dropped
                examples.extend(_capitalise(_normalise(quoted)) for quoted in _QUOTED.findall(segment))
        elif not seen_example:
            definition_parts.append(segment)
        # A clause after the examples is a usage note or an example missing its quotes: dropped.
    definition = _capitalise(_normalise("; ".join(definition_parts)))
    if definition and definition[-1] not in ".!?":
        definition += "."
    return definition, [example for example in examples if example]


def _balanced(text: str, opening: str, closing: str) -> bool:
    depth = 0
    for character in text:
        depth += (character == opening) - (character == closing)
        if depth < 0:
            return False
    return depth == 0


def _is_clean(sentence: str, max_words: int) -> bool:
    """1 to max_words words, some letters, balanced double quotes, parentheses and brackets."""
    return (
        1 <= len(sentence.split()) <= max_words
        and any(character.isalpha() for character in sentence)
        and sentence.count('"') % 2 == 0
        and _balanced(sentence, "(", ")")
        and _balanced(sentence, "[", "]")
    )


def _data_lines(path: Path):
    """The synset lines of a data file, skipping the licence header (lines starting with two spaces)."""
    with open(path, encoding="utf-8") as file:
        for line in file:
            if not line.startswith("  ") and line.strip():
                yield line.rstrip("\n")


def extract_by_source(paths, max_words: int = 20) -> dict[str, list[str]]:
    """Clean, unique, sorted sentences of each source: {"definitions": [...], "examples": [...]}."""
    paths = [Path(path) for path in paths]
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"WordNet data file not found: {', '.join(missing)}; {MISSING_HINT}")
    definitions, examples = set(), set()
    for path in paths:
        for line in _data_lines(path):
            definition, line_examples = parse_data_line(line)
            definitions.add(definition)
            examples.update(line_examples)
    return {
        "definitions": sorted(s for s in definitions if _is_clean(s, max_words)),
        "examples": sorted(s for s in examples if _is_clean(s, max_words)),
    }


def extract_sentences(paths, max_words: int = 20) -> list[str]:
    """All clean sentences of the given data.* files, exact duplicates removed, sorted.

    Args:
        paths: WordNet data.* files.
        max_words: longest sentence kept, in whitespace-separated words.

    Raises:
        FileNotFoundError: if a file is missing, with a hint on how to install WordNet.
    """
    return sorted(set().union(*extract_by_source(paths, max_words).values()))


def read_licence(data_path) -> str:
    """The WordNet licence from the header of a data.* file (lines `  N text`), without line numbers."""
    lines = []
    with open(data_path, encoding="utf-8") as file:
        for line in file:
            if not line.startswith("  "):
                break
            lines.append(re.sub(r"^\s+\d+ ?", "", line).rstrip())
    if not lines:
        raise ValueError(f"no licence header at the top of {data_path}; is it a WordNet 3.0 data file?")
    return "\n".join(lines).strip() + "\n"


def gzip_bytes(lines: list[str]) -> bytes:
    """One line per sentence, UTF-8, gzip level 9 with mtime 0 and no file name: reproducible bytes."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as file:
        file.write("".join(line + "\n" for line in lines).encode("utf-8"))
    return buffer.getvalue()


def write_corpus(sentences: list[str], output_dir) -> dict[str, dict]:
    """Write {train,validation,test}.txt.gz into output_dir, each in hash order.

    Returns:
        {split: {"path": Path, "sentences": int, "bytes": int, "sha256": str}}.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    by_split = {split: [] for split in SPLITS}
    for sentence in sorted(set(sentences), key=order_key):
        by_split[split_of(sentence)].append(sentence)
    written = {}
    for split, lines in by_split.items():
        data = gzip_bytes(lines)
        path = output_dir / f"{split}.txt.gz"
        write_atomic(path, data)
        sha256 = hashlib.sha256(data).hexdigest()
        written[split] = {"path": path, "sentences": len(lines), "bytes": len(data), "sha256": sha256}
    return written


def render_readme(by_source: dict[str, list[str]], written: dict[str, dict], max_words: int) -> str:
    """The corpus README: what it is, counts, the split rule, how it was made, checksums, licence."""
    total = sum(info["sentences"] for info in written.values())
    both = len(set(by_source["definitions"]) & set(by_source["examples"]))
    row = "| `{path.name}` | {sentences:,} | {bytes:,} | `{sha256}` |"
    rows = "\n".join(row.format(**info) for info in written.values())
    return f"""# WordNet sentence corpus

{total:,} unique English sentences from the WordNet 3.0 database: {len(by_source["definitions"]):,} definitions
(glosses) and {len(by_source["examples"]):,} quoted example sentences ({both:,} in both). One sentence a line,
UTF-8, gzip, in a fixed hash order within each file (`order_key`: SHA-256 of `"textae-order\\0"`
and the sentence), so any prefix of a file is a uniform sample of it.

| file | sentences | bytes | SHA-256 |
|---|---:|---:|---|
{rows}

**Split rule**: `int(sha256(sentence.encode("utf-8")).hexdigest(), 16) % 100`: 0-93 train,
94-96 validation, 97-99 test. A sentence's split never depends on the rest of the corpus.

**Normalisation**: definitions are the clauses before the first example joined with "; ",
first letter capitalised, a period added unless they end in . ! or ?; examples are the quoted text,
first letter capitalised, no period added. Backticks become apostrophes, whitespace runs one space.
Kept: 1 to {max_words} words, balanced quotes, parentheses and brackets; exact duplicates removed.

**How it was made**: `python -m training.corpus --max-words {max_words}` (see `textae/training/corpus.py`)
from the WordNet 3.0 `data.noun`, `data.verb`, `data.adj` and `data.adv` files of the Debian package
`wordnet-base`. The output is byte-for-byte reproducible from the same input.

**Licence**: WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved. Distributed
under the WordNet 3.0 licence; its full text, which must accompany all copies, is in [LICENSE](LICENSE).
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wordnet-dir", default="/usr/share/wordnet", help="folder with WordNet 3.0 data.* files")
    parser.add_argument("--output", default="assets/corpus", help="folder to write the corpus into")
    parser.add_argument("--max-words", type=int, default=20, help="longest sentence kept, in words")
    args = parser.parse_args(argv)
    if args.max_words < 1:
        parser.error(f"--max-words must be at least 1, got {args.max_words}")

    paths = [Path(args.wordnet_dir) / name for name in DATA_FILES]
    try:
        by_source = extract_by_source(paths, args.max_words)
        licence = read_licence(paths[0])
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    sentences = sorted(set().union(*by_source.values()))
    written = write_corpus(sentences, args.output)
    output = Path(args.output)
    write_atomic(output / "LICENSE", licence.encode("utf-8"))
    write_atomic(output / "README.md", render_readme(by_source, written, args.max_words).encode("utf-8"))

    for source, source_sentences in by_source.items():
        print(f"{source:>12}: {len(source_sentences):,} sentences")
    print(f"{'unique':>12}: {len(sentences):,} sentences")
    for split, info in written.items():
        print(f"{split:>12}: {info['sentences']:,} sentences, {info['bytes']:,} bytes, sha256 {info['sha256']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
