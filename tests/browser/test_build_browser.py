"""Build a network in Chromium: LeNet-5 row by row, a kernel too large, a preset trained, its code run, a class."""

from __future__ import annotations

import re
import subprocess
import sys

from playwright.sync_api import expect

from tests.browser.classroom_helpers import ARTIFACTS, sidebar, start_class
from tests.browser.conftest import pick_option, settle

LENET_ROWS = [("Convolution", {"Out": 6, "Kernel": 5}), ("ReLU", {}), ("Max pooling", {"Kernel": 2}),
              ("Convolution", {"Out": 16, "Kernel": 5}), ("ReLU", {}), ("Max pooling", {"Kernel": 2}),
              ("Flatten", {}), ("Linear", {"Out": 120}), ("ReLU", {}), ("Linear", {"Out": 84}), ("ReLU", {}),
              ("Linear", {"Out": 10})]


def main(page):
    return page.locator('[data-testid="stMain"]')


def layer_count(page):
    """The page's own count of the design's rows ("12 of at most 64")."""
    return main(page).get_by_test_id("stMetric").filter(has_text="Layers").get_by_test_id("stMetricValue")


def table_rows(page):
    """The table's rows as the grid offers them to screen readers (the header row first): a table with
    role="grid" inside the canvas, its fallback content, which Chromium gives to assistive technology."""
    return main(page).get_by_test_id("stDataFrame").locator('table[role="grid"] [role="row"]')


def editor(page):
    """The one editor, for the selected row."""
    return main(page).locator(".st-key-bn_editor")


def set_number(page, label: str, value: int) -> None:
    field = editor(page).get_by_label(label, exact=True)
    field.fill(str(value))
    field.press("Enter")
    settle(page)


def click_table_row(page, number: int) -> None:
    """Select row ``number`` (from 1) by clicking it in the table (a canvas: its header and rows are 35 px high)."""
    frame = main(page).get_by_test_id("stDataFrame")
    frame.scroll_into_view_if_needed()
    box = frame.bounding_box()
    page.mouse.click(box["x"] + 15, box["y"] + 35 * number + 17)  # the row's selection mark, left of its "#"
    settle(page)


def add_layer(page, kind: str, settings: dict) -> None:
    pick_option(page, main(page).get_by_test_id("stSelectbox").filter(has_text="Layer to add"), kind,
                re.compile(f"^{re.escape(kind)}$"))
    settle(page)
    main(page).get_by_role("button", name="Add layer").click()
    settle(page)
    for label, value in settings.items():  # the new row is the selected one, in the editor
        set_number(page, label, value)


def start_preset(page, title: str) -> None:
    pick_option(page, main(page).get_by_test_id("stSelectbox").filter(has_text="Start from"), title.split()[0], title)
    settle(page)
    main(page).get_by_role("button", name="Start from this preset").click()
    settle(page)


def parameters(page) -> str:
    return main(page).get_by_test_id("stMetric").filter(has_text="Parameters").get_by_test_id(
        "stMetricValue").inner_text()


def test_lenet5_from_nothing_reads_61706_and_its_code_runs(open_app, tmp_path):
    page = open_app("/build-a-network")
    main(page).get_by_role("button", name="Start from nothing").click()
    settle(page)
    for kind, settings in LENET_ROWS:
        add_layer(page, kind, settings)
    expect(layer_count(page)).to_have_text("12 of at most 64")
    assert parameters(page) == "61,706"  # LeNet-5's count, worked by hand in tests/test_registry.py
    # The grid a screen reader reads: a header and twelve rows, the first conv's numbers in words and digits.
    expect(table_rows(page)).to_have_count(13)
    expect(table_rows(page).nth(1)).to_contain_text("Convolution: out 6, kernel 5")
    expect(table_rows(page).nth(1)).to_contain_text("6×28×28")
    # Clicking row 4 in the table puts it in the editor.
    click_table_row(page, 4)
    expect(editor(page).get_by_text("Row 4: layer")).to_be_visible()
    expect(editor(page).get_by_label("Out", exact=True)).to_have_value("16")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "build_lenet5.png"), full_page=True)
    with page.expect_download() as download:
        main(page).get_by_role("button", name="Download PyTorch code").click()
    code = tmp_path / "your_network.py"
    download.value.save_as(code)
    # A fresh Python process with nothing but torch on its path builds the network and runs it.
    done = subprocess.run([sys.executable, "-I", str(code)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "61,706 parameters; output shape (1, 10)"


def test_a_kernel_too_large_gets_its_sentence_and_the_rest_stays(open_app):
    page = open_app("/build-a-network")
    start_preset(page, "LeNet-5")
    set_number(page, "Kernel", 40)  # row 1 is selected when a design starts
    sentence = ("Layer 1 (conv) has a 40×40 kernel but its input is only 32×32; use a kernel of at most 32, "
                "or add padding.")
    expect(main(page).get_by_test_id("stAlertContentError").get_by_text(sentence, exact=True)).to_be_visible()
    expect(layer_count(page)).to_have_text("12 of at most 64")


def test_a_preset_trains_on_the_digits_and_its_weights_load_into_its_code(open_app, tmp_path):
    page = open_app("/build-a-network")
    start_preset(page, "The lab's toy conv network")
    with page.expect_download() as download:
        main(page).get_by_role("button", name="Download PyTorch code").click()
    download.value.save_as(tmp_path / "your_network.py")
    pick_option(page, sidebar(page).get_by_test_id("stSelectbox").filter(has_text="Architecture"), "Your",
                "Your network")
    settle(page)
    page.get_by_role("link", name="Train on the digits").click()
    settle(page)
    expect(main(page).get_by_role("heading", name="Train on the digits · Your network")).to_be_visible()
    epochs = main(page).get_by_label("Epochs (passes over the training pictures)")
    epochs.fill("2")
    epochs.press("Enter")
    settle(page)
    main(page).get_by_role("button", name="Start").click()
    download = main(page).get_by_role("button", name="Download the trained weights (state dict)")
    expect(download).to_be_visible(timeout=180_000)
    held_out = main(page).get_by_test_id("stMetric").filter(has_text="Held-out accuracy")
    accuracy = held_out.get_by_test_id("stMetricValue").inner_text()
    with page.expect_download() as weights:
        download.click()
    weights.value.save_as(tmp_path / "your_network.pt")
    # The exported class takes the trained state dict with strict=True, in a Python with nothing but torch.
    check = ("import torch\nfrom your_network import YourNetwork\nmodel = YourNetwork()\n"
             "state = torch.load('your_network.pt', weights_only=True)\n"
             "print(model.load_state_dict(state, strict=True))\n"
             "print(sorted(state) == sorted(model.state_dict()))")
    done = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["<All", "keys", "matched", "successfully>", "True"]
    assert accuracy.endswith("%") and accuracy != "—"


def test_a_follower_sees_the_teachers_design(app_url, people):
    teacher = people(app_url + "/build-a-network")
    code = start_class(teacher)
    start_preset(teacher, "CNN Explainer's Tiny VGG")
    student = people(f"{app_url}/?class={code}")
    expect(main(student).get_by_role("heading", name="Build a network")).to_be_visible()
    expect(layer_count(student)).to_have_text("12 of at most 64")
    expect(editor(student).get_by_label("Out", exact=True)).to_be_disabled()
    expect(main(student).get_by_text("You see the teacher's design as they build it.")).to_be_visible()
    assert parameters(student) == parameters(teacher)


def test_the_design_file_comes_back_and_a_bad_one_is_one_sentence(open_app, tmp_path):
    page = open_app("/build-a-network")
    start_preset(page, "LeNet-5")
    with page.expect_download() as download:
        main(page).get_by_role("button", name="Download the design (JSON)").click()
    saved = tmp_path / "design.json"
    download.value.save_as(saved)
    main(page).get_by_role("button", name="Start from nothing").click()
    settle(page)
    expect(layer_count(page)).to_have_text("0 of at most 64")
    upload = main(page).get_by_test_id("stFileUploaderDropzoneInput")
    upload.set_input_files(str(saved))
    settle(page)
    expect(layer_count(page)).to_have_text("12 of at most 64")
    assert parameters(page) == "61,706"
    broken = tmp_path / "broken.json"
    broken.write_text('{"input": [1, 32, 32], "classes": 10, "layers": [{"type": "conv", "out": 6, "kernel": 0}]}')
    upload.set_input_files(str(broken))
    settle(page)
    sentence = ("Layer 1 (conv): the kernel must be a whole number from 1 to 1,024; got 0. "
                "The design on screen stays as it was.")
    expect(main(page).get_by_test_id("stAlertContentError").get_by_text(sentence, exact=True)).to_be_visible()
    assert parameters(page) == "61,706"
