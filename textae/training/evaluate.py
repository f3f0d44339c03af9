"""python -m training.evaluate: how well a model reconstructs held-out sentences.

By default it scores the shipped model (`assets/model`) on the shipped
corpus's test split, which neither the model nor its tokenizer ever saw.

Reports teacher-forced token accuracy and loss (cross-entropy per token, with
perplexity), free-running greedy token accuracy, exact-match rate and corpus
BLEU (sacreBLEU, 13a tokenisation) of the greedy reconstructions, and for a
variational model the KL per sentence and the active units (Burda et al. 2016,
delta = 0.01).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time

from textae import quiet  # noqa: E402
from textae.training import program_name  # noqa: E402

quiet.start_tensorflow()  # before anything imports TensorFlow: its C++ start-up lines stay hidden

import numpy as np  # noqa: E402

from textae import data  # noqa: E402
from textae.text import bundle as bundle_lib  # noqa: E402
from textae.text import cleaning, correction, decoding, encoding, metrics, model_card, pipeline  # noqa: E402


def evaluate(loaded: bundle_lib.Bundle, texts: list[str], batch_size: int = 256, sources=None, settings=None) -> dict:
    """Metrics of `loaded` on `texts` (sentences over the model's length limit are skipped).

    `sources` (one name per text, e.g. a mix's `source` column) adds `by_source`: the same figures, by
    length too, for each source's sentences.
    """
    model, tokenizer, config = loaded.model, loaded.tokenizer, loaded.config
    ids, report = pipeline.tokenize_texts(tokenizer, texts, min_tokens=1, max_tokens=config.data.max_tokens)
    if not ids:
        raise ValueError("No sentence is short enough for this model; check the data or its --max-tokens.")
    if sources is not None:
        sources = [sources[index] for index in report["kept_indices"]]
    results = {"sentences": len(ids), "skipped_too_long": report["too_long"]}
    results.update(
        measure(
            model, tokenizer, ids, config.data.max_tokens, batch_size=batch_size, sources=sources, settings=settings
        )
    )
    return results


def measure(
    model, tokenizer, ids: list, max_tokens: int, batch_size: int = 256, examples: int = 5, lengths=None, buckets=None,
    sources=None, settings=None,
) -> dict:  # fmt: skip
    """Overall and per-length-bucket metrics of `model` on tokenized sentences `ids`.

    Returns a dict of the overall figures plus `by_length`: one entry per bucket of
    `metrics.length_buckets(max_tokens)` (every bucket present, `sentences` 0 when empty)
    with `share`, `exact_match`, `bleu`, the token accuracies and `loss`. `lengths` and
    `buckets` replace the token lengths and their buckets (for example words, to compare
    models with different tokenizers on the same sentences). `sources` (a name per sentence)
    adds `by_source`: per name, its `sentences`, the overall figures and `by_length`. `settings`
    (`DecodingSettings`) replace greedy decoding (their `max_length` is set from `max_tokens`).
    """
    terms, means = encoding.teacher_forced(model, ids, batch_size)
    references, hypotheses = _reconstructions(model, ids, max_tokens, batch_size, means, settings)
    reference_texts = tokenizer.decode(references)
    hypothesis_texts = tokenizer.decode(hypotheses)
    lengths = np.array([len(row) for row in ids] if lengths is None else lengths)

    def figures(rows: np.ndarray) -> dict:
        sums = {key: float(values[rows].sum()) for key, values in terms.items()}
        refs, hyps = [references[i] for i in rows], [hypotheses[i] for i in rows]
        ref_texts, hyp_texts = [reference_texts[i] for i in rows], [hypothesis_texts[i] for i in rows]
        cross_entropy = sums["cross_entropy_sum"] / max(sums["tokens"], 1.0)
        return {
            "loss": cross_entropy,
            "teacher_forced_token_accuracy": sums["correct"] / max(sums["tokens"], 1.0),
            "free_running_token_accuracy": metrics.token_accuracy(refs, hyps),
            "exact_match": metrics.exact_match(ref_texts, hyp_texts),
            "bleu": metrics.corpus_bleu(ref_texts, hyp_texts),
        }

    def by_length(selected: np.ndarray) -> dict:
        table = {}
        for low, high in buckets or metrics.length_buckets(max_tokens):
            rows = selected[(lengths[selected] >= low) & (lengths[selected] <= high)]
            entry = {"tokens": [low, high], "sentences": int(len(rows)), "share": len(rows) / max(len(selected), 1)}
            if len(rows):
                entry.update(figures(rows))
            table[metrics.bucket_label((low, high))] = entry
        return table

    everything = np.arange(len(ids))
    results = figures(everything)
    results["perplexity"] = metrics.perplexity(results["loss"])
    if model.model_config.latent_mode == "variational":
        results["kl"] = float(terms["kl_sum"].sum()) / len(ids)
        results["active_units"] = metrics.active_units(means, delta=0.01)
    results["by_length"] = by_length(everything)
    if sources is not None:
        names = np.array(sources, dtype=object)
        results["by_source"] = {
            name: {"sentences": int((names == name).sum()), **figures(everything[names == name]),
                   "by_length": by_length(everything[names == name])}
            for name in sorted(set(sources))
        }  # fmt: skip
    results["examples"] = [
        {"input": a, "reconstruction": b} for a, b in list(zip(reference_texts, hypothesis_texts))[:examples]
    ]
    return results


SOURCE_COLUMN = "source"


def _reconstructions(model, ids: list, max_tokens: int, batch_size: int, means: np.ndarray, settings=None):
    """Reference and decoded (greedy unless `settings` say otherwise) token lists of every sentence, in order."""
    settings = dataclasses.replace(settings or decoding.DecodingSettings(), max_length=max_tokens + 8)
    references, hypotheses = [], []
    for start in range(0, len(ids), batch_size):
        result = correction.decode(model, means[start : start + batch_size], settings)
        for row, reference in enumerate(ids[start : start + batch_size]):
            references.append([int(t) for t in reference])
            hypotheses.append([int(t) for t in result.tokens[row, : result.lengths[row]]])
    return references, hypotheses


def held_out_texts(loaded: bundle_lib.Bundle, dataset=None, split: str = "test", limit=None, **source) -> list[str]:
    """At most `limit` sentences of a split, cleaned the way the model's training text was (e.g. lowercased).

    `dataset` None is the shipped corpus; `source` takes `data.load_texts`'s other arguments.
    """
    return held_out_rows(loaded, dataset, split, limit, **source)[0]


def held_out_rows(loaded: bundle_lib.Bundle, dataset=None, split: str = "test", limit=None, **source):
    """`(texts, sources)`: as `held_out_texts`, with each text's source name when the data has a `source`
    column (a mix from `training.mix`; sources None otherwise). Cleaning is per source, so the two stay aligned.
    """
    raw = data.load_texts(dataset, split=split, limit=limit, **source)
    lowercase = loaded.config.data.lowercase
    names = None
    if not source.get("data_files") and data.has_column(dataset, split, SOURCE_COLUMN):
        names = data.load_texts(dataset, split=split, limit=limit, text_column=SOURCE_COLUMN)
    if names is None:
        return cleaning.clean_texts(raw, lowercase=lowercase, limit=limit)[0], None
    texts, sources = [], []
    for name in sorted(set(names)):
        cleaned, _ = cleaning.clean_texts([t for t, n in zip(raw, names) if n == name], lowercase=lowercase)
        texts += cleaned
        sources += [name] * len(cleaned)
    return texts, sources


def latency(loaded: bundle_lib.Bundle, texts: list[str], settings) -> dict:
    """Milliseconds per `TextAE.reconstruct` call of one sentence (encode, score, decode): p50 and p90."""
    from textae.text.autoencoder import TextAE

    autoencoder = TextAE(loaded)
    usable = [text for text, problem in zip(texts, autoencoder.check(texts, errors="skip").problems) if not problem]
    autoencoder.reconstruct(usable[:1], settings)  # trace once
    times = []
    for text in usable:
        started = time.perf_counter()
        autoencoder.reconstruct([text], settings)
        times.append(1000 * (time.perf_counter() - started))
    return {"latency_p50_ms": float(np.percentile(times, 50)), "latency_p90_ms": float(np.percentile(times, 90)),
            "latency_sentences": len(times)}  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=program_name("evaluate"), description=__doc__.split("\n\n")[0])
    parser.add_argument("--verbose", action="store_true", help=quiet.VERBOSE_HELP)
    parser.add_argument("--model", default=str(bundle_lib.default_model_dir()), help="model bundle folder")
    parser.add_argument("--dataset", help="hub name, local file or save_to_disk folder (default: shipped corpus)")
    parser.add_argument("--dataset-config", help="hub dataset configuration")
    parser.add_argument("--split", default="test", help="split to evaluate")
    parser.add_argument("--text-column", help="column holding the text")
    parser.add_argument("--data-files", nargs="+", default=(), help="local text/csv/json/parquet files")
    parser.add_argument("--limit", type=int, help="evaluate at most this many sentences")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--method", default="greedy", choices=decoding.METHODS, help="decoding of the reconstructions")
    parser.add_argument("--beam-width", type=int, default=4, help="beams per sentence (--method beam)")
    parser.add_argument(
        "--correction-steps", type=int, default=0,
        help="re-encode and correct the latent this many times, keeping the nearest candidate (textae.text.correction)",
    )  # fmt: skip
    parser.add_argument(
        "--latency", type=int, default=0, metavar="N",
        help="also time TextAE.reconstruct on N sentences one at a time (the app's case): p50 and p90 ms",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.limit is not None and args.limit <= 0:
            raise ValueError(f"--limit must be positive, got {args.limit}.")
        loaded = bundle_lib.load_bundle(args.model)
        texts, sources = held_out_rows(
            loaded,
            args.dataset,
            dataset_config=args.dataset_config,
            split=args.split,
            text_column=args.text_column,
            data_files=tuple(args.data_files),
            limit=args.limit,
        )
        settings = decoding.DecodingSettings(
            method=args.method, beam_width=args.beam_width, correction_steps=args.correction_steps
        )
        settings.validate()
        started = time.perf_counter()
        results = evaluate(loaded, texts, batch_size=args.batch_size, sources=sources, settings=settings)
        results["decoding"] = {**dataclasses.asdict(settings), "seconds": round(time.perf_counter() - started, 1)}
        if args.latency > 0:
            results["decoding"].update(latency(loaded, texts[: args.latency], settings))
    except (ValueError, OSError) as error:
        print(f"evaluate: error: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(results, ensure_ascii=False))
        return 0
    print(f"Model {args.model} on {results['sentences']:,} sentences ({results['skipped_too_long']} too long, skipped)")
    for key, value in results.items():
        if key not in ("examples", "sentences", "skipped_too_long", "by_length", "by_source", "decoding"):
            print(f"  {key:32s} {value:.4f}" if isinstance(value, float) else f"  {key:32s} {value}")
    print("\n" + "\n".join(model_card.length_table(results["by_length"])) + "\n")
    if "by_source" in results:
        print("\n".join(model_card.source_table(results["by_source"])) + "\n")
    for example in results["examples"]:
        print(f"  {example['input']}\n    → {example['reconstruction']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
