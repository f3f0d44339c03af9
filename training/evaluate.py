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
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from textae import bundle as bundle_lib  # noqa: E402
from textae import cleaning, data, decoding, metrics, pipeline, training_step  # noqa: E402


def evaluate(loaded: bundle_lib.Bundle, texts: list[str], batch_size: int = 256) -> dict:
    """Metrics of `loaded` on `texts` (sentences over the model's length limit are skipped)."""
    import tensorflow as tf

    model, tokenizer, config = loaded.model, loaded.tokenizer, loaded.config
    ids, report = pipeline.tokenize_texts(tokenizer, texts, min_tokens=1, max_tokens=config.data.max_tokens)
    if not ids:
        raise ValueError("No sentence is short enough for this model; check the data or its --max-tokens.")
    dataset = pipeline.make_dataset(ids, batch_size, shuffle=False)
    terms_function = tf.function(
        lambda batch: training_step.loss_terms(model, batch, training=False), reduce_retracing=True
    )
    totals = {"cross_entropy_sum": 0.0, "tokens": 0.0, "correct": 0.0, "kl_sum": 0.0, "sentences": 0.0}
    for batch in dataset:
        terms = terms_function(batch)
        for key in totals:
            totals[key] += float(terms[key])

    references, hypotheses, means = [], [], []
    settings = decoding.DecodingSettings(max_length=config.data.max_tokens + 8)
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        mean, _ = model.encode(pipeline.pad_batch(chunk))
        means.append(np.asarray(mean))
        result = decoding.decode(model, mean, settings)
        for row, reference in enumerate(chunk):
            references.append([int(t) for t in reference])
            hypotheses.append([int(t) for t in result.tokens[row, : result.lengths[row]]])
    reference_texts = tokenizer.decode(references)
    hypothesis_texts = tokenizer.decode(hypotheses)
    cross_entropy = totals["cross_entropy_sum"] / totals["tokens"]
    results = {
        "sentences": len(ids),
        "skipped_too_long": report["too_long"],
        "loss": cross_entropy,
        "perplexity": metrics.perplexity(cross_entropy),
        "teacher_forced_token_accuracy": totals["correct"] / totals["tokens"],
        "free_running_token_accuracy": metrics.token_accuracy(references, hypotheses),
        "exact_match": metrics.exact_match(reference_texts, hypothesis_texts),
        "bleu": metrics.corpus_bleu(reference_texts, hypothesis_texts),
    }
    if config.model.latent_mode == "variational":
        results["kl"] = totals["kl_sum"] / totals["sentences"]
        results["active_units"] = metrics.active_units(np.concatenate(means), delta=0.01)
    results["examples"] = [
        {"input": a, "reconstruction": b} for a, b in list(zip(reference_texts, hypothesis_texts))[:5]
    ]
    return results


def held_out_texts(loaded: bundle_lib.Bundle, dataset=None, split: str = "test", limit=None, **source) -> list[str]:
    """At most `limit` sentences of a split, cleaned the way the model's training text was (e.g. lowercased).

    `dataset` None is the shipped corpus; `source` takes `data.load_texts`'s other arguments.
    """
    raw = data.load_texts(dataset, split=split, limit=limit, **source)
    texts, _ = cleaning.clean_texts(raw, lowercase=loaded.config.data.lowercase, limit=limit)
    return texts


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(bundle_lib.default_model_dir()), help="model bundle folder")
    parser.add_argument("--dataset", help="hub name, local file or save_to_disk folder (default: shipped corpus)")
    parser.add_argument("--dataset-config", help="hub dataset configuration")
    parser.add_argument("--split", default="test", help="split to evaluate")
    parser.add_argument("--text-column", help="column holding the text")
    parser.add_argument("--data-files", nargs="+", default=(), help="local text/csv/json/parquet files")
    parser.add_argument("--limit", type=int, help="evaluate at most this many sentences")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.limit is not None and args.limit <= 0:
            raise ValueError(f"--limit must be positive, got {args.limit}.")
        loaded = bundle_lib.load_bundle(args.model)
        texts = held_out_texts(
            loaded,
            args.dataset,
            dataset_config=args.dataset_config,
            split=args.split,
            text_column=args.text_column,
            data_files=tuple(args.data_files),
            limit=args.limit,
        )
        results = evaluate(loaded, texts, batch_size=args.batch_size)
    except (ValueError, OSError) as error:
        print(f"evaluate: error: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(results, ensure_ascii=False))
        return 0
    print(f"Model {args.model} on {results['sentences']:,} sentences ({results['skipped_too_long']} too long, skipped)")
    for key, value in results.items():
        if key not in ("examples", "sentences", "skipped_too_long"):
            print(f"  {key:32s} {value:.4f}" if isinstance(value, float) else f"  {key:32s} {value}")
    for example in results["examples"]:
        print(f"  {example['input']}\n    → {example['reconstruction']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
