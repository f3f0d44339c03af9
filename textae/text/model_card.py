"""The model card saved as MODEL_CARD.md in every model folder."""

from __future__ import annotations

from typing import Any

import numpy as np

from textae.text.config import Config


def _table(rows) -> list[str]:
    lines = ["| Setting | Value |", "| --- | --- |"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return lines


def flatten(values: dict, prefix: str = "") -> list[tuple[str, Any]]:
    """`(dotted.name, shown value)` rows of nested metrics: floats to 4 digits, long lists as a count."""
    rows = []
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows += flatten(value, f"{name}.")
        elif isinstance(value, (float, np.floating)):
            rows.append((name, f"{float(value):.4g}"))
        elif isinstance(value, (list, tuple)) and len(value) > 8:
            rows.append((name, f"{len(value)} values"))
        else:
            rows.append((name, value))
    return rows


BY_LENGTH_PLOT = "by_length.png"


def split_by_length(metrics: dict) -> tuple[dict, dict]:
    """`metrics` without its tables (by length, attribute arithmetic), and the by-length tables: `{"test": {...}}`."""
    metrics, tables = {key: value for key, value in metrics.items() if key != "attributes"}, {}
    for split in ("test", "validation"):
        section = metrics.get(split)
        if isinstance(section, dict) and section.get("by_length"):
            tables[split] = section["by_length"]
            metrics[split] = {key: value for key, value in section.items() if key not in ("by_length", "by_source")}
    return metrics, tables


def attribute_table(results: dict) -> list[str]:
    """Latent vector arithmetic (`training.attributes.measure` per pair) as Markdown."""
    lines = []
    for result in results.values():
        lines += [
            "",
            f"**{result['title']}**, {result['sentences']} test sentences of group A "
            f"(groups of {result['group_sizes'][0]} and {result['group_sizes'][1]} training sentences):",
            "",
            "| strength | moved to B | BLEU to the input |",
            "|---:|---:|---:|",
        ]
        for strength, figures in result["by_strength"].items():
            mark = " ←" if float(strength) == result["best_strength"] else ""
            lines.append(f"| {strength}{mark} | {figures['transfer']:.2f} | {figures['bleu']:.1f} |")
        lines += ["", *[f"- {e['input']}\n  → {e['output']}" for e in result.get("examples", [])[:3]]]
    return lines


def ordered_buckets(by_length: dict) -> dict:
    """The buckets shortest first (a JSON file with sorted keys puts "9-16" after "33-48")."""
    return dict(sorted(by_length.items(), key=lambda item: item[1]["tokens"][0]))


def length_table(by_length: dict) -> list[str]:
    """Figures by sentence length (`training.evaluate`'s `by_length`) as a Markdown table."""
    lines = [
        "| tokens | sentences | share | exact match | BLEU | teacher-forced acc. | free-running acc. |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, entry in ordered_buckets(by_length).items():
        if not entry["sentences"]:
            lines.append(f"| {label.replace('-', '–')} | 0 | 0 % | – | – | – | – |")
            continue
        lines.append(
            f"| {label.replace('-', '–')} | {entry['sentences']:,} | {entry['share']:.0%} | {entry['exact_match']:.3f} "
            f"| {entry['bleu']:.1f} | {entry['teacher_forced_token_accuracy']:.3f} "
            f"| {entry['free_running_token_accuracy']:.3f} |"
        )
    return lines


def source_table(by_source: dict) -> list[str]:
    """Figures by source (`training.evaluate`'s `by_source`): exact match overall and per length bucket."""
    buckets = list(ordered_buckets(next(iter(by_source.values()))["by_length"])) if by_source else []
    lines = [
        "| source | sentences | exact match | BLEU | "
        + " | ".join(f"EM {b.replace('-', '–')}" for b in buckets)
        + " |",
        "|---|---:|---:|---:|" + "---:|" * len(buckets),
    ]
    for name, entry in by_source.items():
        cells = []
        for bucket in buckets:
            cell = entry["by_length"][bucket]
            cells.append(f"{cell['exact_match']:.3f} ({cell['sentences']:,})" if cell["sentences"] else "–")
        lines.append(
            f"| {name} | {entry['sentences']:,} | {entry['exact_match']:.3f} | {entry['bleu']:.1f} | "
            + " | ".join(cells)
            + " |"
        )
    return lines


def render_model_card(config: Config, metrics: dict | None = None, notes: str = "", command: str | None = None) -> str:
    """A markdown model card: what the model is, its architecture, metrics, how to reproduce it, its limits.

    Args:
        config: The training `Config`.
        metrics: Evaluation results (nested dicts are flattened).
        notes: Extra markdown from the training run (data, timing, hardware).
        command: The command that trained the model; a generic one when None.
    """
    model, data, train = config.model, config.data, config.train
    dataset = data.dataset or "the shipped corpus (assets/corpus)"
    direction = "bidirectional " if model.bidirectional else ""
    cell = model.cell_type.upper()
    lines = [
        "# textae model card",
        "",
        f"A recurrent text autoencoder: a {model.num_layers}-layer {direction}{cell} encoder maps a "
        f"sentence of up to {data.max_tokens} SentencePiece tokens to a {model.latent_dim}-dimensional "
        f"{model.latent_mode} latent vector, and a {cell} decoder reconstructs the sentence from it. "
        f"Trained on {dataset}.",
        "",
        "## Architecture",
        "",
        *_table(
            [
                ("vocabulary (SentencePiece " + config.tokenizer.model_type + ")", model.vocab_size),
                ("embedding_dim", model.embedding_dim),
                ("hidden_dim", model.hidden_dim),
                ("latent_dim", model.latent_dim),
                ("num_layers", model.num_layers),
                ("cell_type", model.cell_type),
                ("bidirectional encoder", model.bidirectional),
                ("latent_mode", model.latent_mode),
                ("tie_embeddings", model.tie_embeddings),
                ("dropout_rate / embedding_dropout_rate", f"{model.dropout_rate} / {model.embedding_dropout_rate}"),
                ("scheduled sampling", f"{model.sampling_schedule} (k={model.sampling_k}, min={model.sampling_min})"),
                (
                    "training",
                    f"{train.epochs} epochs, batch {train.batch_size}, {train.optimizer} lr {train.learning_rate}",
                ),
            ]
        ),
        "",
        "## Metrics",
        "",
    ]
    all_metrics = metrics
    metrics, by_length = split_by_length(metrics or {})
    rows = flatten(metrics)
    lines += _table(rows) if rows else ["No metrics were recorded."]
    for split, table in by_length.items():
        lines += [
            "",
            f"## Reconstruction by sentence length ({split} split)",
            "",
            f"Greedy reconstructions of the {split} split, by the sentence's length in this model's tokens.",
            "",
            *length_table(table),
        ]
        if split == "test":
            lines += ["", f"![Exact match and BLEU by sentence length]({BY_LENGTH_PLOT})"]
        by_source = ((all_metrics or {}).get(split) or {}).get("by_source")
        if by_source:
            lines += [
                "",
                f"### By source ({split} split)",
                "",
                "Greedy exact match per source of the training mix (`training.mix`), overall and by length in "
                "tokens (sentences in brackets).",
                "",
                *source_table(by_source),
            ]
    if (all_metrics or {}).get("attributes"):
        lines += [
            "",
            "## Latent vector arithmetic",
            "",
            "Sentences of group A moved by strength × (mean latent of B − mean latent of A) (Shen et al. 2020), "
            "greedy-decoded: the share whose output carries B's marker and not A's, and the output's BLEU to its "
            "input. ← marks the strength that balances the two (the largest geometric mean). "
            "`python -m training.attributes --measure`.",
            *attribute_table(all_metrics["attributes"]),
        ]
    lines += [
        "",
        "## How to reproduce",
        "",
        "The full configuration is in `config.json` beside this card.",
        "",
        "```bash",
        command or "python -m training.train --config config.json",
        "```",
        "",
        "## Limitations",
        "",
        f"- Sentences longer than {data.max_tokens} tokens were not seen in training; expect poor reconstructions.",
        "- It reproduces the style and vocabulary of its training text; other domains and languages decode badly.",
        "- Points of the latent space far from encoded sentences may decode to ungrammatical text.",
        "- It is an autoencoder, not a language model: it does not answer, summarise or check facts.",
    ]
    if model.latent_mode == "deterministic":
        lines.append("- The latent space has no prior: sample around an encoded sentence rather than from N(0, I).")
    if notes:
        lines += ["", "## Notes", "", notes.strip()]
    return "\n".join(lines) + "\n"
