"""The Reconstruct, Interpolate and Sample tabs.

Each tab stores its submitted request in `st.session_state`; results come from
`st.cache_data` keyed on (model, request, decoding settings), so a rerun caused
by another widget redraws them without running the model again.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from textae.app import inputs, render
from textae.text import examples
from textae.text import latent as latent_space

EXAMPLES = examples.EVERYDAY  # written for the app, and kept out of every training mix (textae.text.examples)
ANOMALY_HELP = (
    "**Anomaly score** is the reconstruction's negative log-likelihood per token (in nats): how surprised the "
    "decoder is by each true next token when it is fed the sentence's own latent vector. Sentences like the "
    "training text score low; unusual wording, other domains or typos score high. Its exponential is a perplexity."
)


@st.cache_data(show_spinner=False, max_entries=64)
def _reconstruct(_autoencoder, model_key, texts, settings):
    return _autoencoder.reconstruct(list(texts), settings)


@st.cache_data(show_spinner=False, max_entries=64)
def _interpolate(_autoencoder, model_key, a, b, steps, method, settings):
    return _autoencoder.interpolate(a, b, steps=steps, method=method, settings=settings)


@st.cache_data(show_spinner=False, max_entries=64)
def _sample(_autoencoder, model_key, n, around, radius, seed, settings):
    return _autoencoder.sample(n, around=around, radius=radius, settings=settings, seed=seed)


def _use_example(text: str) -> None:
    st.session_state["reconstruct_text"] = text
    st.session_state["reconstruct_request"] = (text,)


def reconstruct_tab(autoencoder, model_key: str, settings) -> None:
    """Sentences in, reconstructions out, with differences, confidences and anomaly scores."""
    form_column, result_column = st.columns([2, 3], gap="large")
    with form_column:
        st.caption("Encode each sentence to a latent vector and decode it back.")
        with st.form("reconstruct"):
            text = st.text_area("Sentences, one per line", key="reconstruct_text", height=130, max_chars=5000)
            submitted = st.form_submit_button("Reconstruct", type="primary")
        st.caption("Or try one of these everyday sentences (none of them was in the training data):")
        for index, example in enumerate(EXAMPLES):
            st.button(example, key=f"example_{index}", on_click=_use_example, args=(example,), type="tertiary")
    with result_column:
        if submitted:
            inputs.store_request("reconstruct_request", lambda: tuple(inputs.sentences(text)))
        request = st.session_state.get("reconstruct_request")
        if not request:
            st.info("Reconstructions appear here: changed words are highlighted in orange.", icon=":material/info:")
            return
        with inputs.friendly_errors(), st.spinner("Reconstructing…"):
            results = _reconstruct(autoencoder, model_key, request, settings)
            for result in results:
                _show_reconstruction(result)
            st.markdown(render.legend(), unsafe_allow_html=True)
            st.caption(ANOMALY_HELP)


def _show_reconstruction(result) -> None:
    diff, changed = render.word_diff(result.input, result.output)
    verdict = "exact match ✓" if result.exact_match else f"{changed} word(s) differ"
    with st.container(border=True):
        st.markdown(f"**Input** &nbsp; {render.escape(result.input)}", unsafe_allow_html=True)
        st.markdown(f"**Reconstruction** &nbsp; {diff}", unsafe_allow_html=True)
        st.markdown(render.token_confidences(result.pieces, result.token_probabilities), unsafe_allow_html=True)
        st.caption(
            f"{verdict} · BLEU {result.bleu:.1f} · anomaly score {result.anomaly_score:.2f} nats/token "
            f"(perplexity {math.exp(min(result.anomaly_score, 50)):.1f})"
        )


def interpolate_tab(autoencoder, model_key: str, settings) -> None:
    """Decode evenly spaced points on the path between two sentences' latent vectors."""
    st.caption("Walk through the latent space from one sentence to another and decode each step.")
    with st.form("interpolate"):
        left, right = st.columns(2)
        a = left.text_input("From", EXAMPLES[0], key="interpolate_a", max_chars=1000)
        b = right.text_input("To", EXAMPLES[1], key="interpolate_b", max_chars=1000)
        left, right = st.columns(2)
        steps = left.slider("Steps (both ends included)", 3, 15, 7, key="interpolate_steps")
        method = right.radio(
            "Path",
            ["slerp", "lerp"],
            key="interpolate_method",
            horizontal=True,
            format_func={"slerp": "spherical (slerp)", "lerp": "linear (lerp)"}.get,
        )
        submitted = st.form_submit_button("Interpolate", type="primary")
    if submitted:
        inputs.store_request(
            "interpolate_request",
            lambda: (inputs.sentence(a, "a first sentence"), inputs.sentence(b, "a second sentence"), steps, method),
        )
    request = st.session_state.get("interpolate_request")
    if not request:
        return
    with inputs.friendly_errors(), st.spinner("Interpolating…"):
        path = _interpolate(autoencoder, model_key, *request, settings)
        rows = []
        for step in path:
            mark = ' <span style="color:#868e96">↺ same as above</span>' if step.duplicate_of_previous else ""
            style = "color:#868e96" if step.duplicate_of_previous else ""
            rows.append(
                f'<tr><td style="font-family:monospace;padding-right:1em">{step.position:.2f}</td>'
                f'<td style="{style}">{render.escape(step.text)}{mark}</td></tr>'
            )
        header = '<tr><th style="width:6em">position</th><th>decoded sentence</th></tr>'
        st.markdown(f'<table style="width:100%">{header}{"".join(rows)}</table>', unsafe_allow_html=True)
        distances = latent_space.distances_to_ends(np.stack([step.vector for step in path]))  # (steps, 2)
        st.plotly_chart(_distance_chart([step.position for step in path], distances), width="stretch")


def _distance_chart(positions, distances) -> go.Figure:
    figure = go.Figure()
    for column, name in ((0, "from the first sentence"), (1, "from the second sentence")):
        figure.add_trace(go.Scatter(x=positions, y=distances[:, column], mode="lines+markers", name=name))
    figure.update_layout(
        height=260,
        margin=dict(l=10, r=10, t=30, b=10),
        title="Cosine distance of each step to the two ends",
        xaxis_title="position on the path",
        yaxis_title="cosine distance",
        legend=dict(orientation="h", y=-0.35),
    )
    return figure


def sample_tab(autoencoder, model_key: str, settings) -> None:
    """Decode random latent points: from the prior (variational models) or around a sentence."""
    sources = ["around a sentence"] + (["from the prior N(0, I)"] if autoencoder.variational else [])
    st.caption(
        "Decode random points of the latent space."
        + (
            ""
            if autoencoder.variational
            else " This model is deterministic, so it has no prior to sample from:"
            " points are drawn around a sentence you choose."
        )
    )
    with st.form("sample"):
        source = st.radio("Where to sample", sources, key="sample_source", horizontal=True)
        around = st.text_input("Sentence", EXAMPLES[2], key="sample_around", max_chars=1000)
        left, middle, right = st.columns(3)
        radius = left.slider("Radius (relative to the sentence's norm)", 0.0, 1.5, 0.3, 0.05, key="sample_radius")
        count = middle.slider("How many", 1, 12, 5, key="sample_count")
        seed = right.number_input("Seed", 0, 10_000, 0, key="sample_seed")
        submitted = st.form_submit_button("Sample", type="primary")
    if submitted:
        inputs.store_request(
            "sample_request",
            lambda: (count, inputs.sentence(around) if source == sources[0] else None, float(radius), int(seed)),
        )
    request = st.session_state.get("sample_request")
    if not request:
        return
    with inputs.friendly_errors(), st.spinner("Sampling…"):
        texts = _sample(autoencoder, model_key, *request, settings)
        st.markdown("\n".join(f"{i}. {render.escape(text)}" for i, text in enumerate(texts, 1)), unsafe_allow_html=True)
