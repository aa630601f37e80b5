"""The Build a network page headless (AppTest): rows, their numbers, the address bar, Your network on every page, a class."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from explorer.analysis.design_link import decode
from explorer.analysis.design_file import parse_design
from explorer.models.design_presets import PRESETS
from explorer.models.lab import LeNet5
from ui.classroom import session as class_session
from tests.conftest import ROOT, as_shown

PAGE = "pages/build-a-network.py"
LENET_ROWS = [("conv", {"out": 6, "kernel": 5}), ("relu", {}), ("maxpool", {"kernel": 2}),
              ("conv", {"out": 16, "kernel": 5}), ("relu", {}), ("maxpool", {"kernel": 2}), ("flatten", {}),
              ("linear", {"out": 120}), ("relu", {}), ("linear", {"out": 84}), ("relu", {}), ("linear", {"out": 10})]


def app(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    return at.switch_page(PAGE).run()


def press(at: AppTest, label: str) -> AppTest:
    return next(b for b in at.button if b.label == label).click().run()


def start_preset(at: AppTest, preset: str) -> AppTest:
    at.selectbox(key="bn_preset").set_value(preset).run()
    return press(at, "Start from this preset")


def metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def add_row(at: AppTest, kind: str, settings: dict) -> None:
    at.selectbox(key="bn_new_type").set_value(kind).run()
    press(at, "Add layer")
    row = at.session_state["bn_selected"]  # the new row is the selected one: its settings are in the editor
    for setting, value in settings.items():
        at.number_input(key=f"bn_{row}_{kind}_{setting}").set_value(value).run()


def select_row(at: AppTest, index: int) -> int:
    """Put row ``index`` (from 0) in the editor; its own number, for its widgets' keys."""
    at.selectbox(key="bn_pick").set_value(index).run()
    return at.session_state["bn_rows"][index]


def table(at: AppTest):
    return at.dataframe[0].value


def kinds(at: AppTest) -> list[str]:
    return [layer["type"] for layer in at.session_state["bn_design"]["layers"]]


def choose_own_network(at: AppTest) -> None:
    architecture = at.selectbox(key="sb_arch")
    architecture.select_index(len(architecture.options) - 1).run()


def test_lenet5_built_from_nothing_row_by_row_has_its_61706_parameters():
    at = app()
    press(at, "Start from nothing")
    assert at.session_state["bn_design"]["layers"] == []
    for kind, settings in LENET_ROWS:
        add_row(at, kind, settings)
    assert not at.exception
    # The registry's LeNet-5, counted by PyTorch itself, not by the design's arithmetic.
    expected = sum(p.numel() for p in LeNet5().parameters())
    assert metrics(at)["Parameters"] == f"{expected:,}" == "61,706"
    # The table's rows, worked by hand: 6 × (1 × 5 × 5) + 6 = 156 and (32 − 5) / 1 + 1 = 28; multiply-adds as
    # torchinfo counts a convolution's, its parameters once per output position (28 × 28); the second conv:
    # 16 × 6 × 25 + 16 parameters, (14 − 5) + 1 = 10.
    rows = table(at)
    assert len(rows) == 12 and list(rows["#"]) == list(range(1, 13))
    first, fourth = rows.iloc[0], rows.iloc[3]
    assert (first["Layer"], first["Output"], first["Parameters"]) == ("Convolution: out 6, kernel 5", "6×28×28", 156)
    assert first["Multiply-adds"] == 156 * 28 * 28 and first["Sees"] == "5×5"
    assert (fourth["Output"], fourth["Parameters"]) == ("16×10×10", 16 * 6 * 25 + 16)
    assert fourth["Arithmetic"].endswith(f"= {16 * 6 * 25 + 16:,}")
    assert rows["Parameters"].sum() == expected
    # The last row added is the selected one: its numbers are written out under the table.
    assert any(c.value.startswith("Row 12 gives **10** · 850 parameters") for c in at.caption)
    assert not at.error


def test_a_kernel_larger_than_its_input_names_the_layer_and_the_rest_stays():
    at = start_preset(app(), "lenet5")
    first = at.session_state["bn_rows"][0]
    at.number_input(key=f"bn_{first}_conv_kernel").set_value(40).run()
    errors = [e.value for e in at.error]
    assert errors[0] == ("Layer 1 (conv) has a 40×40 kernel but its input is only 32×32; use a kernel of at most 32, "
                         "or add padding.")
    assert len(at.session_state["bn_design"]["layers"]) == 12  # every row is still there
    assert list(table(at)["Output"]) == ["does not fit"] * 12
    assert table(at)["Note"][0] == errors[0]  # the row it names carries it too
    assert "Your network" not in at.selectbox(key="sb_arch").options  # a broken design is no architecture


def test_unseen_pixels_are_a_warning_with_the_arithmetic():
    at = start_preset(app(), "lenet5")
    first = at.session_state["bn_rows"][0]
    at.number_input(key=f"bn_{first}_conv_stride").set_value(2).run()
    # (32 − 5) / 2 + 1 = 14.5 by hand: one column is left over.
    assert any("(32 − 5) / 2 + 1 = 14.5: the last column of pixels is never used" in w.value for w in at.warning)


def test_duplicate_move_and_remove_rows_and_the_selection_follows():
    at = start_preset(app(), "toy_conv")
    assert kinds(at) == ["conv", "maxpool", "relu", "flatten", "linear"]
    relu = select_row(at, 2)
    at.button(key=f"bn_{relu}_up").click().run()
    assert kinds(at) == ["conv", "relu", "maxpool", "flatten", "linear"]
    assert at.selectbox(key="bn_pick").value == 1  # the moved row stays selected, in its new place
    assert at.session_state["bn_table"]["selection"]["rows"] == [1]  # and the table shows it selected
    conv = select_row(at, 0)
    at.button(key=f"bn_{conv}_duplicate").click().run()
    assert kinds(at) == ["conv", "conv", "relu", "maxpool", "flatten", "linear"]
    assert at.selectbox(key="bn_pick").value == 1  # the copy is selected
    conv = select_row(at, 0)
    at.button(key=f"bn_{conv}_remove").click().run()
    assert at.selectbox(key="bn_pick").value == 0  # the row that took its place
    relu = select_row(at, 1)
    at.button(key=f"bn_{relu}_down").click().run()
    assert kinds(at) == ["conv", "maxpool", "relu", "flatten", "linear"]
    assert not at.exception


def test_a_new_row_goes_after_the_selected_one_and_becomes_selected():
    at = start_preset(app(), "toy_conv")
    select_row(at, 0)
    at.selectbox(key="bn_new_type").set_value("batchnorm").run()
    press(at, "Add layer")
    assert kinds(at) == ["conv", "batchnorm", "maxpool", "relu", "flatten", "linear"]
    assert at.selectbox(key="bn_pick").value == 1
    assert table(at)["Layer"][1] == "Batch norm"


def test_changing_a_rows_type_starts_from_that_types_settings():
    at = start_preset(app(), "toy_conv")
    second = select_row(at, 1)
    at.selectbox(key=f"bn_{second}_type").set_value("avgpool").run()
    assert at.session_state["bn_design"]["layers"][1] == {"type": "avgpool", "kernel": 2, "stride": 2, "padding": 0}


def test_the_design_lives_in_the_address_bar_and_a_link_opens_it():
    at = start_preset(app(), "tiny_vgg")
    link = at.query_params["design"]
    link = link[0] if isinstance(link, list) else link
    assert decode(link) == parse_design(PRESETS["tiny_vgg"])
    opened = app({"design": link})
    assert opened.session_state["bn_design"] == parse_design(PRESETS["tiny_vgg"]).to_json()


@pytest.mark.parametrize("link", ["v1.eNqrVsrMSy", "v7.abc", "nonsense"])
def test_a_bad_design_link_is_one_sentence(link):
    at = app({"design": link})
    assert not at.exception
    sentences = [as_shown(w.value) for w in at.warning if "design link" in as_shown(w.value)]
    assert len(sentences) == 1 and sentences[0].endswith("Start one on the Build a network page.")


def test_an_empty_design_has_no_code_and_says_why():
    at = app()
    press(at, "Start from nothing")
    assert any(c.value.startswith("No code yet: The design has no layers yet") for c in at.caption)


PAGES = ["layer-table", "architecture-diagram", "parameter-breakdown", "compare-architectures", "feature-maps",
         "where-the-network-looks", "training-step", "train-on-digits"]


@pytest.mark.parametrize("preset", ["lenet5", "small_resnet"])
def test_every_page_opens_on_your_network(preset):
    at = start_preset(app(), preset)
    choose_own_network(at)
    arch_id = at.session_state["sb_arch"]
    assert arch_id.startswith("design-")
    for page in PAGES:
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, page
        assert not at.error, (page, [e.value for e in at.error])
    at.switch_page("pages/parameter-breakdown.py").run()
    expected = sum(p.numel() for p in LeNet5().parameters()) if preset == "lenet5" else None
    if expected is not None:
        assert any(f"{expected:,}" in str(m.value) for m in at.metric) or any(
            f"{expected:,}" in t.value for t in at.markdown)


def test_a_design_trains_and_its_weights_come_home():
    at = start_preset(app(), "toy_conv")
    choose_own_network(at)
    at.switch_page("pages/train-on-digits.py").run()
    at.number_input(key="dg_epochs").set_value(1).run()
    at.button(key="dg_go").click().run()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(
            b.label.startswith("Download the trained") for b in at.get("download_button")):
        at.run()
    assert any(b.label.startswith("Download the trained") for b in at.get("download_button"))
    assert any(c.value.startswith("Grey: LeNet-5 trained from random weights") for c in at.caption)


@pytest.fixture
def fresh_classes():
    class_session.classroom.clear()
    yield
    class_session.classroom.clear()


def test_a_follower_sees_the_teachers_design_and_can_take_a_copy(fresh_classes):
    teacher = app()
    teacher.button(key="cl_start").click().run()
    code = teacher.session_state["cl_code"]
    start_preset(teacher, "lenet5")
    student = app({"class": code})
    student.switch_page(PAGE).run()
    assert student.session_state["bn_design"] == parse_design(PRESETS["lenet5"]).to_json()
    row = student.session_state["bn_rows"][0]
    assert student.number_input(key=f"bn_{row}_conv_out").disabled
    choose_own_network(teacher)
    student.run()
    assert student.session_state["sb_arch"] == teacher.session_state["sb_arch"]
    assert student.session_state["sb_arch"].startswith("design-")
    teacher.number_input(key=f"bn_{teacher.session_state['bn_rows'][0]}_conv_out").set_value(8).run()
    student.run()
    assert student.session_state["bn_design"]["layers"][0]["out"] == 8
    press(student, "Take a copy and edit it")
    row = student.session_state["bn_rows"][0]
    assert not student.number_input(key=f"bn_{row}_conv_out").disabled
    student.number_input(key=f"bn_{row}_conv_out").set_value(4).run()
    assert student.session_state["bn_design"]["layers"][0]["out"] == 4
    teacher.run()
    assert teacher.session_state["bn_design"]["layers"][0]["out"] == 8



def test_the_sidebar_follows_the_design_and_lets_go_of_a_broken_one():
    at = start_preset(app(), "lenet5")
    choose_own_network(at)
    first_id = at.session_state["sb_arch"]
    at.selectbox(key="bn_input").set_value("digits8").run()  # LeNet-5 at 8×8: the second conv no longer fits
    assert at.session_state["sb_arch"] == "lenet5"
    at.selectbox(key="bn_input").set_value("digits32").run()
    choose_own_network(at)
    assert at.session_state["sb_arch"] == first_id  # the same network, the same id
    at.number_input(key=f"bn_{at.session_state['bn_rows'][0]}_conv_out").set_value(8).run()
    assert at.session_state["sb_arch"].startswith("design-") and at.session_state["sb_arch"] != first_id
    assert at.number_input(key="sb_height").value == 32
