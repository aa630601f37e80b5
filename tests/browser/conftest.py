"""Real-browser fixtures: the app served by `streamlit run` and Debian's Chromium via Playwright.

Playwright's own browser download cannot work here, so the system Chromium is
used. Under CI a missing Chromium is a failure, not a skip: a silent skip would
hide a broken install.
"""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.conftest import ROOT

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
FIRST_RENDER_MS = 60_000


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        message = "Chromium is not installed; the README's test command installs it (apt-get install chromium)."
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return {**browser_type_launch_args, "executable_path": executable, "args": CHROMIUM_ARGS}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def served_app(env: dict[str, str] | None = None, warm_up: bool = True):
    """Base URL of a fresh `streamlit run app.py`, stopped on leaving (``env`` is added to its environment).

    ``warm_up``: one headless run of app.py first, as ./dev.sh does at start-up, so torch is
    imported before the first test's page; without it the server is exactly a teacher's bare
    `streamlit run app.py` (tests/browser/test_first_link_browser.py needs that).
    """
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable, "-m", "streamlit", "run", "app.py",
            "--server.headless", "true",
            "--server.port", str(port),
            "--server.address", "127.0.0.1",
            "--browser.gatherUsageStats", "false",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("streamlit did not start") from None
                time.sleep(0.3)
        if warm_up:
            with urllib.request.urlopen(f"{url}/_stcore/script-health-check", timeout=120) as response:
                assert response.status == 200, "app.py failed its headless run"
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.fixture(scope="session")
def app_url():
    """Base URL of one warmed-up `streamlit run app.py` shared by the session's browser tests."""
    with served_app(warm_up=True) as url:
        yield url


def settle(page, timeout: int = FIRST_RENDER_MS) -> None:
    """Wait until Streamlit has finished the current script run."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    page.wait_for_timeout(300)  # a rerun announces itself a moment after the click
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=timeout)
    # With toolbarMode "minimal" the status widget is never drawn, so the line above alone would not
    # wait: Streamlit also keeps the run's state on its root element.
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout)


@pytest.fixture
def open_app(page, app_url):
    """Open a path of the app (e.g. "/layers?arch=resnet18") and wait for its first full render."""

    def go(path: str = "/"):
        page.set_viewport_size({"width": 1400, "height": 1000})
        # Generous: CI machines have two cores, and the first run imports torch.
        page.set_default_timeout(FIRST_RENDER_MS)
        expect.set_options(timeout=FIRST_RENDER_MS)
        page.goto(app_url + path)
        page.wait_for_selector("h1", timeout=FIRST_RENDER_MS)
        settle(page)
        return page

    return go


def pick_option(page, selectbox, search: str, option_name, attempts: int = 3) -> None:
    """Open a searchable selectbox, type into it and click the option.

    On a busy machine keystrokes can arrive before the dropdown has focus; then the
    option never appears, so close the dropdown and try again.
    """
    # While a rerun is under way Streamlit keeps the previous run's widget beside the new one.
    selectbox = selectbox.last
    for attempt in range(attempts):
        selectbox.click()
        selectbox.get_by_role("combobox").fill(search)
        option = page.get_by_role("option", name=option_name)
        try:
            option.wait_for(timeout=10_000)
        except Exception:
            if attempt == attempts - 1:
                raise
            page.keyboard.press("Escape")
            continue
        option.click()
        return


@pytest.fixture
def people(browser):
    """``people(url, cookies=None)``: a person with a browser of their own, all closed after the test
    (an open Streamlit tab keeps polling, and would slow the tests after it)."""
    from tests.browser.classroom_helpers import person

    opened: list = []
    yield lambda url, cookies=None: person(browser, url, cookies, opened)
    for context in opened:
        try:
            context.close()
        except Exception:  # already closed by the test
            pass
