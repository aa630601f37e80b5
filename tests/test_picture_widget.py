"""ui.widgets.images.picture: the picture reaches the browser with its text alternative, and never without one."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

SCRIPT = """
import numpy as np
import streamlit as st
from ui.widgets.images import picture

picture(np.zeros((4, 6, 3), np.uint8), "A black picture, 6×4 pixels", caption="Black")
left, right = st.columns(2)
picture(np.full((4, 4, 3), 255, np.uint8), "A white square <b>bold?</b>", place=right)
"""


def test_each_picture_carries_its_alt_in_the_message_the_browser_gets():
    at = AppTest.from_string(SCRIPT, default_timeout=60).run()
    assert not at.exception
    images = [element.proto.imgs[0] for element in at.get("image")]
    assert [image.alt for image in images] == ["A black picture, 6×4 pixels", "A white square <b>bold?</b>"]
    assert images[0].caption == "Black"  # the caption stays a caption, beside the alt
    assert all("/media/" in image.url and not image.url.startswith("data:") for image in images)  # bytes by URL, not inlined in the message


@pytest.mark.parametrize("alt", ["", "   "])
def test_a_picture_without_a_text_alternative_is_refused(alt):
    from ui.widgets.images import picture

    with pytest.raises(ValueError, match="text alternative"):
        picture(b"", alt)


def test_a_row_of_pictures_carries_one_alt_each():
    script = """
import numpy as np
from ui.widgets.images import picture

picture([np.zeros((4, 4), np.uint8), np.full((4, 4), 255, np.uint8)], ["A black square", "A white square"], width=4)
"""
    at = AppTest.from_string(script, default_timeout=60).run()
    assert not at.exception
    assert [image.alt for image in at.get("image")[0].proto.imgs] == ["A black square", "A white square"]


def test_a_row_with_one_blank_alt_is_refused():
    from ui.widgets.images import picture

    with pytest.raises(ValueError, match="text alternative"):
        picture([b"", b""], ["A black square", " "])
