"""CNN Architecture Explorer: the entry point (`streamlit run app.py`).

It only calls the frame (ui/frame.py): page settings, the sidebar every page shares, and the
list of pages in teaching order. Each page is one script under pages/, named after its address.
"""

from ui.frame import run

run()
