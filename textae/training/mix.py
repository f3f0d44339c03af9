"""Build a general-English training mix: the shipped WordNet corpus plus a folder of sentence files.

    python -m training.mix --sources ../shared/corpora --output data/mix

Each `*.txt` / `*.txt.gz` file of `--sources` (one sentence per line) is a source named after its file.
The mix is written as `train.jsonl.gz`, `validation.jsonl.gz` and `test.jsonl.gz` (rows
`{"text", "source"}`, hash-ordered, gzip with mtime 0: the same input gives the same bytes) and `mix.json`
(the settings and the count of every source in every split). `python -m training.train --dataset
data/mix` trains on it (its validation split is used for validation), and `python -m training.evaluate
--dataset data/mix` reports by source as well as by length.

How a sentence gets in:
1. cleaned: whitespace collapsed, a stray quote at either end removed (CLINC150 lines open with one),
   and dropped when it has fewer than `--min-words` or more than `--max-words` words, or when most of its
   letters are capitals (speech headings such as "PRESIDENT HARRY S.");
2. deduplicated across sources by `sentence_key` (lower case, letters and digits): WordNet first, then
   the sources in name order, so a sentence belongs to the first source that has it;
3. templated turns capped: sentences whose `template_key` (numbers and capitalised names masked) is
   shared by more than `--template-cap` sentences of a source keep only the first `--template-cap` of
   them in hash order (SGD's system turns, "The phone number is 415-555-0100.", repeat a few hundred
   skeletons thousands of times);
4. split by a hash of the source name and key (94 % train, 3 % validation, 3 % test); WordNet keeps the
   shipped corpus's own split, so its test split stays comparable with every earlier figure;
5. sampled by the source's weight (`--weight sgd_dialogue=0.5`: a fixed hash-chosen half);
6. never one of `textae.text.examples.ALL` (the sentences the app, the README and the tests show).
"""

from __future__ import annotations

import argparse
import collections
import gzip
import hashlib
import json
import re
import sys
from pathlib import Path

from textae import files
from textae.files import write_atomic
from textae.text import examples
from textae.text.inputs import normalise
from textae.training import corpus, program_name

SPLITS = corpus.SPLITS
WORDNET = "wordnet"
DEFAULT_WEIGHTS = {"sgd_dialogue": 0.6}
DEFAULT_TEMPLATE_CAP = 3
_NOT_ALPHANUMERIC = re.compile(r"[^0-9a-z]+")
_STRAY_QUOTE = re.compile(r'^"(?=[^"]*$)|(?<=[^"])"$')


def sentence_key(text: str) -> str:
    """What makes two sentences the same: lower case, letters and digits only (the sources' own rule)."""
    return _NOT_ALPHANUMERIC.sub("", text.lower())


def template_key(text: str) -> str:
    """A sentence's skeleton: words with digits become #, capitalised words after the first become N."""
    masked = []
    for index, word in enumerate(text.split()):
        if any(character.isdigit() for character in word):
            masked.append("#")
        elif index and word[:1].isupper():
            masked.append("N")
        else:
            masked.append(word.lower())
    return " ".join(masked)


def clean_sentence(text: str, min_words: int, max_words: int) -> str | None:
    """The sentence as the mix keeps it, or None when it is left out (see the module docstring)."""
    text = normalise(text)
    if text.count('"') % 2:
        text = _STRAY_QUOTE.sub("", text).strip()
    if not min_words <= len(text.split()) <= max_words:
        return None
    letters = [character for character in text if character.isalpha()]
    if not letters or sum(character.isupper() for character in letters) > 0.5 * len(letters):
        return None
    return text


def _fraction(*parts: str) -> float:
    """A fixed number in [0, 1) from the parts' SHA-256."""
    digest = hashlib.sha256("\0".join(("textae-mix",) + parts).encode("utf-8")).hexdigest()
    return int(digest[:15], 16) / 16**15


def split_of(source: str, key: str) -> str:
    """The split of a source's sentence: 94 % train, 3 % validation, 3 % test, by hash."""
    position = _fraction("split", source, key)
    return "train" if position < 0.94 else "validation" if position < 0.97 else "test"


def read_sources(folder: Path) -> dict[str, list[str]]:
    """Every `*.txt` and `*.txt.gz` file of `folder`, by source name (file name without suffixes)."""
    if not folder.is_dir():
        raise ValueError(f"--sources {folder} is not a folder. Pass the folder that holds the .txt.gz files.")
    found = {}
    for path in sorted(folder.iterdir()):
        name = path.name
        if name.endswith(".txt.gz"):
            with gzip.open(path, "rt", encoding="utf-8", errors="replace") as file:
                found[name[: -len(".txt.gz")]] = file.read().splitlines()
        elif name.endswith(".txt"):
            found[name[: -len(".txt")]] = path.read_text(encoding="utf-8", errors="replace").splitlines()
    if not found:
        raise ValueError(f"{folder} holds no .txt or .txt.gz file of sentences.")
    if WORDNET in found:
        raise ValueError(f"{folder} has a source named {WORDNET!r}, the name of the shipped corpus; rename the file.")
    return found


def read_wordnet(corpus_dir: Path) -> dict[str, list[str]]:
    """The shipped WordNet corpus, by split."""
    splits = {}
    for split in SPLITS:
        with gzip.open(corpus_dir / f"{split}.txt.gz", "rt", encoding="utf-8") as file:
            splits[split] = file.read().splitlines()
    return splits


def build_mix(
    sources: dict[str, list[str]],
    wordnet: dict[str, list[str]] | None,
    *,
    weights: dict[str, float] | None = None,
    template_cap: int = DEFAULT_TEMPLATE_CAP,
    min_words: int = 2,
    max_words: int = 40,
) -> tuple[dict[str, list[dict]], dict]:
    """The mix's rows by split and its report (counts per source and step).

    Args:
        sources: sentences by source name.
        wordnet: the shipped corpus by split (it keeps its split), or None to leave it out.
        weights: share of each source kept (default 1; `DEFAULT_WEIGHTS` is the shipped mix's choice).
        template_cap: sentences kept per template of a source (0: no cap).
        min_words, max_words: length limits in words.
    """
    if weights is None:
        weights = {name: share for name, share in DEFAULT_WEIGHTS.items() if name in sources}
    unknown = set(weights) - set(sources) - {WORDNET}
    if unknown:
        raise ValueError(f"--weight names unknown source(s) {sorted(unknown)}; the sources are {sorted(sources)}.")
    held_out = {sentence_key(text) for text in examples.ALL}
    seen = set()
    rows = {split: [] for split in SPLITS}
    report = {}

    def admit(source: str, text: str, split: str, counts: collections.Counter) -> None:
        if _fraction("weight", source, sentence_key(text)) >= weights.get(source, 1.0):
            counts["weighted_out"] += 1
            return
        rows[split].append({"text": text, "source": source})
        counts[split] += 1

    if wordnet is not None:
        counts = collections.Counter()
        for split in SPLITS:
            for line in wordnet[split]:
                key = sentence_key(line)
                if key in held_out:
                    counts["held_out"] += 1
                    continue
                if key in seen:
                    counts["duplicates"] += 1
                    continue
                seen.add(key)
                admit(WORDNET, line, split, counts)
        report[WORDNET] = dict(counts)
    for source in sorted(sources):
        counts = collections.Counter(read=len(sources[source]))
        kept = []
        for line in sources[source]:
            text = clean_sentence(line, min_words, max_words)
            if text is None:
                counts["cleaned_out"] += 1
                continue
            key = sentence_key(text)
            if key in held_out:
                counts["held_out"] += 1
                continue
            if not key or key in seen:
                counts["duplicates"] += 1
                continue
            seen.add(key)
            kept.append((key, text))
        by_template = collections.Counter()
        for key, text in sorted(kept, key=lambda pair: _fraction("order", source, pair[0])):
            template = template_key(text)
            by_template[template] += 1
            if template_cap and by_template[template] > template_cap:
                counts["templated_out"] += 1
                continue
            admit(source, text, split_of(source, key), counts)
        report[source] = dict(counts)
    for split in SPLITS:
        rows[split].sort(key=lambda row: corpus.order_key(row["text"]))
    return rows, report


# Where each known source comes from and its licence (the shared corpora's SOURCES.md), for model cards.
ATTRIBUTION = {
    WORDNET: ("WordNet 3.0 glosses and examples (Princeton University), the shipped corpus", "WordNet 3.0 licence"),
    "sgd_dialogue": (
        "Schema-Guided Dialogue dataset (DSTC8), github.com/google-research-datasets/dstc8-schema-guided-dialogue",
        "CC BY-SA 4.0",
    ),  # fmt: skip
    "common_voice": ("Mozilla Common Voice sentence collection, `server/data/en/`", "CC0 1.0"),
    "clinc150": ("CLINC150 (Larson et al. 2019), github.com/clinc/oos-eval", "CC BY 3.0"),
    "banking77": ("Banking77 (Casanueva et al. 2020), github.com/PolyAI-LDN/task-specific-datasets", "CC BY 4.0"),
    "hwu64": ("HWU64 (Liu et al. 2019), github.com/xliuhw/NLU-Evaluation-Data", "CC BY 4.0"),
    "us_speeches": (
        "US State of the Union and inaugural addresses, NLTK's `state_union` and `inaugural`",
        "public domain",
    ),  # fmt: skip
}


def attribution(folder: Path) -> str:
    """Markdown crediting the sources of the mix in `folder` (from its mix.json), with their training counts."""
    manifest = json.loads((Path(folder) / "mix.json").read_text(encoding="utf-8"))
    lines = [
        "### Training data and attribution",
        "",
        "A general-English mix built by `python -m training.mix` (deduplicated across sources, split by hash, "
        "templated turns capped; the text itself is not distributed with the model):",
        "",
        "| source | training sentences | origin | licence |",
        "|---|---:|---|---|",
    ]
    for name, counts in manifest["sources"].items():
        origin, licence = ATTRIBUTION.get(name, ("see the source's own terms", "see its source"))
        lines.append(f"| {name} | {counts.get('train', 0):,} | {origin} | {licence} |")
    lines += [
        "",
        "The CC BY-SA 4.0 part (SGD) asks that adaptations of the text itself be shared under the same licence.",
    ]
    return "\n".join(lines)


def template_report(sentences: list[str], top: int = 5) -> list[str]:
    """How templated a source is: its skeletons (`template_key`), how many sentences share one, the commonest."""
    counts = collections.Counter(template_key(text) for text in sentences)
    shared = sum(count for count in counts.values() if count >= 2)
    lines = [
        f"{len(sentences):,} sentences, {len(counts):,} skeletons; {shared:,} sentences share a skeleton with another; "
        f"skeletons of 50+ sentences: {sum(1 for c in counts.values() if c >= 50)} covering "
        f"{sum(c for c in counts.values() if c >= 50):,} sentences"
    ]
    lines += [f"  {count:,}  {skeleton}" for skeleton, count in counts.most_common(top)]
    return lines


def jsonl_gzip(rows: list[dict]) -> bytes:
    """One JSON object per line, gzip with mtime 0 and no file name: the same rows give the same bytes."""
    return corpus.gzip_bytes([json.dumps(row, ensure_ascii=False, sort_keys=True) for row in rows])


def write_mix(rows: dict[str, list[dict]], report: dict, settings: dict, output: Path) -> None:
    output.mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        write_atomic(output / f"{split}.jsonl.gz", jsonl_gzip(rows[split]))
    manifest = {"settings": settings, "sources": report, "splits": {split: len(rows[split]) for split in SPLITS}}
    write_atomic(output / "mix.json", (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8"))


def _weight(text: str) -> tuple[str, float]:
    name, _, value = text.partition("=")
    try:
        share = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected SOURCE=SHARE such as sgd_dialogue=0.5, got {text!r}") from None
    if not 0.0 <= share <= 1.0:
        raise argparse.ArgumentTypeError(f"a source's share must be between 0 and 1, got {share} in {text!r}")
    return name, share


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=program_name("mix"),
        description="Build a training mix of the shipped WordNet corpus and a folder of sentence files.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--sources", required=True, help="folder of .txt/.txt.gz files, one sentence per line")
    parser.add_argument("--output", help="folder to write the mix into (keep it out of git)")
    parser.add_argument("--no-wordnet", action="store_true", help="leave the shipped WordNet corpus out")
    parser.add_argument(
        "--weight", type=_weight, action="append", default=[],
        help=f"SOURCE=SHARE kept of a source, repeatable (default: {DEFAULT_WEIGHTS})",
    )  # fmt: skip
    parser.add_argument("--template-cap", type=int, default=DEFAULT_TEMPLATE_CAP, help="sentences per template")
    parser.add_argument(
        "--templates", metavar="SOURCE", help="print how templated SOURCE is (its skeletons) and stop; no --output"
    )
    parser.add_argument("--min-words", type=int, default=2)
    parser.add_argument("--max-words", type=int, default=40)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        sources = read_sources(Path(args.sources).expanduser())
        if args.templates:
            if args.templates not in sources:
                raise ValueError(f"--templates {args.templates!r} is not a source; the sources are {sorted(sources)}.")
            print("\n".join(template_report(sources[args.templates])))
            return 0
        if not args.output:
            raise ValueError("--output is needed: the folder to write the mix into.")
        wordnet = None if args.no_wordnet else read_wordnet(files.shipped("corpus"))
        defaults = {name: share for name, share in DEFAULT_WEIGHTS.items() if name in sources}
        weights = {**defaults, **dict(args.weight)}
        rows, report = build_mix(
            sources, wordnet, weights=weights, template_cap=args.template_cap,
            min_words=args.min_words, max_words=args.max_words,
        )  # fmt: skip
        settings = {
            "weights": weights, "template_cap": args.template_cap, "min_words": args.min_words,
            "max_words": args.max_words, "wordnet": wordnet is not None, "sources": sorted(sources),
        }  # fmt: skip
        write_mix(rows, report, settings, Path(args.output))
    except (ValueError, OSError) as error:
        print(f"mix: error: {error}", file=sys.stderr)
        return 2
    for source, counts in report.items():
        print(f"{source:14s} " + ", ".join(f"{key} {value:,}" for key, value in sorted(counts.items())))
    print("splits: " + ", ".join(f"{split} {len(rows[split]):,}" for split in SPLITS) + f" -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
