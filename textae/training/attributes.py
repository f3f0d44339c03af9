"""python -m training.attributes: build the shipped attribute pairs, and measure vector arithmetic on a model.

    python -m training.attributes                      # writes assets/attributes/*.txt from the training split
    python -m training.attributes --measure [--model DIR]

`measure` follows Shen et al. (2020) for tense: on held-out sentences of group A (the test split), the
share whose decoded output carries B's marker and not A's (`AttributePair.is_b`), and the corpus BLEU of
the outputs to their inputs (the rest of the sentence should stay), at each strength; the strength that
balances the two is the one with the largest geometric mean of the share and BLEU / 100.
"""

from __future__ import annotations

import argparse
import json
import sys

from textae import quiet  # noqa: E402
from textae.training import program_name  # noqa: E402

quiet.start_tensorflow()  # before anything imports TensorFlow: its C++ start-up lines stay hidden

from textae import data  # noqa: E402
from textae.text import attributes  # noqa: E402
from textae.text.inputs import normalise  # noqa: E402

GROUP_SIZE = 400  # sentences per group in the shipped files
STRENGTHS = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0)
HELD_OUT = 200  # test-split sentences of group A measured per pair


def build(count: int = GROUP_SIZE) -> dict[str, tuple[int, int]]:
    """Write every pair's two files from the training split; returns `{name: (len(A), len(B))}`."""
    texts = [normalise(text) for text in data.load_texts(None, split="train")]
    attributes.ATTRIBUTES_DIR.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for name, pair in attributes.PAIRS.items():
        groups = attributes.select(pair, texts, count)
        for file, group in zip(pair.files(), groups):
            file.write_text("".join(f"{text}\n" for text in group), encoding="utf-8")
        sizes[name] = tuple(len(group) for group in groups)
    return sizes


def _usable(autoencoder, texts: list[str]) -> list[str]:
    """The texts the model can take (a model with a shorter `max_tokens` skips the long ones)."""
    checked = autoencoder.check(texts, errors="skip")
    if not checked.usable:
        raise ValueError("None of the pair's sentences fits this model; see its max_tokens.")
    return checked.usable_texts


def measure(autoencoder, name: str, strengths=STRENGTHS, held_out: int = HELD_OUT) -> dict:
    """Transfer share and BLEU of moving held-out A sentences along the pair's vector, per strength."""
    from textae.text import metrics

    pair = attributes.PAIRS[name]
    group_a, group_b = (_usable(autoencoder, group) for group in attributes.load(name))
    vector = autoencoder.offset(group_a, group_b)
    candidates = [normalise(text) for text in data.load_texts(None, split="test")]
    candidates = [text for text in candidates if pair.is_a(text)]
    checked = autoencoder.check(candidates, errors="skip")
    sentences = checked.usable_texts[:held_out]
    moved = autoencoder.apply_offset(sentences, vector, strengths)  # [sentence][strength]
    by_strength = {}
    for column, strength in enumerate(strengths):
        outputs = [row[column] for row in moved]
        transfer = sum(pair.is_b(output) for output in outputs) / len(outputs)
        bleu = float(metrics.corpus_bleu(sentences, outputs))
        by_strength[f"{strength:g}"] = {"transfer": transfer, "bleu": bleu, "balance": (transfer * bleu / 100) ** 0.5}
    best = max(by_strength, key=lambda key: by_strength[key]["balance"])
    return {
        "title": pair.title,
        "sentences": len(sentences),
        "group_sizes": [len(group_a), len(group_b)],
        "by_strength": by_strength,
        "best_strength": float(best),
        "examples": [{"input": s, "output": row[strengths.index(float(best))]} for s, row in zip(sentences[:5], moved)],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog=program_name("attributes"), description=__doc__.split("\n\n")[0])
    parser.add_argument("--verbose", action="store_true", help=quiet.VERBOSE_HELP)
    parser.add_argument("--measure", action="store_true", help="measure vector arithmetic on --model instead")
    parser.add_argument("--model", help="model folder (default: assets/model)")
    parser.add_argument("--json", action="store_true", help="print the measurements as JSON")
    args = parser.parse_args(argv)
    if not args.measure:
        for name, (size_a, size_b) in build().items():
            print(f"{name}: {size_a} sentences in group A, {size_b} in group B")
        return 0
    import textae

    autoencoder = textae.load(args.model)
    results = {name: measure(autoencoder, name) for name in attributes.PAIRS}
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for result in results.values():
            print(f"{result['title']}: best strength {result['best_strength']:g} on {result['sentences']} sentences")
            for strength, figures in result["by_strength"].items():
                print(f"  {strength:>4}  transfer {figures['transfer']:.3f}  BLEU {figures['bleu']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
