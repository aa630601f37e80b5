"""The frame around every page: page settings, the list of pages in teaching order, the sidebar, and the error net.

``app.py`` calls ``run``. Each page script in ``pages/`` is named after its own address
(``pages/layer-table.py`` answers ``/layer-table``) and starts with ``keep_in_frame()``:

Streamlit still knows its legacy multipage scheme. Until ``st.navigation`` has run once in the
server process, a server whose script has a ``pages/`` folder beside it answers the very first
request by looking the address up among the files in ``pages/`` and running the file it finds
alone, without this frame (an address that names no file gets "Page not found"). A page run
that way runs the frame instead, whose ``st.navigation`` opens the same page inside it and takes
over for good; the lone run then stops. tests/test_app.py checks the names,
tests/browser/test_first_link_browser.py the effect in Chromium.
"""

from __future__ import annotations

import logging
import threading

import streamlit as st

from explorer.core.errors import UserError
from ui.widgets.text import plain

_inside = threading.local()  # per script thread: is the frame running a page now?


def pages() -> list:
    """The pages in teaching order; every url_path names its file in pages/ (see the module's docstring)."""
    return [
        # The first page is served at "/"; its hidden twin answers its own address, /convolution-by-hand.
        st.Page("pages/convolution-by-hand.py", title="Convolution by hand", icon=":material/grid_on:", url_path="start", default=True),
        st.Page("pages/convolution-by-hand.py", title="Convolution by hand", icon=":material/grid_on:", url_path="convolution-by-hand", visibility="hidden"),
        st.Page("pages/build-a-network.py", title="Build a network", icon=":material/construction:", url_path="build-a-network"),
        st.Page("pages/layer-table.py", title="Layer table", icon=":material/table_rows:", url_path="layer-table"),
        st.Page("pages/architecture-diagram.py", title="Architecture diagram", icon=":material/account_tree:", url_path="architecture-diagram"),
        st.Page("pages/parameter-breakdown.py", title="Parameters", icon=":material/calculate:", url_path="parameter-breakdown"),
        st.Page("pages/compare-architectures.py", title="Compare", icon=":material/leaderboard:", url_path="compare-architectures"),
        st.Page("pages/feature-maps.py", title="Feature maps", icon=":material/image_search:", url_path="feature-maps"),
        st.Page("pages/where-the-network-looks.py", title="Where it looks", icon=":material/visibility:", url_path="where-the-network-looks"),
        st.Page("pages/what-a-channel-looks-for.py", title="What a channel looks for", icon=":material/filter_center_focus:", url_path="what-a-channel-looks-for"),
        st.Page("pages/training-step.py", title="Training step", icon=":material/model_training:", url_path="training-step"),
        st.Page("pages/train-on-digits.py", title="Train on the digits", icon=":material/school:", url_path="train-on-digits"),
    ]


def run() -> None:
    """One run of the app: settings, navigation, the class panel and sidebar, then the page inside the error net."""
    st.set_page_config(page_title="CNN Architecture Explorer", page_icon=":material/neurology:", layout="wide")
    page_list = pages()
    # Before the heavier imports below: the first call of st.navigation in a server process also ends
    # Streamlit's legacy pages/ scheme, whose own list of pages/ files is on screen until then.
    navigation = st.navigation(page_list)

    from ui.classroom import panel as class_panel
    from ui.widgets.contrast import readable_disabled_labels
    from ui.widgets.photo_shrink import shrink_photos_before_upload
    from ui.selection.sidebar import render_sidebar, url_problems

    readable_disabled_labels()
    shrink_photos_before_upload()  # every picture uploader of every page, installed once per tab
    class_panel.render(navigation, page_list)  # a class: the teacher's panel, or a student put on the teacher's page
    render_sidebar()
    for problem in url_problems():
        st.warning(plain(problem))  # it repeats values from the address bar
    _inside.page = True
    try:
        navigation.run()
    except UserError as error:
        st.error(str(error))
    except Exception:  # a bug, not the user's doing: log it, keep the app alive, say so plainly
        logging.getLogger("explorer.app").exception("Page %s failed", navigation.title)
        st.error("Something went wrong while drawing this page; try another setting, or reload the page.")
    finally:
        _inside.page = False
        class_panel.finish()  # what the teacher showed in this run reaches the class together


def keep_in_frame() -> None:
    """The first line of every page script: a page that Streamlit's legacy lookup ran alone runs the frame instead.

    The frame then draws the same page inside it, so this lone run stops here (``st.stop``).
    """
    if getattr(_inside, "page", False):
        return
    run()
    st.stop()
