"""Sentences that repeat text from outside the app (a shared link's values) as plain words.

Streamlit's ``st.warning``, ``st.info`` and ``st.markdown`` read their text as Markdown, so a value
copied from an address (``?layer=[Log in again](https://…)``, ``![](https://…/t.png)``) would become a
link or load a picture from elsewhere in every student's browser. ``plain`` puts a backslash before
every character Markdown gives a meaning to (CommonMark's backslash escapes, which Streamlit honours),
so the value shows exactly as it was typed and does nothing.

Escapes do not stop one thing: GitHub-style Markdown turns a bare ``https://…``, ``www.…`` or e-mail
address into a link after parsing, in the text itself (tests/browser/test_hostile_link_browser.py saw
it). A zero-width space after ``:`` in ``://``, after ``www`` and after ``@`` keeps such an address
from being recognised; it looks the same, and a copied address does not work by accident.
"""

from __future__ import annotations

import re

# Markdown's punctuation: links, pictures, emphasis, code, headings, lists, tables, HTML, LaTeX, emoji shortcodes.
_MEANINGFUL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")
ZERO_WIDTH_SPACE = "\u200b"
_ADDRESS = re.compile(r"(?<=:)(?=//)|(?<=www)(?=\\\.)|(?<=@)", re.IGNORECASE)  # where a bare address is recognised


def plain(sentence: str) -> str:
    """``sentence`` with every Markdown-meaningful character escaped: shown as it is, never as markup."""
    return _ADDRESS.sub(ZERO_WIDTH_SPACE, _MEANINGFUL.sub(r"\\\1", sentence))
