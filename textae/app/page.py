"""The app's pages: sentences (reconstruct, interpolate, arithmetic, explore, sample) and time series.

`app.py` (checkout) and `textae/app/streamlit_app.py` (installed, `textae-app`) call `main()`,
which sets up the page and runs the one chosen in the navigation at the top. The widgets and
their logic live in the other modules of `textae/app/`; the time-series page in `series_page.py`.
"""

from __future__ import annotations

import streamlit as st

from textae.app import arithmetic, explore, inputs, models, series_page, sidebar, tabs

INTRODUCTION = (
    "A **recurrent autoencoder** reads a sentence token by token with a recurrent network (the *encoder*) and "
    "squeezes it into a single vector of numbers, its **latent vector**. A second recurrent network (the *decoder*) "
    "then tries to write the sentence back from that vector alone. Because every sentence becomes a point in the "
    "same space, you can see how well a sentence survives the round trip, walk from one sentence to another, "
    "look at which sentences sit close together, and decode new points to make new sentences."
)
COMPACT_TOP = "<style>[data-testid='stMainBlockContainer'] {padding-top: 2.5rem}</style>"  # less blank space
NO_MODEL = """
### No trained model yet

The app looks for the shipped model in `assets/model` and for trained runs in `runs/*/model`, and found neither.
Train one (a few minutes on a laptop CPU; `--preset tiny` takes seconds) and reload this page:

```bash
python -m training.train
```

The run is saved to `runs/<preset>-<hash>/model` and appears in the sidebar.
"""


def main() -> None:
    st.set_page_config(
        page_title="textae: a recurrent text autoencoder", page_icon=":material/autorenew:", layout="wide"
    )
    st.markdown(COMPACT_TOP, unsafe_allow_html=True)
    pages = [
        st.Page(text_page, title="Sentences", icon=":material/notes:", url_path="sentences", default=True),
        st.Page(series_page.main, title="Time series", icon=":material/show_chart:", url_path="timeseries"),
    ]
    st.navigation(pages, position="top").run()


def text_page() -> None:
    st.title("textae: a recurrent text autoencoder")
    st.markdown(INTRODUCTION)

    available = models.discover_models()
    if not available:
        st.info(NO_MODEL, icon=":material/model_training:")
        st.stop()

    model_dir = sidebar.choose_model(available)
    autoencoder = None
    with inputs.friendly_errors():
        model_key = models.bundle_key(model_dir)  # changes when training replaces the folder
        autoencoder = models.load_autoencoder(str(model_dir), model_key)
    if autoencoder is None:
        st.info("Choose another model in the sidebar, or train one with `python -m training.train`.")
        st.stop()
    sidebar.describe(autoencoder)
    settings = sidebar.decoding_settings()

    reconstruct, interpolate, arithmetic_tab, explore_map, sample = st.tabs(
        ["Reconstruct", "Interpolate", "Arithmetic", "Explore", "Sample"]
    )
    with reconstruct:
        tabs.reconstruct_tab(autoencoder, model_key, settings)
    with interpolate:
        tabs.interpolate_tab(autoencoder, model_key, settings)
    with arithmetic_tab:
        arithmetic.arithmetic_tab(autoencoder, model_key, settings)
    with explore_map:
        explore.explore_tab(autoencoder, model_key)
    with sample:
        tabs.sample_tab(autoencoder, model_key, settings)
