"""The Arithmetic tab: move a sentence along an attribute direction, mean(z_B) − mean(z_A) (Shen et al. 2020)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from textae.app import inputs, render
from textae.text import attributes
from textae.text.inputs import InputError

EXAMPLES = {  # sentences of group A from the corpus's test split
    "tense": "This dress is sewn by hand",
    "negation": "He is fun to have around",
}
MAX_GROUP_LINES = 2000
STEPS = 5  # strengths shown: 0 (the reconstruction) up to the chosen one


@st.cache_data(show_spinner=False, max_entries=8)
def _shipped_pair(name: str) -> tuple[list[str], list[str]]:
    return attributes.load(name)


@st.cache_data(show_spinner=False, max_entries=16)
def _offset(_autoencoder, model_key: str, group_a: tuple, group_b: tuple):
    """The attribute vector from the sentences the model can take, and how many of each group it skipped."""
    usable = []
    for group in (group_a, group_b):
        checked = _autoencoder.check(list(group), errors="skip")
        usable.append(checked.usable_texts)
    if not usable[0] or not usable[1]:
        raise InputError("Each group needs at least one sentence this model can take (one per line).")
    skipped = (len(group_a) - len(usable[0]), len(group_b) - len(usable[1]))
    return _autoencoder.offset(*usable), skipped


@st.cache_data(show_spinner=False, max_entries=64)
def _move(_autoencoder, model_key: str, group_a: tuple, group_b: tuple, sentence: str, strengths: tuple, settings):
    vector, skipped = _offset(_autoencoder, model_key, group_a, group_b)
    return _autoencoder.apply_offset([sentence], vector, strengths, settings)[0], skipped


def _fill_groups() -> None:
    """Put the chosen shipped pair's groups and example into the inputs."""
    name = st.session_state.get("arithmetic_pair", "tense")
    group_a, group_b = _shipped_pair(name)
    st.session_state["arithmetic_a"] = "\n".join(group_a)
    st.session_state["arithmetic_b"] = "\n".join(group_b)
    st.session_state["arithmetic_sentence"] = EXAMPLES[name]


def _group(text: str, name: str) -> tuple[str, ...]:
    lines = tuple(line.strip() for line in (text or "").splitlines() if line.strip())
    if not lines:
        raise InputError(f"Please give group {name} at least one sentence (one per line).")
    if len(lines) > MAX_GROUP_LINES:
        raise InputError(f"Group {name} has {len(lines):,} lines; please give at most {MAX_GROUP_LINES:,}.")
    return lines


def arithmetic_tab(autoencoder, model_key: str, settings) -> None:
    """Two groups that differ in one attribute give a direction; add it to a sentence and decode."""
    st.caption(
        "Two groups of sentences that differ in one attribute give a direction in latent space: the mean latent "
        "of group B minus the mean latent of group A. Add it to a sentence of kind A, stronger and stronger, "
        "and decode each point (Shen et al. 2020)."
    )
    if "arithmetic_a" not in st.session_state:
        with inputs.friendly_errors():
            _fill_groups()
    st.selectbox(
        "Shipped example pair", list(attributes.PAIRS), key="arithmetic_pair",
        format_func=lambda name: attributes.PAIRS[name].title, on_change=_fill_groups,
    )  # fmt: skip
    with st.form("arithmetic"):
        left, right = st.columns(2)
        group_a = left.text_area("Group A, one sentence per line", key="arithmetic_a", height=150)
        group_b = right.text_area("Group B, one sentence per line", key="arithmetic_b", height=150)
        sentence = st.text_input("Sentence to move", key="arithmetic_sentence", max_chars=1000)
        strength = st.slider("Strength (times the A → B vector)", 0.25, 4.0, 2.0, 0.25, key="arithmetic_strength")
        submitted = st.form_submit_button("Move", type="primary")
    if submitted:
        inputs.store_request(
            "arithmetic_request",
            lambda: (_group(group_a, "A"), _group(group_b, "B"), inputs.sentence(sentence), float(strength)),
        )
    request = st.session_state.get("arithmetic_request")
    if not request:
        return
    with inputs.friendly_errors(), st.spinner("Moving…"):
        group_a, group_b, sentence, strength = request
        strengths = tuple(float(k) for k in np.linspace(0.0, strength, STEPS))
        outputs, skipped = _move(autoencoder, model_key, group_a, group_b, sentence, strengths, settings)
        if any(skipped):
            st.caption(f"Skipped sentences the model cannot take: {skipped[0]} of group A, {skipped[1]} of group B.")
        rows = []
        for k, output in zip(strengths, outputs):
            diff, _ = render.word_diff(outputs[0], output)  # changes against the plain reconstruction
            rows.append(f'<tr><td style="font-family:monospace;padding-right:1em">{k:+.2f}</td><td>{diff}</td></tr>')
        header = '<tr><th style="width:6em">strength</th><th>decoded sentence</th></tr>'
        st.markdown(f'<table style="width:100%">{header}{"".join(rows)}</table>', unsafe_allow_html=True)
        st.markdown(render.legend(), unsafe_allow_html=True)
