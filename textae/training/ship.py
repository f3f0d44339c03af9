"""python -m training.ship: turn a finished run into the shipped model in assets/model.

    python -m training.ship --run runs/shipped --notes docs/shipped_model_notes.md

Evaluates the run's bundle on the corpus's held-out test split (the numbers in
the model card come from here), stores latents of validation sentences for the
app's explorer, writes a model card with the training command, wall time and
the notes, and replaces `assets/model` atomically.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from textae import quiet  # noqa: E402
from textae.training import program_name  # noqa: E402

quiet.start_tensorflow()  # before anything imports TensorFlow: its C++ start-up lines stay hidden

from textae.text import attributes as textae_attributes  # noqa: E402
from textae.text import bundle, explorer, model_card  # noqa: E402
from textae.text import examples as text_examples  # noqa: E402
from textae.text.autoencoder import TextAE  # noqa: E402
from textae.text.decoding import DecodingSettings  # noqa: E402
from textae.training import attributes, evaluate, increments, plots  # noqa: E402
from textae.training import mix as mix_module  # noqa: E402

LEARNING_CURVES_PLOT = "learning_curves.png"


def ship(run: Path, output: Path, notes: str = "", limit: int | None = None, mix: Path | None = None) -> dict:
    """Evaluate the run's model and write it, with card, explorer latents and its learning curve.

    The card's figures: the shipped WordNet corpus's test split (`test`, comparable with every earlier model),
    and with `mix` (a `training.mix` folder) that mix's test split by source (`mix_test`), the sentences of
    `textae.text.examples.PROBES`, and the mix's attribution.
    """
    loaded = bundle.load_bundle(run / "model")
    results = evaluate.evaluate(loaded, evaluate.held_out_texts(loaded, limit=limit))  # as evaluate's CLI reads them
    examples = results.pop("examples")
    training = json.loads((run / "model" / "metrics.json").read_text(encoding="utf-8"))
    training = training.get("training", training)  # shipping a shipped bundle again keeps its training record
    autoencoder = TextAE(loaded)
    arithmetic = {name: attributes.measure(autoencoder, name) for name in textae_attributes.PAIRS}
    metrics = {"test": results, "training": training, "attributes": arithmetic}
    extra = {}
    if mix is not None:
        texts, sources = evaluate.held_out_rows(loaded, str(mix), limit=limit)
        metrics["mix_test"] = evaluate.evaluate(loaded, texts, sources=sources)
        metrics["mix_test"].pop("examples")
        metrics["probes"] = [
            {"input": text, "greedy": r.output, "corrected": c.output}
            for text, r, c in zip(
                text_examples.PROBES,
                autoencoder.reconstruct(list(text_examples.PROBES)),
                autoencoder.reconstruct(list(text_examples.PROBES), DecodingSettings(correction_steps=3)),
            )
        ]
    curve = increments.read_log_curves(run / "model")
    if curve:
        extra[increments.CURVES_FILE] = curve
        points = [json.loads(line) for line in curve.decode("utf-8").splitlines() if line.strip()]
        extra[LEARNING_CURVES_PLOT] = plots.learning_curves(points)
    card_notes = _notes(notes, training, examples, metrics.get("probes"), mix, bool(curve))
    card = bundle.render_model_card(loaded.config, metrics, notes=card_notes, command=_command(loaded))
    sentences, vectors = explorer.explorer_latents(autoencoder)
    extra[bundle.LATENTS_FILE] = bundle.latents_to_bytes(sentences, vectors)
    extra[model_card.BY_LENGTH_PLOT] = plots.by_length(results["by_length"], "Test split: reconstruction by length")
    bundle.save_bundle(output, loaded.model, loaded.tokenizer, loaded.config, metrics=metrics, card=card,
                       extra_files=extra)  # fmt: skip
    return metrics


def _command(loaded: bundle.Bundle) -> str | None:
    card = (loaded.path / "MODEL_CARD.md").read_text(encoding="utf-8")
    for line in card.splitlines():
        if line.strip().startswith("python -m training.train"):
            return line.strip()
    return None


def _notes(notes: str, training: dict, examples: list[dict], probes=None, mix=None, curve=False) -> str:
    minutes = training.get("wall_seconds", training.get("train_seconds", 0)) / 60
    lines = [
        f"The last training increment took {minutes:.0f} minutes of wall time on a 2-core CPU machine (no GPU), "
        f"{training.get('epochs', '?')} epochs, {training.get('optimizer_steps', 0):,} optimizer steps in all. "
        "Test metrics: `python -m training.evaluate` on the held-out test split (never seen by the model or its "
        "tokenizer); this card was written by `python -m training.ship`.",
    ]
    if curve:
        lines += ["", f"![Validation loss and exact match by length across all increments]({LEARNING_CURVES_PLOT})"]
    if probes:
        lines += ["", "Sentences written for the app (kept out of the training data), greedy and with three latent "
                  "corrections (`--correction-steps 3`):", ""]  # fmt: skip
        lines += [f"- {p['input']}\n  → {p['greedy']}\n  → {p['corrected']}" for p in probes]
    lines += ["", "Greedy reconstructions of the first test sentences:", ""]
    lines += [f"- {e['input']}\n  → {e['reconstruction']}" for e in examples]
    if mix is not None:
        lines += ["", mix_module.attribution(mix)]
    return "\n".join(lines) + ("\n\n" + notes.strip() if notes.strip() else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=program_name("ship"), description=__doc__.split("\n\n")[0])
    parser.add_argument("--verbose", action="store_true", help=quiet.VERBOSE_HELP)
    parser.add_argument("--run", required=True, help="run folder holding model/")
    parser.add_argument("--output", default=str(bundle.shipped_model_dir()), help="where to write the model")
    parser.add_argument("--notes", help="markdown file appended to the model card")
    parser.add_argument("--limit", type=int, help="evaluate on at most this many test sentences")
    parser.add_argument("--mix", help="the training.mix folder the model was trained on: by-source figures, credits")
    args = parser.parse_args(argv)
    try:
        notes = Path(args.notes).read_text(encoding="utf-8") if args.notes else ""
        metrics = ship(Path(args.run), Path(args.output), notes, args.limit, Path(args.mix) if args.mix else None)
    except (ValueError, OSError) as error:
        print(f"ship: error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(metrics["test"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
