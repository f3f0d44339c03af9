"""HTML for reconstructions: differing words highlighted, token confidences as colours."""

from __future__ import annotations

import difflib

_CHANGED = "background:#ffd8a8;border-radius:3px;padding:0 2px"
_MISSING = "color:#c92a2a;text-decoration:line-through"
_TOKEN = "border-radius:3px;padding:1px 3px;margin:1px;display:inline-block;font-family:monospace;font-size:0.9em"


def word_diff(reference: str, hypothesis: str) -> tuple[str, int]:
    """HTML of `hypothesis` with words that differ from `reference` highlighted, and how many differ.

    Changed or added words get an orange background; words of the reference that
    the hypothesis dropped are shown struck through in red.
    """
    source, target = reference.split(), hypothesis.split()
    parts, changed = [], 0
    matcher = difflib.SequenceMatcher(a=source, b=target, autojunk=False)
    for operation, a_start, a_end, b_start, b_end in matcher.get_opcodes():
        if operation == "equal":
            parts += [escape(word) for word in target[b_start:b_end]]
            continue
        if operation == "delete":
            parts += [f'<span style="{_MISSING}">{escape(w)}</span>' for w in source[a_start:a_end]]
        parts += [f'<span style="{_CHANGED}">{escape(w)}</span>' for w in target[b_start:b_end]]
        changed += max(a_end - a_start, b_end - b_start)
    return " ".join(parts) or "<em>(empty)</em>", changed


def confidence_colour(probability: float) -> str:
    """A background colour from red (probability 0) through yellow to green (probability 1)."""
    probability = min(max(float(probability), 0.0), 1.0)
    hue = 120 * probability  # HSL hue: 0 red, 60 yellow, 120 green
    return f"hsl({hue:.0f}, 75%, 82%)"


def token_confidences(pieces: list[str], probabilities: list[float]) -> str:
    """HTML of each decoded piece on a background coloured by the model's probability for it."""
    spans = []
    for piece, probability in zip(pieces, probabilities):
        text = escape(piece.replace("▁", "␣")) or "&nbsp;"
        spans.append(
            f'<span title="p = {probability:.3f}" style="{_TOKEN};background:{confidence_colour(probability)}">'
            f"{text}</span>"
        )
    return "".join(spans) or "<em>(no tokens)</em>"


def legend() -> str:
    """A small colour legend for `token_confidences`."""
    steps = "".join(
        f'<span style="{_TOKEN};background:{confidence_colour(p)}">{p:.1f}</span>'
        for p in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    )
    return f'<span style="font-size:0.85em;color:#666">token probability:</span> {steps}'


_SPECIALS = {ord(c): f"&#{ord(c)};" for c in "&<>\"'\\`*_{}[]()#+-!|~$"}


def escape(text: str) -> str:
    """`text` safe inside `st.markdown(..., unsafe_allow_html=True)`: no HTML, markdown or LaTeX."""
    return text.translate(_SPECIALS) if text else ""
