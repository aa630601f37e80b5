"""Phone photos made smaller in the student's own browser before a picture uploader sends them.

A phone photo is 12 megapixels and about 3 MB; the networks here take at most 1024 pixels a side,
and the page shows the photo 224 pixels wide. Sent whole, each upload crosses the classroom's
network as 3 MB and costs the one shared server about 30 ms of CPU just to decode. So a small
script (photo_shrink.js) catches a JPEG chosen or dropped on a picture uploader, draws it in
the browser at ``SHORT_SIDE`` pixels on its short side and sends that instead, as a JPEG of about
300 kB. Drawing it upright applies the photo's EXIF orientation, and the new file carries no EXIF
at all, so a photo's location never reaches the server.

What it leaves alone, for the server to read or refuse in its own sentence as before: pictures
that are not JPEG, JPEGs already this small, JPEGs over the server's pixel limit
(``explorer.inputs.images.MAX_PIXELS``), files the browser cannot read (a HEIC named .jpg), and every
upload from a browser without JavaScript or from a script. The server never trusts it: every
upload still goes through the same checks.

Streamlit's uploader is found by its ``data-testid`` (``ui.streamlit_adapter.UPLOADER``), the one
frontend detail the script relies on.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import streamlit as st

from explorer.inputs.images import MAX_PIXELS
from ui.streamlit_adapter import UPLOADER

# 1200 px on the short side covers the largest input (1024 px; 1170 px before ImageNet's centre crop)
# with a 4:3 or square photo; a 12 MP photo becomes 1600×1200.
SHORT_SIDE = 1200
QUALITY = 0.92  # the browser's JPEG quality: no visible loss at this size, about 300 kB
_HIDDEN = "photo_shrink"  # the key of the container that holds the script, hidden by its own style
NOTE = (f"Photos larger than {SHORT_SIDE:,} pixels on their short side are made smaller in your browser before "
        "they are sent, which also leaves out where they were taken; no network here needs more.")


@cache
def script() -> str:
    """The script with its settings filled in (each a JSON literal, so nothing can break out of it)."""
    settings = {"SHORT_SIDE_PX": SHORT_SIDE, "MOST_PIXELS_COUNT": MAX_PIXELS, "JPEG_QUALITY": QUALITY,
                "UPLOADER_SELECTOR": UPLOADER}
    text = (Path(__file__).with_name("photo_shrink.js")).read_text()
    for name, value in settings.items():
        text = text.replace(name, json.dumps(value))
    return text


def shrink_photos_before_upload() -> None:
    """Put the script on the page (once per run; the browser installs it once per tab).

    Its container, and the wrapper Streamlit puts around it, are hidden by a style inside it, so the
    page gets no empty row (the wrapper alone kept a 1rem gap).
    """
    hidden = f".st-key-{_HIDDEN}, div:has(> .st-key-{_HIDDEN}) {{ display: none; }}"
    with st.container(key=_HIDDEN):
        st.html(f"<style>{hidden}</style><script>{script()}</script>", unsafe_allow_javascript=True)
