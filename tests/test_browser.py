"""The app in a real browser: `streamlit run` in a subprocess, driven by Playwright and Debian's Chromium.

Also makes the README screenshot:

    python -m tests.test_browser --output assets/screenshot.png [--model runs/<run>/model]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from textae.text import examples

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 900}
TIMEOUT_MS = 120_000
PANEL = "[data-testid='stTabPanel'][role='tabpanel']"  # the open tab (the others have no role)
STEPS = f"{PANEL} table tr"  # the interpolation's rows (the sidebar's model card has tables too)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(model_dirs: list[Path] | None, runs_dir: Path, log_file: Path):
    """Run `streamlit run app.py` on a free port until the block ends; yields its URL."""
    port = _free_port()
    env = {**os.environ, "TEXTAE_RUNS_DIR": str(runs_dir), "TF_CPP_MIN_LOG_LEVEL": "2"}
    if model_dirs:
        env["TEXTAE_MODEL_DIRS"] = os.pathsep.join(str(path) for path in model_dirs)
    options = {"server.port": port, "server.headless": "true", "browser.gatherUsageStats": "false",
               "client.toolbarMode": "viewer"}  # fmt: skip
    command = [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py")]
    command += [item for name, value in options.items() for item in (f"--{name}", str(value))]
    with open(log_file, "wb") as log:
        server = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while True:
                if server.poll() is not None:
                    raise RuntimeError(f"streamlit exited with {server.returncode}: {log_file.read_text()[-2000:]}")
                with contextlib.suppress(OSError):
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                        if response.status == 200:
                            break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"streamlit did not answer on {url} within 120 s")
                time.sleep(0.5)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def settle(page) -> None:
    """Wait until the script has finished its current run."""
    page.wait_for_timeout(300)  # let a rerun start after the click
    page.wait_for_selector("[data-test-script-state='notRunning']", timeout=TIMEOUT_MS)


def reconstruct(page, sentences: list[str]) -> None:
    page.get_by_role("tab", name="Reconstruct").click()
    page.get_by_label("Sentences, one per line").fill("\n".join(sentences))
    page.get_by_role("button", name="Reconstruct", exact=True).click()
    page.get_by_text("Reconstruction", exact=True).first.wait_for(timeout=TIMEOUT_MS)
    settle(page)


def interpolate(page, first: str, second: str) -> None:
    page.get_by_role("tab", name="Interpolate").click()
    page.get_by_label("From", exact=True).fill(first)
    page.get_by_label("To", exact=True).fill(second)
    page.get_by_role("button", name="Interpolate", exact=True).click()
    page.locator(STEPS).first.wait_for(timeout=TIMEOUT_MS)
    settle(page)


def open_app(browser, url: str):
    page = browser.new_page(viewport=VIEWPORT)
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    page.get_by_role("tab", name="Reconstruct").wait_for()
    settle(page)
    return page


def _launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


@pytest.mark.browser
@pytest.mark.slow
def test_reconstruct_and_interpolate_in_chromium(tiny_bundle, tiny_sentences_trained, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with streamlit_server([tiny_bundle], tmp_path / "no-runs", tmp_path / "streamlit.log") as url:
        with sync_playwright() as playwright:
            browser = _launch(playwright)
            try:
                page = open_app(browser, url)
                reconstruct(page, tiny_sentences_trained[:2])
                assert page.get_by_text("Reconstruction", exact=True).count() == 2
                shown = page.locator(PANEL).inner_text()
                assert shown.count(tiny_sentences_trained[0]) == 2  # the input, and its exact reconstruction
                assert page.locator("[data-testid='stException']").count() == 0
                interpolate(page, tiny_sentences_trained[0], tiny_sentences_trained[1])
                assert page.locator(STEPS).count() == 1 + 7  # header and steps
                page.locator(f"{PANEL} [data-testid='stPlotlyChart'] .main-svg").first.wait_for()  # the chart drew
                page.screenshot(path=str(tmp_path / "interpolate.png"))
                assert (tmp_path / "interpolate.png").stat().st_size > 10_000
            finally:
                browser.close()


def arithmetic(page, group_a: list[str], group_b: list[str], sentence: str) -> None:
    page.get_by_role("tab", name="Arithmetic").click()
    page.get_by_label("Group A, one sentence per line").fill("\n".join(group_a))
    page.get_by_label("Group B, one sentence per line").fill("\n".join(group_b))
    page.get_by_label("Sentence to move").fill(sentence)
    page.get_by_role("button", name="Move", exact=True).click()
    page.locator(f"{PANEL} table tr").first.wait_for(timeout=TIMEOUT_MS)
    settle(page)


def open_series_page(browser, url: str, height: int = VIEWPORT["height"]):
    page = browser.new_page(viewport={**VIEWPORT, "height": height})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{url}/timeseries")
    page.get_by_text("Anomalies in a time series").wait_for()
    page.locator("[data-testid='stPlotlyChart'] .main-svg").first.wait_for()  # the chart drew
    settle(page)
    return page


@pytest.mark.browser
@pytest.mark.slow
def test_arithmetic_tab_and_series_page_in_chromium(tiny_bundle, tiny_sentences_trained, tiny_series_run, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    models = [tiny_bundle, tiny_series_run.bundle_path]
    with streamlit_server(models, tmp_path / "no-runs", tmp_path / "streamlit.log") as url:
        with sync_playwright() as playwright:
            browser = _launch(playwright)
            try:
                page = open_app(browser, url)
                sentences = tiny_sentences_trained
                arithmetic(page, sentences[:3], sentences[3:6], sentences[6])
                rows = page.locator(f"{PANEL} table tr")
                assert rows.count() == 1 + 5  # header and the five strengths
                assert sentences[6] in rows.nth(1).inner_text()  # strength 0: the plain reconstruction
                assert page.locator("[data-testid='stException']").count() == 0
                page = open_series_page(browser, url)
                shown = page.locator("[data-testid='stMetric']").all_inner_texts()
                assert [text.splitlines()[0] for text in shown] == [
                    "Time steps", "Threshold", "Flagged steps", "Detected regions"
                ]  # fmt: skip
                assert page.locator("[data-testid='stException']").count() == 0
                page.screenshot(path=str(tmp_path / "series.png"), full_page=True)
                assert (tmp_path / "series.png").stat().st_size > 10_000
            finally:
                browser.close()


def main() -> None:
    """Make the README screenshot of the Reconstruct tab (or, with --page timeseries, of the time-series page)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--output", type=Path, default=REPO / "assets" / "screenshot.png")
    parser.add_argument("--model", type=Path, help="model folder (default: the shipped model)")
    parser.add_argument("--sentences", nargs="+", default=list(examples.EVERYDAY[:2]))
    parser.add_argument("--page", choices=("sentences", "timeseries"), default="sentences")
    parser.add_argument("--zoom", action="store_true", help="timeseries: the view around the highest score")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    runs = REPO / "runs"
    model_dirs = [args.model.resolve()] if args.model else None
    with streamlit_server(model_dirs, runs, Path("/tmp/textae-screenshot-streamlit.log")) as url:
        with sync_playwright() as playwright:
            browser = _launch(playwright)
            try:
                if args.page == "timeseries":
                    page = open_series_page(browser, url, height=1500)
                    if args.zoom:
                        page.get_by_text("Around the highest score").click()
                        settle(page)
                        page.wait_for_timeout(1000)  # the chart redraws
                    page.screenshot(path=str(args.output))
                else:
                    page = open_app(browser, url)
                    reconstruct(page, args.sentences)
                    page.screenshot(path=str(args.output))
            finally:
                browser.close()
    print(f"wrote {args.output} ({args.output.stat().st_size / 1000:.0f} kB)")


if __name__ == "__main__":
    main()
