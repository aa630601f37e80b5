"""Renders: the same seed gives the same picture, the objective rises, the layer is read before its ReLU and
the pass stops there, and on the digit-trained LeNet-5 every render beats the best of the 1,797 scans."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from explorer.core.errors import UserError
from explorer.core.registry import get_spec
from explorer.inputs import corpora
from explorer.runs.featurevis import microscope, target
from explorer.runs.featurevis.render import Recipe, check_recipe, diversity_batch, render
from explorer.weights.digit_checkpoints import digits_model


@pytest.fixture
def one_thread():
    """Small networks run faster on one thread, and a render's sums then come in one fixed order."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def lenet():
    return digits_model("lenet5")


def _render(model, channel, recipe, in_channels=1):
    return render(model, "features.3", channel, recipe, in_channels, (0.0,), (1.0,))


def test_the_same_seed_gives_the_same_picture_bit_for_bit(lenet):
    first, again = (_render(lenet, 2, Recipe(steps=30, size=32, seed=7)) for _ in range(2))
    other = _render(lenet, 2, Recipe(steps=30, size=32, seed=8))
    assert first.pictures.tobytes() == again.pictures.tobytes()
    assert first.objective == again.objective
    assert first.pictures.tobytes() != other.pictures.tobytes()


def test_the_objective_rises_and_the_picture_is_grey_for_a_grey_network(lenet, one_thread):
    progress = []
    result = render(lenet, "features.3", 5, Recipe(steps=100, size=32), 1, (0.0,), (1.0,),
                    progress=lambda step, steps, value: progress.append((step, steps, value)))
    assert [p[0] for p in progress] == list(range(1, 101)) and {p[1] for p in progress} == {100}
    assert [p[2] for p in progress] == result.objective
    tenth = len(result.objective) // 10
    assert np.mean(result.objective[-tenth:]) > np.mean(result.objective[:tenth])
    assert result.pictures.shape == (1, 32, 32, 1) and result.pictures.dtype == np.uint8


def test_the_layer_is_read_before_its_relu():
    torch.manual_seed(0)
    model = get_spec("resnet18").build().eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        block = model.layer1[1]
        entering = model.layer1[0](model.maxpool(model.relu(model.bn1(model.conv1(x)))))
        # By hand: the last block's sum before its final ReLU.
        summed = block.bn2(block.conv2(block.relu(block.bn1(block.conv1(entering))))) + entering
        with target.reading(target.private_copy(model), "layer1") as run:
            read = run(x)
    assert float(summed.min()) < 0  # there is something a ReLU would have cut
    assert torch.allclose(read, summed, atol=1e-5)


def test_the_forward_pass_stops_at_the_target_layer(lenet):
    twin = target.private_copy(lenet)
    calls = []
    twin.classifier.register_forward_hook(lambda *args: calls.append(1))
    x = torch.rand(2, 1, 32, 32)
    with target.reading(twin, "features.1") as run:  # LeNet-5's first ReLU: its input, the convolution's output
        stopped = run(x)
    assert calls == []
    with target.reading(twin, "features.1", stop=False) as run:
        whole = run(x)
    assert calls == [1]
    assert torch.equal(stopped, whole)
    assert torch.allclose(stopped, lenet.features[0](x)) and float(stopped.min()) < 0
    assert all(p.requires_grad for p in lenet.parameters())  # the caller's model is untouched


def test_a_fully_connected_unit_and_the_logits_can_be_rendered(lenet, one_thread):
    logits = render(lenet, "logits", 3, Recipe(steps=40, size=32), 1, (0.0,), (1.0,))
    assert len(logits.objective) == 40 and logits.objective[-1] > logits.objective[0]
    with torch.no_grad():  # the activation is the saved picture's own logit for class 3
        saved = torch.from_numpy(logits.pictures).permute(0, 3, 1, 2).float() / 255
        assert np.isclose(logits.activations[0], float(lenet(saved)[0, 3]), atol=1e-4)


def test_a_diversity_batch_gives_four_different_pictures(lenet, one_thread):
    batch = _render(lenet, 1, diversity_batch(Recipe(steps=20, size=32)))
    assert batch.pictures.shape[0] == len(batch.activations) == 4
    assert len({picture.tobytes() for picture in batch.pictures}) == 4


def test_bad_recipes_and_layers_get_one_sentence(lenet):
    for recipe, words in ((Recipe(steps=10_000), "1 to 2,048 steps"), (Recipe(size=0), "not 0"),
                          (Recipe(size=5000), "not 5,000")):
        with pytest.raises(UserError, match=words):
            check_recipe(recipe, 32)
    with pytest.raises(UserError, match=r"no layer called 'features.9' \(did you mean 'features.5'\?\)"):
        target.find_layer(lenet, "features.9")
    with pytest.raises(UserError, match="channels 0 to 15, so channel 16"):
        microscope.parse_channels("0-16", 16)
    with pytest.raises(UserError, match="cannot be reached from a 64-pixel picture"):
        target.output_shape(lenet, "classifier.0", 1, 64)
    assert microscope.parse_channels("2-4,9,3", 16) == [2, 3, 4, 9]


def test_every_render_of_lenets_second_convolution_beats_the_best_scan(lenet, one_thread):
    """The default recipe (512 steps, at LeNet-5's own 32 pixels): about 20 s of one CPU core."""
    spec = get_spec("lenet5")
    found = microscope.scan_corpus(spec, lenet, "digits", "features.3", corpora.scans())
    assert found.values.shape == (1797, 16)
    recipe = microscope.checked_recipe(spec, lenet, "features.3", Recipe(), None)
    assert recipe.size == 32 and recipe.steps == 512
    losing = []
    for channel in range(16):
        rendered = microscope.render_unit(spec, lenet, "digits", "features.3", channel, recipe)
        if not rendered.activations[0] > found.best(channel):
            losing.append((channel, rendered.activations[0], found.best(channel)))
    assert losing == []


def test_the_same_seed_gives_the_same_colour_render_of_a_residual_network():
    torch.manual_seed(0)
    model = get_spec("resnet18").build().eval()
    first, again = (render(model, "layer2", 9, Recipe(steps=6, size=64, seed=3), 3, (0.485, 0.456, 0.406),
                           (0.229, 0.224, 0.225)) for _ in range(2))
    assert first.pictures.shape == (1, 64, 64, 3)
    assert first.pictures.tobytes() == again.pictures.tobytes() and first.objective == again.objective


@pytest.mark.parametrize(("arch_id", "layer", "side"), [("lenet5", "features.3", 32), ("resnet18", "layer3", 96),
                                                          ("alexnet", "classifier.6", 224)])
def test_a_layers_shape_on_the_meta_device_is_the_real_networks(arch_id, layer, side):
    spec = get_spec(arch_id)
    torch.manual_seed(0)
    real = target.output_shape(spec.build(), layer, spec.in_channels, side)  # a real forward pass to the layer
    assert target.layer_shape(spec, layer, side) == real
