"""textae's Streamlit app: reconstruct, interpolate, explore and sample sentences.

    streamlit run app.py            (in a checkout)
    textae-app                      (after pip install; the same page)

It opens on the shipped model (`assets/model`) and also offers every trained run
folder `runs/*/model`; visitors choose from that list and never type a path.
Operators and tests can change what is offered with two environment variables:

    TEXTAE_MODEL_DIRS  model folders to offer instead of the shipped model,
                       separated by os.pathsep (":" on Linux and macOS)
    TEXTAE_RUNS_DIR    the folder whose */model subfolders are offered too
                       (default: runs); relative paths are taken from the current folder

The page lives in `textae/app/page.py`; the widgets and their logic beside it.
"""

from textae import quiet

quiet.start_tensorflow()  # before anything imports TensorFlow: its C++ start-up lines stay hidden

from textae.app import page  # noqa: E402

page.main()
