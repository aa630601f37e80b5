"""Build a network: where a design starts (a preset or nothing), what it reads, and how it leaves and comes back.

- Start: one of ``explorer.models.design_presets``, or no layers at all.
- Input: the digits at 32×32 or 8×8 (grey), or a colour picture of a chosen side; and how many classes.
- Files: the design as JSON (download, and upload back: a bad file is one sentence and the
  design on screen stays), and the PyTorch code (an empty or broken design is one sentence).
"""

from __future__ import annotations

import hashlib

import streamlit as st

from explorer.analysis.design_file import MAX_CLASSES, MAX_FILE_BYTES, design_text, parse_design, read_design
from explorer.analysis.design_rows import export_code
from explorer.core.errors import UserError
from explorer.core.sizes import MAX_SIDE
from explorer.models.design import Design
from explorer.models.design_presets import PRESETS, TITLES
from ui.selection import my_design

PRESET, INPUT, SIDE, CLASSES = "bn_preset", "bn_input", "bn_side", "bn_classes"
_UPLOAD, _UPLOAD_SEEN, _UPLOAD_PROBLEM = "bn_upload", "bn_upload_seen", "bn_upload_problem"
NOTHING = "nothing"
INPUTS = {"digits32": ("The digits, 1×32×32", (1, 32, 32)), "digits8": ("The digits, 1×8×8", (1, 8, 8)),
          "rgb": ("A colour picture (RGB)", None), "other": ("As the file says", None)}
RGB_SIDE = 64


def start_from(choice: str, classes: int = 10) -> None:
    """Put a preset (by name) or an empty design at the digits' 1×32×32 into the session."""
    if choice == NOTHING:
        my_design.put(Design((1, 32, 32), classes, ()))
    else:
        my_design.put(parse_design(PRESETS[choice]))
    _sync_input_widgets()


def _input_choice(shape: tuple[int, int, int]) -> str:
    for choice, (_, fixed) in INPUTS.items():
        if fixed == tuple(shape):
            return choice
    return "rgb" if shape[0] == 3 and shape[1] == shape[2] else "other"


def _sync_input_widgets() -> None:
    """The input and classes widgets show the design's own (after a design arrived whole)."""
    design = my_design.design()
    st.session_state[INPUT] = _input_choice(design.input)
    st.session_state[SIDE] = design.input[1]
    st.session_state[CLASSES] = design.classes


def _change_input() -> None:
    data = dict(st.session_state[my_design.DESIGN])
    choice = st.session_state[INPUT]
    fixed = INPUTS[choice][1]
    if fixed is not None:
        data["input"] = list(fixed)
    elif choice == "rgb":
        side = int(st.session_state.get(SIDE) or RGB_SIDE)
        data["input"] = [3, side, side]
    data["classes"] = int(st.session_state[CLASSES])
    my_design.put_layers(data, my_design.row_keys())
    st.session_state[SIDE] = data["input"][1]


def draw_start(disabled: bool) -> None:
    """The preset picker and its two buttons."""
    left, middle, right = st.columns([3, 1.2, 1.2], vertical_alignment="bottom")
    if PRESET not in st.session_state:
        st.session_state[PRESET] = "lenet5"
    left.selectbox("Start from", list(PRESETS), key=PRESET, format_func=TITLES.get, disabled=disabled)
    middle.button("Start from this preset", on_click=lambda: start_from(st.session_state[PRESET]), disabled=disabled,
                  use_container_width=True)
    right.button("Start from nothing", on_click=start_from, args=(NOTHING,), disabled=disabled,
                 use_container_width=True)


def draw_input(design: Design, disabled: bool) -> None:
    """What the network reads, and how many classes it tells apart."""
    shown = (st.session_state.get(INPUT), st.session_state.get(SIDE), st.session_state.get(CLASSES))
    if shown != (_input_choice(design.input), design.input[1], design.classes):
        _sync_input_widgets()  # the design arrived whole (a link, the teacher's) since the widgets were drawn
    choices = [c for c in INPUTS if c != "other" or st.session_state[INPUT] == "other"]
    own = "×".join(str(n) for n in design.input)
    label = lambda c: f"As the design says, {own}" if c == "other" else INPUTS[c][0]  # noqa: E731
    kind, side, classes = st.columns([3, 1.2, 1.2], vertical_alignment="bottom")
    kind.selectbox("Input", choices, key=INPUT, format_func=label, on_change=_change_input,
                   disabled=disabled)
    side.number_input("Side (pixels)", 1, MAX_SIDE, step=1, key=SIDE, on_change=_change_input,
                      disabled=disabled or st.session_state[INPUT] != "rgb")
    classes.number_input("Classes", 1, MAX_CLASSES, step=1, key=CLASSES, on_change=_change_input, disabled=disabled)
    channels, height, width = design.input
    st.caption(f"Input {channels}×{height}×{width}; input channels of every layer are worked out from the one before.")


def _take_upload() -> None:
    upload = st.session_state.get(_UPLOAD)
    if upload is None:
        return
    data = upload.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    if st.session_state.get(_UPLOAD_SEEN) == digest:
        return
    st.session_state[_UPLOAD_SEEN] = digest
    try:
        my_design.put(read_design(data))
        st.session_state[_UPLOAD_PROBLEM] = None
        _sync_input_widgets()
    except UserError as error:
        st.session_state[_UPLOAD_PROBLEM] = f"{error} The design on screen stays as it was."


def draw_files(design: Design, disabled: bool) -> None:
    """Download the design and its code; upload a design file."""
    json_col, code_col = st.columns(2)
    json_col.download_button("Download the design (JSON)", design_text(design).encode(), file_name="design.json",
                             mime="application/json", icon=":material/download:", use_container_width=True)
    try:
        code = export_code(design)
    except UserError as error:
        code_col.button("Download PyTorch code", disabled=True, use_container_width=True, key="bn_code_off")
        code_col.caption(f"No code yet: {error}")
    else:
        code_col.download_button("Download PyTorch code", code.encode(), file_name="your_network.py",
                                 mime="text/x-python", icon=":material/code:", use_container_width=True)
    st.file_uploader(f"Open a design file (JSON, at most {MAX_FILE_BYTES // 1024} kB)", type=["json"], key=_UPLOAD,
                     on_change=_take_upload, disabled=disabled)
    if problem := st.session_state.get(_UPLOAD_PROBLEM):
        st.error(problem)
