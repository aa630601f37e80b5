"""The floor under a new picture's cost: Streamlit receiving the upload and rerunning a page, and nothing else.

``benchmarks/bench_upload.py --floor`` uploads the same phone photos here, side by side with the app,
to tell what Streamlit itself costs per upload (the HTTP PUT of the file, the multipart parse, the upload
manager, a rerun, the messages back) from what the app's page adds. This page reads the file's bytes and
draws the two captions the benchmark waits for; it decodes nothing and runs no network. It installs the
app's script that makes a big photo smaller in the browser (ui/widgets/photo_shrink.py), so that it
receives what the app receives.
"""

import hashlib
import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from ui.widgets.photo_shrink import shrink_photos_before_upload  # noqa: E402


def feature_maps() -> None:
    shrink_photos_before_upload()
    st.radio("Picture", ["Sample photo", "Upload a picture"], horizontal=True)
    upload = st.file_uploader("A photo from your computer or phone", type=["jpg", "jpeg"])
    if upload is not None:
        # The caption's shape is what the benchmark waits for; the floor decodes nothing, so it has no size to give.
        st.caption(f"JPEG, 0×0 pixels. {hashlib.sha256(upload.getvalue()).hexdigest()[:8]}")
        st.caption("64 of 64 channels of layer2, left to right")


def start() -> None:
    st.write("The upload floor: open /feature-maps.")


# The first page is the default one, served at "/": Feature maps is second so that it has its own address.
st.navigation([st.Page(start, title="Start"), st.Page(feature_maps, title="Feature maps", url_path="feature-maps")]).run()
