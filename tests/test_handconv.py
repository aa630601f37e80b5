"""Convolution by hand: the lab's worked example done on paper here, random settings against PyTorch, and the page.

The lab numbers are written out as sums in this file, not copied from the code's output;
everything else is compared with torch.nn.functional run here in the test, independently of
the check the module does itself.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from explorer.core.errors import UserError
from explorer.handconv.convolution import (
    ConvSettings,
    HandArithmeticMismatch,
    check_against_torch,
    conv_output_size,
    conv_problem,
    conv_size_formula,
    convolve_by_hand,
    fmt,
    fmt_factor,
)
from explorer.handconv.counting import compare_parameters
from explorer.handconv.inputs import (
    digit_grid,
    filter_preset,
    photo_patch,
    resize_keeping_centre,
)
from explorer.handconv.pooling import (
    PoolSettings,
    pool_by_hand,
    pool_output_size,
    pool_problem,
    pool_size_formula,
    relu_by_hand,
)
from explorer.inputs.scoreboard import DIGITS
from tests.conftest import ROOT

LAB_ZERO = [
    [0, 1, 1, 1, 0],
    [1, 0, 0, 0, 1],
    [1, 0, 0, 0, 1],
    [1, 0, 0, 0, 1],
    [0, 1, 1, 1, 0],
]


# ---- the lab's example, by hand


def test_lab_zero_with_a_2x2_filter_of_ones_gives_the_lab_feature_map():
    # Each output cell is the sum of the 2×2 block whose top-left corner is that cell.
    expected = [
        [0 + 1 + 1 + 0, 1 + 1 + 0 + 0, 1 + 1 + 0 + 0, 1 + 0 + 0 + 1],
        [1 + 0 + 1 + 0, 0 + 0 + 0 + 0, 0 + 0 + 0 + 0, 0 + 1 + 0 + 1],
        [1 + 0 + 1 + 0, 0 + 0 + 0 + 0, 0 + 0 + 0 + 0, 0 + 1 + 0 + 1],
        [1 + 0 + 0 + 1, 0 + 0 + 1 + 1, 0 + 0 + 1 + 1, 0 + 1 + 1 + 0],
    ]
    assert expected == [[2, 2, 2, 2], [2, 0, 0, 2], [2, 0, 0, 2], [2, 2, 2, 2]]
    walk = convolve_by_hand(np.array(LAB_ZERO), np.ones((2, 2)))
    assert walk.output.tolist() == expected
    assert len(walk.windows) == 16
    assert walk.windows[0].text == "0·1 + 1·1 + 1·1 + 0·1 = 2 → output (0, 0)"
    assert walk.windows[0].cells == ((0, 0), (0, 1), (1, 0), (1, 1))
    assert walk.windows[5].text == "0·1 + 0·1 + 0·1 + 0·1 = 0 → output (1, 1)"
    assert walk.height_formula.endswith("= ⌊(5 + 2·0 − 1·(2 − 1) − 1)/1⌋ + 1 = ⌊3/1⌋ + 1 = 4")

    pooled = pool_by_hand(walk.output, PoolSettings("max", kernel=2, stride=2))
    # 2×2 blocks of the feature map, stride 2: top-left, top-right, bottom-left, bottom-right.
    by_hand = [[max(2, 2, 2, 0), max(2, 2, 0, 2)], [max(2, 0, 2, 2), max(0, 2, 2, 2)]]
    assert pooled.output.tolist() == by_hand == [[2, 2], [2, 2]]
    assert pooled.windows[0].text == "max(2, 2, 2, 0) = 2 → output (0, 0)"


def test_lab_parameter_counts():
    counts = compare_parameters(5, 5, 2, ConvSettings(), PoolSettings(), filters=4, classes=10)
    assert counts.dense_total == 25 * 10 + 10 == 260
    by_layer = {(row.network, row.layer): row for row in counts.rows}
    conv, fc = by_layer["conv", "convolution"], by_layer["conv", "fully-connected"]
    assert conv.params == 4 * 1 * 2 * 2 + 4 == 20
    assert conv.output_shape == "4×4×4"
    assert by_layer["conv", "flatten"].output_shape == str(4 * 2 * 2)
    assert fc.params == 16 * 10 + 10 == 170
    assert fc.arithmetic == "16×10 + 10 = 170"
    assert counts.conv_total == 20 + 170


def test_parameter_counts_follow_the_settings():
    # 8×8 input, 3×3 kernel, padding 1 keeps 8×8; 2×2 pooling -> 4×4; 6 filters -> 96 features.
    counts = compare_parameters(8, 8, 3, ConvSettings(padding=1), PoolSettings(), filters=6, classes=3)
    assert counts.dense_total == 64 * 3 + 3
    assert counts.conv_total == (6 * 9 + 6) + (6 * 4 * 4 * 3 + 3)


# ---- random settings against PyTorch

shapes = st.tuples(st.integers(1, 8), st.integers(1, 8))


def _draw_grid(data, shape: tuple[int, int], low: int, high: int) -> np.ndarray:
    rows, cols = shape
    row = st.lists(st.integers(low, high), min_size=cols, max_size=cols)
    return np.array(data.draw(st.lists(row, min_size=rows, max_size=rows)), dtype=float)


def _evaluate(text: str) -> float:
    """The left-hand side of a window's written arithmetic, evaluated as Python."""
    left = text.split(" = ")[0].replace(" (bias)", "").replace("·", "*").replace("−", "-")
    assert re.fullmatch(r"[0-9.*+\-() ]+", left), left
    return eval(left)  # noqa: S307 - digits and operators only, checked just above


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    shape=shapes,
    k=st.integers(1, 4),
    stride=st.integers(1, 3),
    padding=st.integers(0, 2),
    dilation=st.integers(1, 3),
    bias=st.integers(-2, 2),
)
def test_hand_convolution_equals_conv2d(data, shape, k, stride, padding, dilation, bias):
    image, kernel = _draw_grid(data, shape, -3, 3), _draw_grid(data, (k, k), -2, 2)
    conv = ConvSettings(stride, padding, dilation, float(bias))
    x, w = torch.tensor(image)[None, None], torch.tensor(kernel)[None, None]
    if conv_problem(image.shape, k, conv):
        with pytest.raises(UserError):
            convolve_by_hand(image, kernel, conv)
        with pytest.raises(RuntimeError):  # torch refuses the same settings
            F.conv2d(x, w, stride=stride, padding=padding, dilation=dilation)
        return
    b = torch.tensor([float(bias)], dtype=torch.float64)
    reference = F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation)[0, 0]
    walk = convolve_by_hand(image, kernel, conv)
    assert tuple(reference.shape) == (
        conv_output_size(shape[0], k, stride, padding, dilation),
        conv_output_size(shape[1], k, stride, padding, dilation),
    )
    assert len(walk.windows) == reference.numel()
    for window in walk.windows:
        assert window.value == pytest.approx(reference[window.out_row, window.out_col].item(), abs=1e-9)
        assert _evaluate(window.text) == pytest.approx(window.value, abs=1e-9)
        assert window.text.endswith(f"→ output ({window.out_row}, {window.out_col})")
        # the cells listed are the padded input's cells, and their values are the ones multiplied
        assert [walk.padded[r, c] for r, c in window.cells] == list(window.inputs)


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    shape=shapes,
    k=st.integers(1, 4),
    stride=st.integers(1, 4),
    ceil_mode=st.booleans(),
    kind=st.sampled_from(["max", "avg"]),
)
def test_hand_pooling_equals_torch_pooling(data, shape, k, stride, ceil_mode, kind):
    source = _draw_grid(data, shape, -5, 5)
    pool = PoolSettings(kind, k, stride, ceil_mode)
    if pool_problem(source.shape, pool):
        with pytest.raises(UserError):
            pool_by_hand(source, pool)
        return
    pool_fn = F.max_pool2d if kind == "max" else F.avg_pool2d
    reference = pool_fn(torch.tensor(source)[None, None], k, stride, ceil_mode=ceil_mode)[0, 0]
    walk = pool_by_hand(source, pool)
    assert tuple(reference.shape) == (
        pool_output_size(shape[0], k, stride, ceil_mode),
        pool_output_size(shape[1], k, stride, ceil_mode),
    )
    assert len(walk.windows) == reference.numel()
    for window in walk.windows:
        assert window.value == pytest.approx(reference[window.out_row, window.out_col].item(), abs=1e-9)
        assert list(window.inputs) == [source[r, c] for r, c in window.cells]


def test_ceil_mode_formula_and_dropped_last_window():
    # 5 wide, window 2, stride 2: ⌈3/2⌉ + 1 = 3 windows, the last one hanging over the edge by one cell.
    assert pool_size_formula("W", 5, 2, 2, True).endswith("= ⌈(5 − 2)/2⌉ + 1 = 2 + 1 = 3")
    walk = pool_by_hand(np.arange(25.0).reshape(5, 5), PoolSettings("avg", 2, 2, True))
    corner = walk.windows[-1]
    assert corner.cells == ((4, 4),) and corner.text == "(24)/1 = 24 → output (2, 2)"
    # window 1, stride 3 on 5 cells: ⌈4/3⌉ + 1 = 3, but a third window would start at 6, past the edge.
    text = pool_size_formula("W", 5, 1, 3, True)
    assert "dropped: 2" in text
    shape = F.max_pool2d(torch.zeros(1, 1, 5, 5), 1, 3, ceil_mode=True).shape
    assert tuple(shape[2:]) == (2, 2) == (pool_output_size(5, 1, 3, True),) * 2


def test_impossible_settings_get_one_sentence():
    with pytest.raises(UserError) as error:
        convolve_by_hand(np.array(LAB_ZERO), np.ones((3, 3)), ConvSettings(dilation=3))
    message = str(error.value)
    assert "7 cells high" in message and "padded input is only 5" in message
    assert message.endswith(".") and message.count(". ") == 0 and "\n" not in message
    with pytest.raises(UserError, match="larger than the 1×1 feature map"):
        pool_by_hand(np.zeros((1, 1)), PoolSettings())
    with pytest.raises(UserError, match="cell \\(0, 1\\) is empty"):
        convolve_by_hand(np.array(LAB_ZERO), np.array([[1.0, np.nan], [1.0, 1.0]]))


def test_relu_and_mismatch_guard():
    activated, zeroed = relu_by_hand(np.array([[-1.5, 0.0], [2.0, -3.0]]))
    assert activated.tolist() == [[0, 0], [2, 0]] and zeroed == 2
    with pytest.raises(HandArithmeticMismatch):
        check_against_torch(np.array([[2.0]]), np.array([[2.5]]), "conv2d")
    with pytest.raises(HandArithmeticMismatch):
        check_against_torch(np.zeros((2, 2)), np.zeros((2, 3)), "conv2d")


def test_number_format():
    assert [fmt(2.0), fmt(-0.5), fmt(1 / 9), fmt(-0.001), fmt(10)] == ["2", "−0.5", "0.11", "0", "10"]
    assert fmt_factor(-1) == "(−1)" and fmt_factor(3) == "3"
    assert conv_size_formula("H", 7, 3, 2, 1, 1).endswith("⌊6/2⌋ + 1 = 4")


# ---- inputs and presets


def test_digits_are_distinct_5x5_scoreboard_patterns_and_zero_is_the_lab_ring():
    assert DIGITS[0].tolist() == LAB_ZERO
    assert sorted(DIGITS) == list(range(10))
    patterns = {tuple(d.ravel()) for d in DIGITS.values()}
    assert len(patterns) == 10
    for digit in DIGITS.values():
        assert digit.shape == (5, 5) and set(np.unique(digit)) == {0.0, 1.0}


def test_grids_keep_the_digit_in_the_middle():
    big = digit_grid(8, 7, 9)
    assert big.shape == (7, 9) and big[1:6, 2:7].tolist() == DIGITS[8].tolist() and big.sum() == DIGITS[8].sum()
    assert resize_keeping_centre(big, 5, 5).tolist() == DIGITS[8].tolist()
    with pytest.raises(UserError):
        digit_grid(3, 4, 4)
    with pytest.raises(UserError):
        digit_grid(None, 13, 5)


def test_filter_presets():
    assert filter_preset("vertical edge", 3).tolist() == [[1, 0, -1]] * 3
    assert filter_preset("horizontal edge", 2).tolist() == [[1, 1], [-1, -1]]
    assert filter_preset("sharpen", 3).tolist() == [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]
    for k in range(1, 8):
        assert filter_preset("sharpen", k).sum() == pytest.approx(1)
        assert filter_preset("blur", k).sum() == pytest.approx(1)
        assert filter_preset("ones", k).shape == (k, k)
    assert np.array_equal(filter_preset("random", 3, seed=7), filter_preset("random", 3, seed=7))
    assert not np.array_equal(filter_preset("random", 3, seed=7), filter_preset("random", 3, seed=8))


def test_photo_patch_is_grey_levels_from_a_real_photo():
    patch = photo_patch("cameraman", 10, 20, 6, 4)
    assert patch.shape == (6, 4) and 0 <= patch.min() and patch.max() <= 1
    assert np.array_equal(patch, np.round(patch, 1)) and patch.std() > 0
    with pytest.raises(UserError):
        photo_patch("cameraman", 45, 0, 6, 4)


def test_explorer_modules_do_not_import_streamlit():
    modules = sorted((ROOT / "explorer" / "handconv").glob("*.py"))
    assert {"__init__.py", "convolution.py", "pooling.py"} <= {path.name for path in modules}  # the loop runs
    for path in modules:
        assert "streamlit" not in Path(path).read_text(), path


# ---- the page


PAGE = "pages/convolution-by-hand.py"
# The page is the default one, at "/". AppTest's switch_page(PAGE) opens its hidden twin at
# /convolution-by-hand (the address that names the file), a page of its own: tests that start on
# the page open the app at "/" (app_test()), as a student does.


def _caption_with(at, text: str) -> str:
    return next(c.value for c in at.caption if text in c.value)


def test_page_default_state_and_stepping(app_test):
    at = app_test()  # the default page
    assert not at.exception and not at.error
    assert at.title[0].value == "Convolution by hand"
    assert "Window 0 of 16." == _caption_with(at, "Window 0 of 16")
    assert [m.value for m in at.metric] == ["260 parameters", "190 parameters"]
    for _ in range(3):
        at.button(key="conv_step_forward").click().run()
    assert at.code[0].value == "1·1 + 1·1 + 0·1 + 0·1 = 2 → output (0, 2)"
    at.button(key="conv_step_back").click().run()
    assert at.code[0].value == "1·1 + 1·1 + 0·1 + 0·1 = 2 → output (0, 1)"
    at.button(key="conv_step_all").click().run()
    assert _caption_with(at, "Window 16 of") == "Window 16 of 16."
    assert at.code[0].value.endswith("→ output (3, 3)")
    # a 3×3 kernel leaves 3×3 = 9 windows: the position stays valid
    at.number_input(key="conv_kernel").set_value(3).run()
    assert not at.exception and _caption_with(at, "of 9.") == "Window 9 of 9."


def test_page_impossible_setting_shows_a_sentence_and_recovers(app_test):
    at = app_test()  # the default page
    at.number_input(key="conv_kernel").set_value(3).run()
    at.number_input(key="conv_dilation").set_value(3).run()
    assert not at.exception
    assert len(at.error) == 1 and "padded input is only 5 cells" in at.error[0].value
    assert at.number_input(key="conv_padding").value == 0  # the settings are still there to fix it
    at.number_input(key="conv_padding").set_value(2).run()
    assert not at.error and _caption_with(at, "Window 0 of") == "Window 0 of 9."


def test_page_photo_patch(app_test):
    at = app_test()  # the default page
    at.radio(key="conv_source").set_value("Photo patch").run()
    assert not at.exception and not at.error
    at.button(key="conv_step_forward").click().run()
    assert at.code[0].value.endswith("→ output (0, 0)") and "0." in at.code[0].value


def test_page_keeps_its_settings_and_position_across_a_visit_to_another_page(app_test):
    at = app_test(page=PAGE)
    at.number_input(key="conv_kernel").set_value(3).run()
    at.button(key="conv_step_forward").click().run()
    at.switch_page("pages/layer-table.py").run()
    assert not at.exception and at.title[0].value.startswith("Layer table")
    at.switch_page(PAGE).run()
    assert not at.exception
    assert at.number_input(key="conv_kernel").value == 3
    assert _caption_with(at, "Window 1 of") == "Window 1 of 9."
    assert at.code[0].value == "0·1 + 1·1 + 1·1 + 1·1 + 0·1 + 0·1 + 1·1 + 0·1 + 0·1 = 4 → output (0, 0)"
