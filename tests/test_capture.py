"""One forward pass, every layer call: shapes against torchinfo, values against forwards written out by hand."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from explorer.runs import capture, capture_results, predictions, private_views
from explorer.core.registry import get_spec
from explorer.core.sizes import InputSize
from explorer.analysis.summary import summarize


@pytest.fixture(scope="module")
def resnet18():
    torch.manual_seed(0)
    return get_spec("resnet18").build().requires_grad_(False)


@pytest.fixture(scope="module")
def alexnet():
    torch.manual_seed(0)
    return get_spec("alexnet").build().requires_grad_(False)


def picture(side: int, channels: int = 3, seed: int = 0) -> torch.Tensor:
    return torch.randn(1, channels, side, side, generator=torch.Generator().manual_seed(seed))


def recorded(model: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    calls, _ = capture.record(model, x)
    return {name: copy for name, _, _, _, copy in calls}


@pytest.mark.parametrize("arch_id, side", [("toy_conv", 5), ("lenet5", 32), ("alexnet", 96), ("resnet18", 64)])
def test_every_call_in_torchinfos_order_with_torchinfos_output_shape(arch_id, side):
    spec = get_spec(arch_id)
    torch.manual_seed(0)
    model = spec.build()
    result = capture.capture(model, picture(side, spec.in_channels))
    table = summarize(arch_id, InputSize(side, side))
    ran = table.calls[table.calls["ran"]]
    assert [layer.name for layer in result.layers] == list(ran["name"])
    assert [list(layer.shape) for layer in result.layers] == list(ran["output_dims"])
    assert [layer.type for layer in result.layers] == list(ran["type"])


def test_resnets_shared_relu_gives_one_entry_per_call(resnet18):
    names = [layer.name for layer in capture.capture(resnet18, picture(64)).layers]
    assert names.count("layer1.0.relu") == 1 and names.count("layer1.0.relu (call 2)") == 1
    # Two calls per BasicBlock plus the stem's one: 8 blocks × 2 + 1.
    assert sum(name.split(" (")[0].endswith("relu") for name in names) == 17


def test_alexnet_conv_output_is_kept_before_the_in_place_relu_overwrites_it(alexnet):
    x = picture(224)
    copies = recorded(alexnet, x)
    by_hand = F.conv2d(x, alexnet.features[0].weight, alexnet.features[0].bias, stride=4, padding=2)[0]
    assert torch.allclose(copies["features.0"], by_hand, atol=1e-5)
    assert copies["features.0"].min() < 0  # the in-place ReLU that follows did not reach the copy
    assert torch.equal(copies["features.1"], by_hand.clamp(min=0)) or torch.allclose(
        copies["features.1"], by_hand.clamp(min=0), atol=1e-5)


def test_resnet18_first_block_by_hand(resnet18):
    x = picture(224)
    copies = recorded(resnet18, x)
    m = resnet18
    stem = F.max_pool2d(F.relu(F.batch_norm(
        F.conv2d(x, m.conv1.weight, stride=2, padding=3),
        m.bn1.running_mean, m.bn1.running_var, m.bn1.weight, m.bn1.bias, eps=m.bn1.eps)), 3, 2, 1)
    block = m.layer1[0]
    out = F.conv2d(stem, block.conv1.weight, padding=1)
    out = F.relu(F.batch_norm(out, block.bn1.running_mean, block.bn1.running_var, block.bn1.weight, block.bn1.bias,
                              eps=block.bn1.eps))
    out = F.conv2d(out, block.conv2.weight, padding=1)
    before_sum = F.batch_norm(out, block.bn2.running_mean, block.bn2.running_var, block.bn2.weight, block.bn2.bias,
                              eps=block.bn2.eps)
    after = F.relu(before_sum + stem)
    assert torch.allclose(copies["maxpool"], stem[0], atol=1e-5)
    # bn2's output as it left bn2, before `out += identity` changed that very tensor.
    assert torch.allclose(copies["layer1.0.bn2"], before_sum[0], atol=1e-5)
    assert torch.allclose(copies["layer1.0.relu (call 2)"], after[0], atol=1e-5)
    assert torch.allclose(copies["layer1.0"], after[0], atol=1e-5)


def test_reduced_statistics_are_exact_and_maps_within_one_quantisation_step(alexnet):
    x = picture(160)
    reference = recorded(alexnet, x)["features.0"].numpy()  # 64×39×39: small enough to keep whole
    layer = next(layer for layer in capture.capture(alexnet, x).layers if layer.name == "features.0")
    assert layer.pool_factor == 1
    assert layer.stats.minimum == pytest.approx(reference.min(), abs=1e-6)
    assert layer.stats.maximum == pytest.approx(reference.max(), abs=1e-6)
    assert layer.stats.mean == pytest.approx(reference.mean(), abs=1e-5)
    np.testing.assert_allclose(layer.channel_means, reference.mean(axis=(1, 2)), atol=1e-5)
    channels = layer.ordered_channels("strongest", 16)
    assert list(channels) == list(np.argsort(-reference.mean(axis=(1, 2)))[:16])
    step = (reference.max(axis=(1, 2)) - reference.min(axis=(1, 2)))[channels] / 255
    error = np.abs(layer.channel_maps(channels) - reference[channels]).max(axis=(1, 2))
    assert np.all(error <= step / 2 + 1e-5)


def test_zero_share_and_dead_channels_count_exact_zeros(alexnet):
    x = picture(128)
    relu = recorded(alexnet, x)["features.1"].numpy()
    layer = next(layer for layer in capture.capture(alexnet, x).layers if layer.name == "features.1")
    assert layer.stats.zero_share == pytest.approx((relu == 0).mean(), abs=1e-9)
    assert layer.stats.dead_channels == int((relu.reshape(64, -1) == 0).all(axis=1).sum())
    assert layer.stats.zero_share > 0.2  # random weights: roughly half the values are negative before the ReLU


def test_large_maps_are_averaged_over_whole_blocks(resnet18):
    x = picture(160)
    reference = recorded(resnet18, x)["conv1"]  # 64×80×80
    layer = capture.capture(resnet18, x).layers[0]
    assert layer.pool_factor == 2 and layer.maps.shape[1:] == (40, 40)
    pooled = F.avg_pool2d(reference[None, :3], 2)[0].numpy()
    step = (layer.map_high[:3] - layer.map_low[:3]) / 255
    assert np.all(np.abs(layer.channel_maps([0, 1, 2]) - pooled).max(axis=(1, 2)) <= step / 2 + 1e-5)


def test_a_container_shares_the_arrays_of_the_call_that_made_its_output(resnet18):
    result = capture.capture(resnet18, picture(64))
    by_name = {layer.name: layer for layer in result.layers}
    assert by_name["layer1"].maps is by_name["layer1.1.relu (call 2)"].maps
    # bn2's output was changed in place by `+= identity`, so it is not shared with the block's output.
    assert by_name["layer1.0.bn2"].maps is not by_name["layer1.0"].maps
    distinct = {}
    for layer in result.layers:
        for array in (layer.channel_means, layer.maps, layer.map_channels, layer.map_low, layer.map_high, layer.vector):
            if array is not None:
                distinct[id(array)] = array.nbytes
    assert result.nbytes == sum(distinct.values()) + result.logits.nbytes  # shared arrays count once


def test_at_most_the_first_and_the_strongest_channels_are_kept(resnet18):
    layers = {layer.name: layer for layer in capture.capture(resnet18, picture(64)).layers}
    # Up to 2 × KEPT_CHANNELS channels every one is kept.
    assert list(layers["layer2"].map_channels) == list(range(128)) and len(layers["layer2"].maps) == 128
    layer = layers["layer4"]
    assert layer.stats.channels == 512
    expected = set(range(capture_results.KEPT_CHANNELS)) | set(np.argsort(-layer.channel_means)[: capture_results.KEPT_CHANNELS])
    assert set(layer.map_channels) == expected


def test_fully_connected_outputs_are_kept_whole_and_the_last_is_the_output(alexnet):
    x = picture(224)
    result = capture.capture(alexnet, x)
    last = result.layers[-1]
    assert last.kind == "vector" and last.name == "classifier.6"
    with torch.no_grad():
        np.testing.assert_allclose(last.vector, alexnet(x)[0].numpy(), atol=1e-5)
    np.testing.assert_array_equal(result.logits, last.vector)


class Fails(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.head = nn.Sequential(nn.Dropout(), nn.Linear(5, 2))

    def forward(self, x):
        return self.head(self.conv(x).flatten(1))  # 2×3×3 = 18 values into a Linear(5, ...): fails


def test_hooks_are_removed_and_modes_restored_when_the_forward_fails():
    model = Fails().train()
    model.head[0].eval()  # a mixed state, restored module by module
    modes_before = [m.training for m in model.modules()]
    with pytest.raises(RuntimeError):
        capture.capture(model, torch.zeros(1, 1, 5, 5))
    assert [m.training for m in model.modules()] == modes_before
    for module in model.modules():
        assert not module._forward_hooks and not module._forward_pre_hooks


def test_hooks_are_removed_and_modes_restored_after_a_good_pass(resnet18):
    model = get_spec("lenet5").build().train()
    capture.capture(model, picture(32, 1))
    assert all(m.training for m in model.modules())
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_a_private_view_shares_the_weights_and_keeps_its_hooks_to_itself(resnet18):
    spec = get_spec("resnet18")
    view = private_views.private_view(spec, resnet18)
    shared = dict(resnet18.state_dict())
    for name, tensor in view.state_dict().items():
        assert tensor.data_ptr() == shared[name].data_ptr(), name  # the same memory, not a copy
    seen_on_shared = []
    handle = resnet18.register_forward_hook(lambda *args: seen_on_shared.append(1))
    try:
        result = capture.run_on_image(spec, resnet18, picture(64))
    finally:
        handle.remove()
    assert seen_on_shared == []  # the shared model itself never ran
    assert len(result.layers) == 75
    assert all(not m._forward_hooks for m in resnet18.modules())


def test_top_classes_are_softmax_over_the_weights_category_names():
    spec = get_spec("resnet18")
    logits = np.zeros(1000, dtype=np.float32)
    logits[[207, 281]] = [2.0, 1.0]
    top = predictions.top_classes(spec, logits, 5)
    categories = spec.weights.IMAGENET1K_V1.meta["categories"]
    assert [name for name, _ in top[:2]] == [categories[207], categories[281]]
    denominator = np.exp(2) + np.exp(1) + 998
    assert top[0][1] == pytest.approx(np.exp(2) / denominator)
    assert top[2][1] == pytest.approx(1 / denominator)


def test_digit_networks_name_their_classes_by_digit():
    logits = np.arange(10, dtype=np.float32)
    assert [name for name, _ in predictions.top_classes(get_spec("lenet5"), logits, 3)] == ["9", "8", "7"]


def test_private_views_are_reused_but_never_lent_to_two_captures_at_once():
    spec = get_spec("lenet5")
    model = spec.build().requires_grad_(False)
    with private_views.lent_view(spec, model) as first, private_views.lent_view(spec, model) as second:
        assert first is not second  # two captures at once each hook their own tree
    with private_views.lent_view(spec, model) as again:
        assert again is first or again is second  # given back, then reused: no rebuild
    x = picture(32, 1)
    one, two = capture.run_on_image(spec, model, x), capture.run_on_image(spec, model, x)
    np.testing.assert_array_equal(one.logits, two.logits)
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_a_flat_channel_reads_back_as_its_one_value():
    layer = capture.capture(nn.Sequential(nn.Identity()), torch.full((1, 2, 4, 4), 3.5)).layers[0]
    np.testing.assert_array_equal(layer.channel_maps([0, 1]), np.full((2, 4, 4), 3.5, np.float32))
    assert layer.stats.minimum == layer.stats.maximum == 3.5 and layer.stats.zero_share == 0
