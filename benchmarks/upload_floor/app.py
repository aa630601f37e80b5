"""The floor under a new picture's cost: Streamlit receiving the upload and rerunning a page, and nothing else.

``benchmarks/bench_upload.py --floor`` uploads the same phone photos here, side by side with the app,
to tell what Streamlit itself costs per upload (the HTTP PUT of 3 MB, the multipart parse, the upload
manager, a rerun, the messages back) from what the app's page adds. This page reads the file's bytes and
draws the two captions the benchmark waits for; it decodes nothing and runs no network.
"""

import hashlib

import streamlit as st


def feature_maps() -> None:
    st.radio("Picture", ["Sample photo", "Upload a picture"], horizontal=True)
    upload = st.file_uploader("A photo from your computer or phone", type=["jpg", "jpeg"])
    if upload is not None:
        st.caption(f"JPEG, 4032×3024 pixels. {hashlib.sha256(upload.getvalue()).hexdigest()[:8]}")
        st.caption("64 of 64 channels of layer2, left to right")


def start() -> None:
    st.write("The upload floor: open /feature-maps.")


# The first page is the default one, served at "/": Feature maps is second so that it has its own address.
st.navigation([st.Page(start, title="Start"), st.Page(feature_maps, title="Feature maps", url_path="feature-maps")]).run()
