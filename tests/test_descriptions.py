"""Text alternatives and chart summaries: the numbers in each sentence checked against arithmetic by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.analysis.parameter_counts import by_kind, parameter_layers
from explorer.core.registry import get_spec
from explorer.figures import descriptions
from explorer.runs import capture
from explorer.runs.capture_results import LayerOutput
from explorer.runs.progress import Progress
from explorer.runs.step_result import StepResult


def maps_layer(name: str, channels: int, side: int, strongest: int) -> LayerOutput:
    means = np.linspace(0.1, 0.5, channels).astype(np.float32)
    means[strongest] = 3.0
    return LayerOutput(index=0, name=name, type="Sequential", depth=1, shape=(1, channels, side, side), stats=None,
                       channel_means=means)


def test_the_feature_grid_in_words():
    layer = maps_layer("layer2", 128, 28, strongest=17)
    assert descriptions.channel_grid_text(layer, list(range(64)), "Viridis", per_channel=True) == (
        "64 of the 128 channels of layer2, each 28×28, brightest where that channel responds most; "
        "strongest: channel 17")
    whole = descriptions.channel_grid_text(layer, list(range(128)), "Viridis", per_channel=False)
    assert whole.startswith("All 128 channels of layer2, each 28×28, on one brightness scale for the whole layer")
    signed = descriptions.channel_grid_text(layer, [3, 5], "Red–blue (zero is white)", per_channel=True)
    assert "2 of the 128 channels" in signed and "blue where positive, red where negative, white at zero" in signed


@pytest.mark.parametrize(("row", "column", "words"), [
    (0, 0, "the top left"), (0, 4, "the top middle"), (4, 4, "the centre"), (5, 8, "the middle right"),
    (8, 0, "the bottom left"), (8, 8, "the bottom right"),
])
def test_where_the_peak_of_a_map_lies_in_thirds(row, column, words):
    values = np.zeros((9, 9))
    values[row, column] = 1.0
    assert descriptions.region(values) == words


def test_a_class_activation_map_in_words():
    values = np.zeros((4, 4))
    values[0, 3], values[0, 2], values[1, 3], values[3, 0] = 1.0, 0.8, 0.6, 0.4  # 3 of 16 squares above 0.5
    sentence = descriptions.cam_text("Grad-CAM", "at layer4", "tabby", values)
    assert sentence == ("Grad-CAM at layer4 for class tabby, over the picture: strongest in the top right; "
                        "19% of the picture is above half the strongest value.")  # 3/16 = 18.75%
    assert "zero everywhere" in descriptions.cam_text("Grad-CAM", "at layer4", "tabby", np.zeros((7, 7)))


def test_lenet5s_parameter_charts_in_words():
    # By hand: conv 1·6·5·5 = 150 and 6·16·5·5 = 2,400 weights; fully-connected 400·120 = 48,000, 120·84 = 10,080
    # and 84·10 = 840 weights; biases 6 + 16 + 120 + 84 + 10 = 236. Total 61,706.
    layers = parameter_layers("lenet5")
    assert descriptions.weights_text(by_kind(layers), "LeNet-5") == (
        "Fully-connected weights hold 95.5% of LeNet-5's parameters; "  # 58,920 / 61,706 = 0.95485
        "the biases of every layer together hold 0.4%.")  # 236 / 61,706 = 0.00382
    assert descriptions.largest_layer_text(layers, "LeNet-5") == (
        "classifier.0 (Linear) is LeNet-5's largest layer: 48,120 of 61,706 parameters (78.0%); "  # 48,120 / 61,706
        "it alone holds half of them or more.")
    # features: 150 + 6 + 2,400 + 16 = 2,572; classifier: 61,706 − 2,572 = 59,134, 95.8%.
    assert descriptions.stages_text(layers, "LeNet-5") == (
        "Of LeNet-5's 2 top-level parts, classifier holds the most: 59,134 parameters (95.8%).")


def test_resnet18s_largest_layers_are_three_of_one_size():
    # layer4's 3×3 convolutions from 512 to 512 channels: 512·512·9 = 2,359,296 each; three of them
    # (layer4.0.conv2, layer4.1.conv1, layer4.1.conv2) hold 60.6% of 11,689,512, the first two 40.4%.
    sentence = descriptions.largest_layer_text(parameter_layers("resnet18"), "ResNet-18")
    assert sentence.startswith("layer4.0.conv2 (Conv2d) and 2 other layers of the same size are ResNet-18's largest: "
                               "2,359,296 of 11,689,512 parameters (20.2%) each")
    assert sentence.endswith("its 3 largest layers, of 41 with parameters, hold half of them.")


def test_the_path_strip_of_lenet5_in_words():
    spec = get_spec("lenet5")
    torch.manual_seed(0)
    result = capture.run_on_image(spec, spec.build(), torch.rand(1, 1, 32, 32))
    # By hand: 5×5 convolutions without padding and 2×2 pooling: 32 → 28 → 14 → 10 → 5.
    sentence = descriptions.path_text(result, "LeNet-5")
    assert sentence.startswith("The picture, then the strongest channel of each of LeNet-5's ")
    sizes = [part.rsplit(" ", 1)[1] for part in sentence.split(": ", 1)[1].rstrip(".").split(", ")]
    assert sizes == ["28×28", "14×14", "10×10", "5×5"]


def step_result(before: list[float], after: list[float], target: int) -> StepResult:
    return StepResult(step=1, optimizer="sgd", learning_rate=0.1, target=target, loss_before=1.0, loss_after=0.5,
                      objective=1.0, probs_before=np.array(before), probs_after=np.array(after),
                      layers=("conv1", "fc"), layer_types=("Conv2d", "Linear"), grad_norms=np.array([0.02, 1.5]),
                      weight_norms=np.array([2.0, 3.0]), update_norms=np.array([0.002, 0.15]), first_conv="conv1",
                      filters_before=None, filters_after=None)


def test_what_a_training_step_did_in_words():
    result = step_result([0.2, 0.7, 0.1], [0.35, 0.6, 0.05], target=0)
    assert descriptions.probabilities_text(result, ["cat", "dog", "fox"]) == (
        "The probability of the target class, cat, rose from 20.0% to 35.0% in this step.")
    assert "fell from 70.0% to 60.0%" in descriptions.probabilities_text(
        step_result([0.2, 0.7, 0.1], [0.35, 0.6, 0.05], target=1), ["cat", "dog", "fox"])
    assert descriptions.layers_text(result, result.grad_norms, "The gradient norm") == (
        "The gradient norm is largest at fc (1.5) and smallest at conv1 (0.02), over 2 layers.")
    # ‖Δw‖/‖w‖: 0.002 / 2 = 0.001 and 0.15 / 3 = 0.05.
    assert descriptions.layers_text(result, result.update_ratios, "The relative update") == (
        "The relative update is largest at fc (0.05) and smallest at conv1 (0.001), over 2 layers.")


def progress(train: list[tuple[float, float]], held_out: list[tuple[float, float]]) -> Progress:
    return Progress(status="running", message=None, epochs_planned=4, batches_done=45, batches_per_epoch=30,
                    train_points=tuple(train), held_out_points=tuple(held_out), epochs=(), seconds=3.0,
                    seconds_to_goal=None, filters_start=None, filters_now=None)


def test_a_learning_run_in_words():
    run = progress([(0.03, 2.31), (0.5, 0.9), (1.5, 0.412)], [(0.5, 0.61), (1.0, 0.93), (1.5, 0.9)])
    # 45 batches of 30 per epoch: 1.5 epochs. Best held-out accuracy 93%, the last 90%.
    assert descriptions.learning_text(run) == ("The batch loss went from 2.31 to 0.412 in 1.5 epochs (45 batches); "
                                               "held-out accuracy is 90.0% now, 93.0% at best.")
    assert descriptions.learning_text(progress([], [])) is None


def test_a_vector_in_words():
    values = np.array([0.5, -2.0, 3.25, 1.0], dtype=np.float32)
    assert descriptions.vector_text("fc2", values) == (
        "The 4 numbers fc2 gives, from -2 to 3.25; the largest is number 2 (3.25).")


def test_the_most_probable_classes_in_words():
    classes = [("tabby", 0.4567), ("tiger cat", 0.25), ("lynx", 0.125), ("fox", 0.01)]
    assert descriptions.top_classes_text(classes) == "Most probable: tabby (45.7%), then tiger cat (25.0%) and lynx (12.5%)."
    assert descriptions.top_classes_text(classes[:1]) == "Most probable: tabby (45.7%)."


def test_the_training_steps_loss_curve_in_words():
    assert descriptions.loss_history_text([1, 2, 3], [2.0, 0.5, 0.75], 2.31) == (
        "The picture's loss over 3 steps: 2.31 before the first step, 0.75 after step 3, lowest 0.5.")
    assert descriptions.loss_history_text([1], [1.5], None) == "The picture's loss over 1 step: 1.5 after step 1, lowest 1.5."
