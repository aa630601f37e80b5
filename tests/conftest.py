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
