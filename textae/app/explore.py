"""The Explore tab: corpus sentences on a 2-D map of the latent space, and a query among them."""

from __future__ import annotations

import html
import importlib.util
import textwrap

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from textae.app import inputs, models, render
from textae.text import latent as latent_space

PROJECTIONS = ["PCA", "t-SNE"] + (["UMAP"] if importlib.util.find_spec("umap") else [])


@st.cache_resource(show_spinner=False, max_entries=8)
def _projection(_autoencoder, model_key: str, method: str):
    """`(sentences, vectors (N, Z), points (N, 2), fitted projector or None)`, once per model and method."""
    sentences, vectors = models.corpus_latents(_autoencoder, model_key)
    if method == "PCA":
        from sklearn.decomposition import PCA

        projector = PCA(n_components=2, random_state=0).fit(vectors)
        return sentences, vectors, projector.transform(vectors), projector
    if method == "UMAP":
        import umap

        projector = umap.UMAP(n_components=2, random_state=0).fit(vectors)
        return sentences, vectors, projector.embedding_, projector
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    perplexity = float(min(30, max(2, (len(vectors) - 1) // 3)))
    tsne = TSNE(n_components=2, init="pca", perplexity=perplexity, max_iter=500, random_state=0)
    with threadpool_limits(1):  # OpenMP threads competing with TensorFlow's made t-SNE 10x slower here
        points = tsne.fit_transform(vectors)
    return sentences, vectors, points, None  # t-SNE cannot place new points: use the nearest neighbour's


@st.cache_data(show_spinner=False, max_entries=64)
def _place_query(_autoencoder, model_key: str, method: str, query: str, k: int):
    """`([(index, cosine similarity)] of the query's k nearest corpus sentences, its 2-D point)`."""
    _, vectors, points, projector = _projection(_autoencoder, model_key, method)
    query_vector = _autoencoder.encode([query])[0]
    indices, similarities = latent_space.nearest_neighbours(query_vector, vectors, k)
    point = points[indices[0]] if projector is None else projector.transform(query_vector[None, :])[0]
    return list(zip(indices.tolist(), similarities.tolist())), point


def explore_tab(autoencoder, model_key: str) -> None:
    """The map form, the map and the query's nearest neighbours."""
    st.caption(
        f"Up to {models.CORPUS_SIZE:,} corpus sentences, each a point: its latent vector projected to two "
        "dimensions. Nearby points are sentences the encoder finds similar. Hover to read them; drag to zoom."
    )
    with st.form("explore"):
        left, middle, right = st.columns([1, 3, 1])
        method = left.selectbox("Projection", PROJECTIONS, key="explore_method")
        query = middle.text_input("Place a sentence on the map (optional)", key="explore_query", max_chars=1000)
        k = right.slider("Neighbours", 1, 15, 5, key="explore_k")
        submitted = st.form_submit_button("Draw the map", type="primary")
    if submitted:
        inputs.store_request("explore_request", lambda: (method, inputs.sentence(query) if query.strip() else None, k))
    request = st.session_state.get("explore_request")
    if not request:
        return
    method, query, k = request
    wait = "Encoding the corpus and fitting the map…" + (" t-SNE can take a minute." if method == "t-SNE" else "")
    with inputs.friendly_errors(), st.spinner(wait):
        sentences, _, points, projector = _projection(autoencoder, model_key, method)
        neighbours, query_point = _place_query(autoencoder, model_key, method, query, k) if query else (None, None)
        st.plotly_chart(_map(sentences, points, query, query_point, neighbours), width="stretch")
        if neighbours:
            st.markdown(f"**Nearest neighbours of** “{render.escape(query)}” (cosine similarity of latent vectors)")
            st.markdown(
                "\n".join(f"{n}. {render.escape(sentences[i])} — `{s:.3f}`" for n, (i, s) in enumerate(neighbours, 1))
            )
            if projector is None:
                st.caption("t-SNE cannot place new points, so the query is drawn at its nearest neighbour's point.")


def _map(sentences, points, query, query_point, neighbours) -> go.Figure:
    lengths = np.array([len(s.split()) for s in sentences])
    hover = ["<br>".join(textwrap.wrap(html.escape(s), 60)) for s in sentences]
    figure = go.Figure(
        go.Scattergl(
            x=points[:, 0],
            y=points[:, 1],
            mode="markers",
            name="corpus",
            text=hover,
            hovertemplate="%{text}<extra></extra>",
            marker=dict(
                size=5, color=lengths, colorscale="Viridis", opacity=0.7, colorbar=dict(title="words", thickness=12)
            ),
        )
    )
    if neighbours:
        chosen = [i for i, _ in neighbours]
        figure.add_trace(
            go.Scatter(
                x=points[chosen, 0],
                y=points[chosen, 1],
                mode="markers",
                name="neighbours",
                text=[hover[i] for i in chosen],
                hovertemplate="%{text}<extra></extra>",
                marker=dict(size=11, color="rgba(0,0,0,0)", line=dict(color="#e8590c", width=2)),
            )
        )
    if query_point is not None:
        figure.add_trace(
            go.Scatter(
                x=[query_point[0]],
                y=[query_point[1]],
                mode="markers",
                name="your sentence",
                text=[html.escape(query)],
                hovertemplate="%{text}<extra></extra>",
                marker=dict(size=16, symbol="star", color="#e03131", line=dict(color="white", width=1)),
            )
        )
    figure.update_layout(height=520, margin=dict(l=10, r=10, t=10, b=10), legend=dict(orientation="h", y=-0.05))
    return figure
