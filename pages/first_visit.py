"""The first link a freshly started server is asked for: run the whole app, so the right page opens cleanly.

Streamlit still knows its legacy multipage scheme: until ``st.navigation`` has run once in
the server process, a server whose script has a ``pages/`` folder beside it answers the very
first request by looking the address up among the files in ``pages/`` (``layers``,
``training``...). An address such as ``/layer-table`` is none of them, so Streamlit says
"Page not found" and only then runs ``app.py``, whose ``st.navigation`` opens the right page
under the dialog (``./dev.sh app`` hides this with a warm-up request; a bare
``streamlit run app.py`` does not). So each address of ``app.PAGES`` has a file of its name in
``pages/`` (``pages/layer-table.py``) whose only line is ``run_app()``: the legacy lookup
finds it, it runs ``app.py``, and ``st.navigation`` takes over for good. A test checks that
every address has its file (tests/test_app.py).
"""

from __future__ import annotations

from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app.py"


def run_app() -> None:
    """Run app.py in place of the legacy page: its navigation then opens the page the address names."""
    code = compile(APP.read_text(encoding="utf-8"), str(APP), "exec")
    exec(code, {"__name__": "__main__", "__file__": str(APP)})  # noqa: S102 - our own entry script
