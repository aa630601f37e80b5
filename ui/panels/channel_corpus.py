"""Where a channel's dataset examples come from: the digit scans, the bundled photos, the class's uploads, Imagenette.

Digit-trained networks search the 1,797 digit scans. Any other network searches the
bundled photos, several pictures uploaded here (each checked as any upload is; a refused
one is named in a sentence and left out), or Imagenette's validation set, which is
downloaded (about 100 MB) only when someone presses its button, with a progress bar.
"""

from __future__ import annotations

import hashlib

import streamlit as st

from explorer.core.errors import UserError
from explorer.inputs import corpora, images
from explorer.runs.featurevis import microscope
from explorer.weights import catalogue
from ui.selection.pictures import UPLOAD_TYPES
from ui.widgets import photo_shrink

SOURCES = {"samples": "The bundled photos", "upload": "Pictures I upload", "imagenette": "Imagenette (a download)"}
MAX_UPLOADS = 64
MAX_UPLOAD_BYTES = 64 * 2**20  # the pictures' bytes are kept with the scan of their activations


def _imagenette_there() -> bool:
    return (corpora.data_folder() / corpora.IMAGENETTE_FOLDER / "val").is_dir()


@st.cache_resource(max_entries=1, show_spinner="Reading Imagenette's validation pictures…")
def _imagenette() -> corpora.Corpus:
    return corpora.imagenette(corpora.data_folder())


def _download_imagenette() -> corpora.Corpus | None:
    st.caption("Imagenette's 3,925 validation pictures (ten ImageNet classes, 160 pixels) are not on this server "
               "yet: about 100 MB, downloaded once for every user of this server.")
    if not st.button("Download Imagenette (about 100 MB)", key="ch_imagenette"):
        return None
    bar = st.progress(0.0, text="Connecting…")

    def progress(done: int, total: int | None) -> None:
        bar.progress(min(done / total, 1.0) if total else 0.0,
                     text=f"{done / 2**20:.0f} MB" + (f" of {total / 2**20:.0f} MB" if total else ""))

    try:
        corpora.imagenette(corpora.data_folder(), progress)
    except UserError as error:
        st.error(str(error))
        return None
    finally:
        bar.empty()
    return _imagenette()


def _checked(file) -> str | None:
    """None when the upload reads as a picture, else its sentence; remembered per file for this session.

    Each rerun of the page would otherwise decode every uploaded picture again just to check it.
    """
    seen = st.session_state.setdefault("ch_checked", {})
    if file.file_id not in seen:
        try:
            images.load_image(file.getvalue())
            seen[file.file_id] = None
        except UserError as error:
            seen[file.file_id] = str(error)
    return seen[file.file_id]


def _uploaded() -> corpora.Corpus | None:
    files = st.file_uploader("Pictures to search (JPEG, PNG, WebP, BMP or GIF; several at once)", type=UPLOAD_TYPES,
                             accept_multiple_files=True, key="ch_uploads")
    st.caption(photo_shrink.NOTE)
    if not files:
        st.session_state.pop("ch_checked", None)
        st.caption("Upload a few pictures to see which parts of them excite each channel most.")
        return None
    # Only the files still uploaded are remembered (a removed one is forgotten).
    current = {file.file_id for file in files}
    st.session_state["ch_checked"] = {k: v for k, v in st.session_state.get("ch_checked", {}).items() if k in current}
    found, total = [], 0
    for number, file in enumerate(files, start=1):
        if len(found) == MAX_UPLOADS or total + file.size > MAX_UPLOAD_BYTES:  # the server keeps these bytes
            st.caption(f"Only the first {len(found)} pictures are searched: at most {MAX_UPLOADS} pictures and "
                       f"{MAX_UPLOAD_BYTES // 2**20} MB in all.")
            break
        problem = _checked(file)
        if problem:
            st.warning(f"Picture {number} was left out: {problem}")
            continue
        found.append(corpora.Picture(f"your picture {number}", file.getvalue()))
        total += file.size
    return corpora.Corpus("your pictures", tuple(found)) if found else None


def _identity(corpus: corpora.Corpus) -> str:
    digest = hashlib.sha256()
    for picture in corpus.pictures:
        digest.update(hashlib.sha256(picture.data).digest())
    return digest.hexdigest()[:24]


def choose(selection) -> tuple[corpora.Corpus, str] | None:
    """The corpus to search and a key naming it, or None until there is one (an upload, a download)."""
    if selection.weights == catalogue.DIGITS:
        st.caption("Dataset examples come from the 1,797 digit scans these weights were trained and tested on.")
        return microscope.default_corpus(selection.weights), "scans"
    source = st.radio("Dataset examples from", list(SOURCES), format_func=SOURCES.get, horizontal=True,
                      key="ch_corpus")
    if source == "samples":
        return corpora.samples(), "samples"
    if source == "imagenette":
        corpus = _imagenette() if _imagenette_there() else _download_imagenette()
        return (corpus, "imagenette") if corpus is not None else None
    corpus = _uploaded()
    return (corpus, "upload-" + _identity(corpus)) if corpus is not None else None
