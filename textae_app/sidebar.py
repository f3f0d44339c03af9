"""The sidebar: which model, what it is, and how to decode (for every tab)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from textae.decoding import DecodingSettings

METHOD_LABELS = {"greedy": "Greedy (most likely token)", "beam": "Beam search", "sample": "Sampling"}


def choose_model(models: dict[str, Path]) -> Path:
    """A selectbox of the discovered model folders; returns the chosen one."""
    label = st.sidebar.selectbox(
        "Model", list(models), key="model_label", help="The shipped model and any trained folder under runs/*/model."
    )
    return models[label]


def _flatten(values: dict, prefix: str = "") -> list[tuple[str, object]]:
    rows = []
    for key, value in values.items():
        if isinstance(value, dict):
            rows += _flatten(value, f"{prefix}{key}.")
        elif isinstance(value, (int, float, str, bool)):
            rows.append((f"{prefix}{key}", f"{value:.4g}" if isinstance(value, float) else value))
    return rows


def describe(autoencoder) -> None:
    """A one-line summary of the model, its model card and its metrics."""
    model_config = autoencoder.model.model_config
    st.sidebar.caption(
        f"{model_config.cell_type.upper()} · latent {autoencoder.latent_dim} ({model_config.latent_mode}) · "
        f"vocabulary {model_config.vocab_size} · sentences up to {autoencoder.max_input_tokens} tokens"
    )
    with st.sidebar.expander("Model card"):
        st.markdown(autoencoder.card or "This model folder has no MODEL_CARD.md.")
    with st.sidebar.expander("Metrics"):
        rows = _flatten(autoencoder.metrics or {})
        if rows:
            st.markdown("\n".join(["| metric | value |", "| --- | --- |", *[f"| {k} | {v} |" for k, v in rows]]))
        else:
            st.caption("No metrics were recorded for this model.")


def decoding_settings() -> DecodingSettings:
    """The decoding form; its applied values hold for every tab."""
    with st.sidebar.form("decoding"):
        st.markdown("**Decoding**")
        method = st.radio("Method", list(METHOD_LABELS), format_func=METHOD_LABELS.get, key="decoding_method")
        beam_width = st.slider("Beam width (beam search)", 2, 8, 4, key="beam_width")
        temperature = st.slider("Temperature (sampling)", 0.1, 2.0, 1.0, 0.1, key="temperature")
        st.form_submit_button("Apply", width="stretch")
    return DecodingSettings(method=method, beam_width=beam_width, temperature=float(temperature))
