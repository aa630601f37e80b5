"""The one piece of page styling the theme cannot reach: labels of disabled widgets, readable at WCAG AA.

Streamlit draws a disabled widget's label in the theme's text colour at 40% opacity, with no
theme option for it: 2.6:1 on the sidebar, where AA asks 4.5:1. A student following a class
sees every sidebar control disabled, and reads the teacher's choices by those labels. WCAG
exempts inactive controls, but axe-core cannot tell a select box's label from any other text,
and the student still needs to read it. At 60% opacity, the level of Streamlit's own captions,
the label keeps looking disabled beside an enabled one (100%) and reaches 4.8:1 (theme text
#0b1220 on the sidebar's #f2f5fb; 4.9:1 on white).
"""

from __future__ import annotations

import streamlit as st

CSS = """<style>
label[data-testid="stWidgetLabel"][disabled] { color: rgba(11, 18, 32, 0.6); }
</style>"""


def readable_disabled_labels() -> None:
    """Put the style in the page (a style-only st.html takes no room on the page)."""
    st.html(CSS)
