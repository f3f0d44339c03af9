"""The Streamlit front end of textae, split by concern; `page.py` lays it out, `app.py` and `textae-app` run it.

models.py    which model folders to offer; loading them once per process
inputs.py    checking what a visitor typed; turning errors into friendly messages
render.py    HTML for highlighted reconstructions and token confidences
sidebar.py   model choice, model card, metrics and decoding settings
tabs.py      the Reconstruct, Interpolate and Sample tabs
explore.py   the Explore tab: a 2-D map of the latent space
arithmetic.py the Arithmetic tab: moving a sentence along an attribute direction
"""
