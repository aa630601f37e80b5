"""Shared test helpers: the repository root and a ready AppTest for the app."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def app_test():
    """A function that runs app.py headlessly, optionally from a URL query, and returns the AppTest."""
    from streamlit.testing.v1 import AppTest

    def run(query: dict[str, str] | None = None, page: str | None = None):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        for key, value in (query or {}).items():
            at.query_params[key] = value
        at.run()
        if page:
            # AppTest identifies st.navigation's pages only after a first run.
            at.switch_page(page).run()
        return at

    return run


@pytest.fixture
def redis_server():
    """A real redis-server on a free loopback port, stopped after the test (which may kill it first)."""
    from tests.servers import RedisServer

    server = RedisServer().start()
    try:
        yield server
    finally:
        server.kill()


def as_shown(markdown: str) -> str:
    """What a browser shows for an element's Markdown that went through ui.widgets.text.plain: no escapes."""
    import re

    from ui.widgets.text import ZERO_WIDTH_SPACE

    return re.sub(r"\\(.)", r"\1", markdown).replace(ZERO_WIDTH_SPACE, "")


@pytest.fixture
def full_line(monkeypatch):
    """The server's line for new pictures (``ui.selection.pictures.picture_line``) as one place, held by a
    background thread until ``release()``, and no key done lately. ``when_told(place)`` (set it before a
    run) is called in the waiting script after the page has drawn its place sentence: ``st.stop()`` there
    leaves the line as a student's rerun does; ``release()`` there lets the same run in. ``let_in`` counts the turns begun, the holder's included."""
    import threading
    from collections import deque
    from contextlib import contextmanager

    from explorer.core.admission import Line
    from ui.selection import pictures

    class HeldLine(Line):
        def __init__(self) -> None:
            super().__init__(1)
            self.when_told = lambda place: None
            self.let_in = 0  # turns begun, the holder's included
            self._held, self._leave = threading.Event(), threading.Event()
            self._holder = threading.Thread(target=self._hold, daemon=True)
            self._holder.start()
            assert self._held.wait(10)

        def _hold(self) -> None:
            with self.turn():
                self._held.set()
                self._leave.wait(120)

        def release(self) -> None:
            self._leave.set()
            self._holder.join(10)

        @contextmanager
        def turn(self, on_place=lambda place: None, poll_s: float = 0.5):
            def told(place: int) -> None:
                on_place(place)
                self.when_told(place)

            with super().turn(told, poll_s) as turn:
                self.let_in += 1
                yield turn

    line, done_lately = HeldLine(), deque(maxlen=8)
    monkeypatch.setattr(pictures, "picture_line", lambda: line)
    monkeypatch.setattr(pictures, "recently_through", lambda: done_lately)
    try:
        yield line
    finally:
        line.release()
