"""Class activation maps and input gradients against references written out here, on private views only.

- Grad-CAM against Grad-CAM by hand (activations weighted by their spatially pooled
  gradients, summed, ReLU) on LeNet-5, and on AlexNet right before an in-place ReLU.
- A sanity check in the manner of Adebayo et al. (2018): the same picture through
  LeNet-5 with randomised weights gives a different map.
- Saliency of the toy dense network, which is linear: its gradient is the class's own
  row of weights, whatever the picture, so SmoothGrad must give the same map.
- Each method's published form and paper, in plain text for the page (the maps against their
  papers' equations are in tests/test_cam_references.py).
- One unit's input gradient (effective receptive field) lies inside its theoretical
  receptive field and is strongest at the centre (Luo et al., 2016).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.analysis.summary import summarize
from explorer.core.errors import UserError
from explorer.core.registry import ARCHITECTURES, get_spec
from explorer.core.sizes import InputSize
from explorer.inputs import images, samples
from explorer.runs import cams, gradients
from explorer.runs.attribution import METHODS, PUBLISHED
from explorer.runs.layer_choice import check_map_layer, default_map_layer, map_layers
from explorer.weights import loading
from tests.test_isolation import fingerprint


def digit(key: str = "handwritten_3", arch_id: str = "lenet5") -> torch.Tensor:
    spec = get_spec(arch_id)
    loaded = images.load_image(samples.sample_bytes(key))
    return images.prepare(loaded, spec, spec.default_size, spec.default_size, "digits").tensor


def table(arch_id: str, side: int | None = None):
    spec = get_spec(arch_id)
    return summarize(arch_id, InputSize(side or spec.default_size, side or spec.default_size))


def grad_cam_by_hand(model, x, layer: str, target: int) -> np.ndarray:
    """Grad-CAM from its paper: ReLU(Σ_k mean(∂y/∂A_k) · A_k), scaled to a maximum of 1."""
    from tests.test_cam_references import activation_and_gradient  # the references' one hook-and-gradient helper

    activation, gradient = activation_and_gradient(model, x, layer, target)
    weights = gradient.mean(dim=(1, 2))  # one number per channel: the pooled gradient
    cam = torch.relu((weights[:, None, None] * activation).sum(dim=0)).float()
    return (cam / cam.max()).numpy()


@pytest.mark.parametrize("layer", ["features.3", "features"])
def test_grad_cam_is_grad_cam_written_out_by_hand_on_lenet5(layer):
    spec = get_spec("lenet5")
    model = loading.build(spec, "digits").requires_grad_(False)
    x = digit()
    ours = cams.class_activation_map(spec, model, x, table("lenet5"), "gradcam", layer, target=3)
    expected = grad_cam_by_hand(model, x, layer, 3)
    assert ours.map.shape == expected.shape == ((10, 10) if layer == "features.3" else (5, 5))
    np.testing.assert_allclose(ours.map, expected, atol=1e-5)
    assert ours.target == 3 and ours.map.max() == pytest.approx(1.0)


def test_a_layer_followed_by_an_in_place_relu_keeps_its_own_output():
    # AlexNet's features.3 (a convolution) is followed by ReLU(inplace=True), which would overwrite it.
    spec = get_spec("alexnet")
    torch.manual_seed(0)
    model = spec.build().requires_grad_(False)
    x = torch.randn(1, 3, 127, 127)
    ours = cams.class_activation_map(spec, model, x, table("alexnet", 127), "gradcam", "features.3", target=7)
    np.testing.assert_allclose(ours.map, grad_cam_by_hand(model, x, "features.3", 7), atol=1e-5)


def test_randomised_weights_change_the_map():
    spec = get_spec("lenet5")
    trained = loading.build(spec, "digits").requires_grad_(False)
    torch.manual_seed(1)
    randomised = spec.build().requires_grad_(False)
    correlations = []
    for sample in samples.samples_of("handwritten")[:5]:
        x = digit(sample.key)
        first = cams.class_activation_map(spec, trained, x, table("lenet5"), "gradcam", "features.3")
        again = cams.class_activation_map(spec, trained, x, table("lenet5"), "gradcam", "features.3")
        other = cams.class_activation_map(spec, randomised, x, table("lenet5"), "gradcam", "features.3",
                                          target=first.target)
        np.testing.assert_array_equal(first.map, again.map)  # the difference below is the weights', not noise
        assert np.abs(first.map - other.map).mean() > 0.1, sample.key
        correlations.append(np.corrcoef(first.map.ravel(), other.map.ravel())[0, 1])
    assert np.mean(correlations) < 0.5


@pytest.mark.parametrize("spec", ARCHITECTURES, ids=lambda spec: spec.id)
def test_every_network_gets_a_map_at_its_default_layer(spec):
    side = spec.default_size if spec.max_size else max(spec.min_size, 96)
    weights = "digits" if spec.id in ("lenet5", "toy_conv") else "random"
    model = loading.build(spec, weights).requires_grad_(False) if spec.id != "toy_dense" else None
    layers = table(spec.id, side)
    if spec.id == "toy_dense":  # every pixel wired straight to the classes: there is no map anywhere
        with pytest.raises(UserError, match="no layer whose output is a map"):
            default_map_layer(layers)
        return
    layer = default_map_layer(layers)
    dims = layers.calls.set_index("name").loc[layer, "output_dims"]
    torch.manual_seed(0)
    result = cams.class_activation_map(spec, model, torch.rand(1, spec.in_channels, side, side), layers, "gradcam", layer)
    assert result.map.shape == tuple(dims[2:]) and dims[2] * dims[3] > 1
    assert 0 <= result.map.min() and result.map.max() == pytest.approx(1.0)


def test_default_layers_are_the_last_maps_larger_than_one_position():
    assert [default_map_layer(table(a)) for a in ("toy_conv", "lenet5", "alexnet", "vgg16", "inception_v3", "resnet18")] \
        == ["relu", "features", "features", "features", "Mixed_7c", "layer4"]
    # At 32 pixels ResNet-18's layer4 is 1×1 (32 / 32): the map moves back to layer3's 2×2.
    assert default_map_layer(table("resnet18", 32)) == "layer3"


@pytest.mark.parametrize("method", ["gradcam", "gradcampp", "layercam", "scorecam"])
def test_each_method_maps_an_inception_branch(method):
    spec = get_spec("inception_v3")
    torch.manual_seed(0)
    model = spec.build().requires_grad_(False)
    side, layer = 75, "Mixed_5b.branch_pool"  # the pooling branch's 1×1 convolution block, 32 channels
    progress = []
    result = cams.class_activation_map(spec, model, torch.rand(1, 3, side, side), table("inception_v3", side), method,
                                       layer, target=5, progress=lambda done, total: progress.append((done, total)),
                                       batch_size=16)
    assert result.map.shape == (7, 7) and result.target == 5  # 75 → 37 → 35 → 17 → 15 → 7
    if method == "scorecam":  # one masked pass per channel, reported batch by batch
        assert progress == [(16, 32), (32, 32)]


@pytest.mark.parametrize(("layer", "sentence"), [
    ("fc", "gives 1,000 numbers with no positions (a fully-connected layer)"),
    ("avgpool", "output is 1×1, a single position"),
    ("layer1.0.relu", "layer1.0.relu runs 2 times in each pass of ResNet-18"),
    ("layer9", "ResNet-18 has no layer called 'layer9'"),
])
def test_a_layer_without_a_map_is_refused_in_one_sentence(layer, sentence):
    with pytest.raises(UserError, match=sentence.replace("(", r"\(").replace(")", r"\)")):
        check_map_layer(get_spec("resnet18"), table("resnet18"), layer)
    assert "layer1.0.relu" not in map_layers(table("resnet18")) and "layer4" in map_layers(table("resnet18"))


def test_a_class_out_of_range_is_refused():
    spec = get_spec("lenet5")
    model = loading.build(spec, "digits")
    with pytest.raises(UserError, match="LeNet-5 has classes 0 to 9; '10' is not one of them."):
        cams.class_activation_map(spec, model, digit(), table("lenet5"), "gradcam", "features", target=10)


def test_saliency_of_a_linear_network_is_its_weights():
    spec = get_spec("toy_dense")
    model = loading.build(spec, "digits").requires_grad_(False)
    x = digit("scoreboard_4", "toy_dense")
    expected = model.fc.weight[4].abs().reshape(5, 5).numpy()
    expected = expected / expected.max()
    plain = gradients.saliency(spec, model, x, target=4)
    smooth = gradients.saliency(spec, model, x, target=4, smooth=True)
    np.testing.assert_allclose(plain.map, expected, rtol=1e-5)
    np.testing.assert_allclose(smooth.map, expected, rtol=1e-5)  # a constant gradient has nothing to smooth


def test_smoothgrad_is_less_speckled_than_plain_saliency():
    spec = get_spec("resnet18")
    torch.manual_seed(0)
    model = spec.build().requires_grad_(False)
    x = torch.rand(1, 3, 96, 96)
    plain = gradients.saliency(spec, model, x, target=1).map
    smooth = gradients.saliency(spec, model, x, target=1, smooth=True).map
    roughness = lambda m: np.abs(np.diff(m, axis=0)).mean() + np.abs(np.diff(m, axis=1)).mean()  # noqa: E731
    assert roughness(smooth) < roughness(plain)


def test_one_units_gradient_fills_its_field_and_is_strongest_at_the_centre():
    spec = get_spec("resnet18")
    torch.manual_seed(0)
    model = spec.build().requires_grad_(False)
    x = torch.randn(1, 3, 224, 224)
    fields = dict(zip(table("resnet18").calls["name"], table("resnet18").calls["field"]))
    kept = {}
    handle = model.layer2.register_forward_hook(lambda _m, _a, out: kept.setdefault("out", out.detach().clone()))
    with torch.no_grad():
        model(x)
    handle.remove()
    channel = int(kept["out"][0, :, 14, 14].argmax())  # a unit that is on for this picture
    gradient = gradients.unit_gradient(spec, model, x, "layer2", channel, 14, 14).numpy()
    top, bottom, left, right = fields["layer2"].patch(14, 14)
    rows, columns = np.flatnonzero(gradient.any(axis=1)), np.flatnonzero(gradient.any(axis=0))
    assert top <= rows[0] and rows[-1] <= bottom and left <= columns[0] and columns[-1] <= right
    quarter = (bottom - top + 1) // 4
    middle = gradient[top + quarter: bottom - quarter + 1, left + quarter: right - quarter + 1]
    assert middle.sum() / gradient.sum() > 0.5  # half the side, a quarter of the area, most of the weight


def test_the_shared_model_is_bit_identical_after_every_kind_of_map():
    spec = get_spec("resnet18")
    model = loading.build(spec, "random").requires_grad_(False)
    before = fingerprint(model)
    x = torch.rand(1, 3, 64, 64)
    layers = table("resnet18", 64)
    for method in ("gradcam", "gradcampp", "layercam", "scorecam"):
        cams.class_activation_map(spec, model, x, layers, method, "layer1.0.conv1", batch_size=64)
    gradients.saliency(spec, model, x, smooth=True)
    gradients.unit_gradient(spec, model, x, "layer1.0.relu (call 2)", 0, 3, 3)
    assert fingerprint(model) == before
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())


def test_a_second_score_cam_at_once_is_turned_away_in_a_sentence():
    spec = get_spec("lenet5")
    model = loading.build(spec, "digits")
    with cams.SCORE_CAM_RUNNING:  # another student's Score-CAM holds the server's one slot
        with pytest.raises(UserError, match="^Another Score-CAM is running on this server just now"):
            cams.class_activation_map(spec, model, digit(), table("lenet5"), "scorecam", "features")
        # the other methods do not wait for it
        assert cams.class_activation_map(spec, model, digit(), table("lenet5"), "gradcam", "features").target == 3


def test_every_method_has_its_published_form_and_paper_in_plain_text():
    assert set(PUBLISHED) == set(METHODS)
    years = {"gradcam": "2017", "gradcampp": "2018", "layercam": "2021", "scorecam": "2020", "saliency": "2014",
             "smoothgrad": "2017"}
    for method, published in PUBLISHED.items():
        assert published.form.startswith("map = ") and years[method] in published.paper, method
        assert not set(published.form + published.paper) & set("*_`[]#<>"), method  # printed by Markdown as it is
    assert "2g² + Σ" in PUBLISHED["gradcampp"].form and "eq. 19" in PUBLISHED["gradcampp"].paper
    assert "softmax over channels" in PUBLISHED["scorecam"].form
