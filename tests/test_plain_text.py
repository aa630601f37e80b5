"""ui.widgets.text.plain: text from an address shows as typed, and Markdown can make nothing of it."""

from __future__ import annotations

import re

import pytest

from ui.widgets.text import ZERO_WIDTH_SPACE, plain

HOSTILE = [
    "[Log in again](https://evil.example/login)",
    "![](https://evil.example/t.png)",
    "<img src=x onerror=alert(1)>",
    "https://evil.example and www.evil.example",
    "**bold** _it_ `code` ~~gone~~ $x^2$ :material/warning: # heading | a | b |",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_every_markdown_character_is_escaped_and_the_words_come_back_unchanged(text):
    escaped = plain(text)
    # No meaningful character is left bare: each one is preceded by a backslash.
    bare = re.findall(r"(?<!\\)[\[\]()<>!`*_~$:#|.]", escaped.replace("\\\\", ""))
    assert bare == []
    shown = re.sub(r"\\(.)", r"\1", escaped)  # what CommonMark shows
    assert "://" not in shown and "www." not in shown.lower()  # no bare address GitHub-style Markdown would link
    assert shown.replace(ZERO_WIDTH_SPACE, "") == text  # the text as typed


def test_plain_words_stay_plain():
    assert plain("There is no architecture called 'resnet9000'") == "There is no architecture called 'resnet9000'"
