"""The digit-trained checkpoints: they load strictly, score what their reports say, and load safely.

Accuracies are measured again here on the held-out data (rebuilt from scikit-learn's digits and
the fixed split), never read from the reports; the reports are then checked against them.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import ImageOps

from explorer.inputs import digit_inputs, drawings, images, scans
from explorer.core.errors import UserError
from explorer.core.registry import get_spec
from explorer.inputs.samples import sample_bytes
from explorer.runs.evaluation import correct_count
from explorer.weights import catalogue, digit_checkpoints

TOY_SIDES = [("toy_dense", 5), ("toy_conv", 5), ("toy_conv", 6)]


@pytest.fixture(scope="module")
def lenet() -> torch.nn.Module:
    return digit_checkpoints.digits_model("lenet5")


@pytest.fixture(scope="module")
def held_out() -> tuple[torch.Tensor, torch.Tensor]:
    return digit_inputs.scan_inputs("test")


def test_the_digit_archs_and_class_names():
    assert digit_checkpoints.DIGITS_WEIGHTS_ARCHS == {"lenet5", "toy_dense", "toy_conv"}
    assert catalogue.class_names(get_spec("lenet5"), "digits") == ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]


@pytest.mark.parametrize("arch_id", sorted(digit_checkpoints.DIGITS_WEIGHTS_ARCHS))
def test_checkpoint_loads_strictly_into_a_fresh_model(arch_id):
    model = get_spec(arch_id).build("cpu")
    state = digit_checkpoints.digits_state_dict(arch_id)
    model.load_state_dict(state, strict=True)  # raises on any missing, unexpected or misshapen key
    assert all(torch.equal(model.state_dict()[key], value) for key, value in state.items())


def test_lenet5_checkpoint_is_small():
    # conv 6·(1·5·5)+6, conv 16·(6·5·5)+16, fc 400·120+120, 120·84+84, 84·10+10
    expected = (6 * 25 + 6) + (16 * 6 * 25 + 16) + (400 * 120 + 120) + (120 * 84 + 84) + (84 * 10 + 10)
    assert expected == 61_706
    assert sum(value.numel() for value in digit_checkpoints.digits_state_dict("lenet5").values()) == expected
    # float32 weights plus the archive's own bookkeeping, far from a pickled model or shared storage
    assert expected * 4 < digit_checkpoints.checkpoint_path("lenet5").stat().st_size < expected * 4 + 20_000


def test_the_split_is_a_fixed_stratified_80_20_split_of_all_1797_scans():
    split = scans.scan_split()
    train, test, labels = split["train"], split["test"], split["labels"]
    assert len(labels) == 1797
    assert (len(train), len(test)) == (1437, 360)  # 20% of 1797 is 359.4; scikit-learn rounds the test part up
    assert set(train).isdisjoint(test) and set(train) | set(test) == set(range(1797))
    per_digit_all, per_digit_test = np.bincount(labels, minlength=10), np.bincount(labels[test], minlength=10)
    assert np.all(np.abs(per_digit_test - 0.2 * per_digit_all) <= 1)
    assert np.array_equal(scans.scan_split.__wrapped__()["test"], test)  # the same indices on every call


def test_training_inputs_are_exactly_what_the_app_feeds_lenet5():
    split = scans.scan_split()
    spec = get_spec("lenet5")
    for digit in range(10):
        held_out = split["test"]
        first = int(held_out[split["labels"][held_out] == digit][0])  # the app's sample: first held-out scan
        on_page = images.prepare(images.load_image(sample_bytes(f"handwritten_{digit}")), spec, 32, 32).tensor[0]
        assert torch.equal(digit_inputs.network_input(scans.scan_png(split["scans"][first]), "lenet5", 32), on_page)


def test_lenet5_reads_at_least_97_percent_of_the_held_out_scans(lenet, held_out):
    inputs, labels = held_out
    assert inputs.shape == (360, 1, 32, 32) and 0.0 <= float(inputs.min()) and float(inputs.max()) <= 1.0
    correct = correct_count(lenet, inputs, labels)
    assert correct >= 0.97 * 360
    report = digit_checkpoints.digits_report("lenet5")
    assert report["held_out_correct"] == correct
    assert report["held_out_accuracy"] == pytest.approx(correct / 360)
    assert (report["test_size"], report["train_size"]) == (360, 1437)
    assert f"{correct / 360:.1%}" in report["summary"]


def test_lenet5_reads_the_first_held_out_scan_of_every_digit(lenet):
    # (The app's "Handwritten digit" samples are the first scan of each digit, which is training data.)
    examples = scans.first_held_out_scans()
    inputs = torch.stack([digit_inputs.network_input(scans.scan_png(examples[str(d)]), "lenet5", 32) for d in range(10)])
    assert lenet(inputs).argmax(dim=1).tolist() == list(range(10))


@pytest.mark.parametrize(("arch_id", "side"), TOY_SIDES)
def test_toy_networks_read_all_ten_clean_scoreboard_digits(arch_id, side):
    model = digit_checkpoints.digits_model(arch_id)
    inputs, _ = digit_inputs.scoreboard_inputs(arch_id, side)
    assert inputs.shape == (10, 1, side, side)
    assert model(inputs).argmax(dim=1).tolist() == list(range(10))


@pytest.mark.parametrize(("arch_id", "side"), TOY_SIDES)
def test_toy_reports_state_the_re_measured_one_cell_flip_accuracy(arch_id, side):
    inputs, labels = digit_inputs.scoreboard_flips(arch_id, side)
    assert len(labels) == 10 * 25
    # Each flipped picture differs from its clean digit in exactly one cell.
    clean, _ = digit_inputs.scoreboard_inputs(arch_id, 5)
    if side == 5:
        assert torch.equal((inputs != clean.repeat_interleave(25, dim=0)).sum(dim=(1, 2, 3)), torch.ones(250, dtype=torch.long))
    correct = correct_count(digit_checkpoints.digits_model(arch_id), inputs, labels)
    assert digit_checkpoints.digits_report(arch_id)["one_cell_flipped"][str(side)]["correct"] == correct
    assert correct >= 0.8 * 250


def test_canvas_like_drawings_are_read_most_of_the_time(lenet):
    # A set of its own (seed 7): neither a training set (seed 1) nor the reported ones (seeds 2 and 3).
    # Training measured 99.4% on 500 such drawings (seed 2) and this set scores 200 of 200; 95% leaves
    # room for a retrained network's variation while catching a broken input path or checkpoint.
    inputs, labels = digit_inputs.drawing_inputs(drawings.drawings(20, 7, drawings.Style.page()))
    assert inputs.shape == (200, 1, 32, 32)
    assert correct_count(lenet, inputs, labels) >= 0.95 * 200


def test_drawings_are_opaque_280_pixel_pngs_like_the_canvas_sends():
    png, digit = next(drawings.drawings(1, 0, drawings.Style.page()))
    loaded = images.load_image(png)
    assert digit == 0 and loaded.format == "PNG" and loaded.original_size == (280, 280)
    assert loaded.original_mode == "RGBA" and loaded.image.mode == "RGB" and loaded.notes == ()
    pixels = np.asarray(loaded.image)
    assert pixels[0, 0].tolist() == [0, 0, 0] and pixels.max() == 255  # black canvas, white ink


def test_drawings_are_reproducible_and_differ_between_seeds():
    style = drawings.Style.page()
    first = list(drawings.drawings(1, 11, style))
    assert first == list(drawings.drawings(1, 11, style))
    assert [digit for _, digit in first] == list(range(10))
    assert all(a != b for (a, _), (b, _) in zip(first, drawings.drawings(1, 12, style)))


def test_every_digit_has_a_held_out_shape_and_training_never_draws_it():
    for digit, shapes in drawings.SHAPES.items():
        held_out = drawings.HELD_OUT_SHAPES[digit]
        assert len(shapes) >= 2 and 0 <= held_out < len(shapes)
        assert drawings.allowed_shapes(digit, "held_out") == [held_out]
        assert held_out not in drawings.allowed_shapes(digit, "training")
        assert drawings.allowed_shapes(digit, "all") == list(range(len(shapes)))


def test_reports_record_seed_epochs_and_split():
    report = digit_checkpoints.digits_report("lenet5")
    assert report["seed"] == 0 and report["epochs"] > 0
    assert report["split"]["test_share"] == 0.2 and report["split"]["random_state"] == scans.SPLIT_SEED
    training_seeds = {drawings["seed"] for drawings in report["training_drawings"]}
    assert report["drawn_like_the_page"]["seed"] not in training_seeds
    assert report["drawn_in_the_held_out_shapes"]["seed"] not in training_seeds
    assert report["unseen_shapes_experiment"]["shapes"] == "held_out"


def test_an_architecture_without_digit_weights_is_a_plain_error():
    with pytest.raises(UserError, match="have weights trained on digits") as error:
        digit_checkpoints.digits_state_dict("resnet18")
    assert str(error.value).count(".") == 1 and "\n" not in str(error.value)


def test_a_dark_digit_on_light_paper_is_inverted_and_read_like_the_canvas(lenet):
    png, digit = next(drawings.drawings(1, 11, drawings.Style.page()))
    drawing = images.load_image(png).image.convert("L")
    paper = io.BytesIO()
    ImageOps.invert(drawing).save(paper, format="PNG")  # black ink on white, like a photo of paper
    spec = get_spec("lenet5")
    on_paper = images.prepare(images.load_image(paper.getvalue()), spec, 32, 32)
    on_canvas = images.prepare(images.load_image(png), spec, 32, 32)
    assert any("inverted" in step for step in on_paper.steps)
    assert not any("inverted" in step for step in on_canvas.steps)
    # Inverting commutes with resizing up to one grey level of rounding.
    assert float((on_paper.tensor - on_canvas.tensor).abs().max()) <= 1.5 / 255
    assert int(lenet(on_paper.tensor).argmax()) == digit


def test_small_light_edged_digits_are_not_inverted():
    # The scoreboard "0" lights 12 of its 16 edge cells; it must reach the toy network as it is.
    from explorer.inputs.scoreboard import DIGITS

    prepared = images.prepare(images.load_image(sample_bytes("scoreboard_0")), get_spec("toy_conv"), 5, 5)
    assert not any("inverted" in step for step in prepared.steps)
    assert torch.equal(prepared.tensor[0, 0], torch.tensor(DIGITS[0], dtype=torch.float32))
