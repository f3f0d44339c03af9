"""The script `textae-app` gives to `streamlit run`: the checkout's app.py, installed with the package."""

from textae import quiet

quiet.start_tensorflow()

from textae.app import page  # noqa: E402

page.main()
