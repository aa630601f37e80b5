"""Pictures that say what they show: every picture of the app goes through ``picture`` with its text alternative.

Streamlit 1.65 gave ``st.image`` an ``alt`` argument, and it is the least hacky way there is:
- The picture's bytes go, as before, to Streamlit's media file manager and reach the browser as
  a short URL that stays the same while the bytes do (the browser caches it); the alt is one
  short string in the image's message. A Markdown image (``![alt](data:image/png;base64,…)``) or
  ``st.html('<img alt=…>')`` would put the whole picture, a third larger as base64, into the page's
  message on every rerun of every student's session, and into the session's message cache.
- Nothing is written as HTML, so nothing needs escaping: an alt made from a class name or an
  uploaded file's label cannot become markup.
- A caption is not an alt: Streamlit never gives the caption to the image as its name, so a
  picture with only a caption is read out as "image".
"""

from __future__ import annotations

from typing import Any

import streamlit as st


def picture(image: Any, alt: str | list[str], *, place: Any = None, **options: Any):
    """``st.image(image, alt=alt, **options)`` in ``place`` (a column, the sidebar; the page by default).

    ``alt`` says what the picture shows, in a sentence a screen reader reads out (a list of
    pictures takes a list, one each); a picture without one is a mistake in the page, so an
    empty or blank ``alt`` is refused.
    """
    alts = [alt] if isinstance(alt, str) else list(alt)  # a row of pictures has one alt each
    if not alts or any(not text or not text.strip() for text in alts):
        raise ValueError("Every picture needs a text alternative that says what it shows.")
    return (place if place is not None else st).image(image, alt=alt, **options)
