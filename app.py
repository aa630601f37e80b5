"""CNN Architecture Explorer: the entry point (`streamlit run app.py`).

It only frames the app: page settings, the sidebar every page shares, and the
list of pages in teaching order. Each page lives in its own file under pages/.
"""

import logging

import streamlit as st

from explorer.core.errors import UserError

st.set_page_config(page_title="CNN Architecture Explorer", page_icon=":material/neurology:", layout="wide")

# Teaching order. Every url_path must differ from its file's name: Streamlit still
# knows the old pages/ auto-discovery, and a URL that matches a file name there runs
# that file alone, without this script's sidebar. Each url_path has instead a file of
# its own name in pages/ that runs this script, so that the very first link a freshly
# started server is asked for opens cleanly (pages/first_visit.py says why).
# tests/test_app.py checks both rules.
PAGES = [
    # The first page is served at "/"; its hidden twin answers its own address, /convolution-by-hand.
    st.Page("pages/convolution.py", title="Convolution by hand", icon=":material/grid_on:", url_path="start", default=True),
    st.Page("pages/convolution.py", title="Convolution by hand", icon=":material/grid_on:", url_path="convolution-by-hand", visibility="hidden"),
    st.Page("pages/layers.py", title="Layer table", icon=":material/table_rows:", url_path="layer-table"),
    st.Page("pages/diagram.py", title="Architecture diagram", icon=":material/account_tree:", url_path="architecture-diagram"),
    st.Page("pages/parameters.py", title="Parameters", icon=":material/calculate:", url_path="parameter-breakdown"),
    st.Page("pages/compare.py", title="Compare", icon=":material/leaderboard:", url_path="compare-architectures"),
    st.Page("pages/feature_maps.py", title="Feature maps", icon=":material/image_search:", url_path="feature-maps"),
    st.Page("pages/where_it_looks.py", title="Where it looks", icon=":material/visibility:", url_path="where-the-network-looks"),
    st.Page("pages/training.py", title="Training step", icon=":material/model_training:", url_path="training-step"),
    st.Page("pages/learning.py", title="Train on the digits", icon=":material/school:", url_path="train-on-digits"),
]

# Before the heavy imports below: the first call of st.navigation in a server process also ends
# Streamlit's legacy pages/ scheme, whose own list of pages/ files is on screen until then.
navigation = st.navigation(PAGES)

from pages import class_panel  # noqa: E402 (after st.navigation, see above)
from pages.sidebar import render_sidebar, url_problems  # noqa: E402

class_panel.render(navigation, PAGES)  # a class: the teacher's panel, or a student put on the teacher's page
render_sidebar()
for problem in url_problems():
    st.warning(problem)
try:
    navigation.run()
except UserError as error:
    st.error(str(error))
except Exception:  # a bug, not the user's doing: log it, keep the app alive, say so plainly
    logging.getLogger("explorer.app").exception("Page %s failed", navigation.title)
    st.error("Something went wrong while drawing this page; try another setting, or reload the page.")
finally:
    class_panel.finish()  # what the teacher showed in this run reaches the class together
