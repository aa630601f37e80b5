"""Reductions made in batches after the pass equal those made one output at a time, and both equal numpy's."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from explorer.core.registry import get_spec
from explorer.runs import affine, capture, deferred, reduction
from explorer.runs import capture_results as outputs


@pytest.fixture(scope="module")
def resnet18():
    torch.manual_seed(0)
    return get_spec("resnet18").build().requires_grad_(False)


@pytest.fixture(scope="module")
def picture():
    return torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(1))


def test_deferred_small_outputs_have_numpys_exact_statistics(resnet18, picture):
    copies = {name: copy.numpy() for name, _, _, _, copy in capture.record(resnet18, picture)[0]}
    layers = {layer.name: layer for layer in capture.capture(resnet18, picture).layers}
    # 128×28×28 and smaller are at most DEFERRED_VALUES values: these were reduced in batches.
    small = [name for name, copy in copies.items() if copy.ndim == 3 and copy.size <= deferred.DEFERRED_VALUES]
    assert len(small) > 20 and "layer4.1.conv2" in small and "conv1" not in small
    for name in small:
        reference, layer = copies[name].astype(np.float64), layers[name]
        assert layer.stats.minimum == pytest.approx(reference.min(), abs=1e-6), name
        assert layer.stats.maximum == pytest.approx(reference.max(), abs=1e-6), name
        assert layer.stats.zero_share == pytest.approx((reference == 0).mean(), abs=1e-12), name
        assert layer.stats.dead_channels == int((reference.reshape(len(reference), -1) == 0).all(axis=1).sum())
        np.testing.assert_allclose(layer.channel_means, reference.mean(axis=(1, 2)), atol=1e-5, err_msg=name)
        kept = layer.map_channels
        step = (reference.max(axis=(1, 2)) - reference.min(axis=(1, 2)))[kept] / 255
        error = np.abs(layer.channel_maps(kept) - reference[kept]).max(axis=(1, 2))
        assert np.all(error <= step / 2 + 1e-5), name


def test_reducing_in_batches_gives_the_same_arrays_as_one_at_a_time():
    generator = torch.Generator().manual_seed(2)
    stack = torch.randn(5, 96, 9, 9, generator=generator).relu()
    together = reduction.reduce_maps(stack)
    for one, copy in zip(together, stack, strict=True):
        alone = reduction.reduce_output(copy)
        assert alone.keys() == one.keys()
        for key in alone:
            np.testing.assert_array_equal(np.asarray(alone[key]), np.asarray(one[key]), err_msg=key)


def test_tied_channel_means_keep_every_channel_the_page_can_ask_for():
    x = torch.zeros(200, 4, 4)
    x[100:] = 1.0  # 100 channels tie for strongest: the stable order takes 100, 101, ...
    layer = reduction._finish(0, "tie", "Conv2d", 1, (1, 200, 4, 4), reduction.reduce_output(x))
    strongest = layer.ordered_channels("strongest", outputs.KEPT_CHANNELS)
    assert list(strongest) == list(range(100, 100 + outputs.KEPT_CHANNELS))
    np.testing.assert_array_equal(layer.channel_maps(strongest), np.ones((outputs.KEPT_CHANNELS, 4, 4)))


def test_with_no_room_for_copies_every_output_is_reduced_in_its_hook_alike(resnet18, picture, monkeypatch):
    batched = capture.capture(resnet18, picture)
    monkeypatch.setattr(deferred, "DEFERRED_BYTES", 0)
    in_hooks = capture.capture(resnet18, picture)
    # Stem 4 + 4 stages + 8 blocks × 7 calls (block, conv1, bn1, relu, conv2, bn2, relu again)
    # + 3 downsamples × 3 (Sequential, conv, bn) + avgpool + fc, counted by hand.
    assert len(batched.layers) == len(in_hooks.layers) == 4 + 4 + 8 * 7 + 3 * 3 + 2
    for a, b in zip(batched.layers, in_hooks.layers, strict=True):
        assert a.stats == b.stats, a.name
        np.testing.assert_array_equal(a.maps, b.maps)


def test_spare_buffers_stay_within_their_limit(resnet18, picture, monkeypatch):
    monkeypatch.setattr(deferred, "SPARE_BYTES", 4 * 2**20)
    capture.capture(resnet18, picture)
    kept = sum(b.nbytes for spares in deferred._spare.values() for b in spares)
    assert 0 < kept <= 4 * 2**20


def test_the_strongest_channels_of_a_large_stack_are_those_a_stable_sort_takes():
    # 12 × 300 channel means, many tied (sums of four whole numbers): large enough for the partition.
    stack = torch.randn(12, 300, 2, 2, generator=torch.Generator().manual_seed(3)).round()
    for image, raw in zip(stack, reduction.reduce_maps(stack), strict=True):
        np.testing.assert_allclose(raw["means"], image.double().mean(dim=(1, 2)).numpy(), atol=1e-6)
        strongest = np.argsort(-raw["means"], kind="stable")[:outputs.KEPT_CHANNELS]
        np.testing.assert_array_equal(raw["chosen"], np.union1d(np.arange(outputs.KEPT_CHANNELS), strongest))


@pytest.mark.parametrize("side, factor", [(40, 1), (128, 2), (150, 3), (130, 3), (320, 5)])
def test_each_map_value_is_the_step_nearest_its_block_mean(side, factor):
    # Against numpy in float64. Channel 1 has a small range far from 0 (at factor 1 the float32 steps of
    # 1000 are 2.5 map steps: lo − ½ step is no float32 and the maps are rounded instead); channel 2 is flat.
    x = torch.randn(3, side, side, generator=torch.Generator().manual_seed(4))
    x[1] = 1000 + x[1] * 1e-3 if factor == 1 else 20 + x[1]  # float32 block sums of 1000s would lose that
    x[2] = 3.5
    raw = reduction.reduce_output(x)
    reference, n = x.double().numpy(), side // factor
    blocks = reference[:, :n * factor, :n * factor].reshape(3, n, factor, n, factor).mean(axis=(2, 4))
    low, high = reference.min(axis=(1, 2)), reference.max(axis=(1, 2))
    exact = (blocks[:2] - low[:2, None, None]) / (high - low)[:2, None, None] * 255
    assert raw["factor"] == factor and raw["maps"].shape == (3, n, n)
    np.testing.assert_allclose(raw["means"], reference.mean(axis=(1, 2)), rtol=1e-6)  # blocks tile all but 130
    assert np.abs(raw["maps"][:2] - exact).max() <= 0.5 + 1e-3
    assert np.all(raw["maps"][2] == 0)



def test_a_batch_norm_made_from_its_input_equals_numpy_on_its_own_output(picture):
    """Batch norms of trained-looking numbers: negative scales, a flat channel and a dead one."""
    torch.manual_seed(3)
    model = get_spec("resnet18").build().requires_grad_(False).eval()
    generator = torch.Generator().manual_seed(4)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            count = module.num_features
            module.weight.copy_(torch.randn(count, generator=generator))
            module.bias.copy_(torch.randn(count, generator=generator))
            module.running_mean.copy_(torch.randn(count, generator=generator))
            module.running_var.copy_(torch.rand(count, generator=generator) + 0.5)
            module.weight[:2] = 0  # channel 0 flat at its bias, channel 1 dead: 0 everywhere
            module.bias[1] = 0
    copies = {name: copy.numpy() for name, _, _, _, copy in capture.record(model, picture)[0]}
    recorder = capture._Recorder(model, reduce_now=True, defer=True)
    calls, output = capture.record(model, picture, recorder=recorder)
    made = {call[0] for call in calls if isinstance(call[4], affine.Affine) and call[1] == "BatchNorm2d"}
    # bn1, layer1's four and layer2's five (≤ 128 channels, every map kept), counted by hand.
    assert len(made) == 10 and {"bn1", "layer1.0.bn1", "layer2.0.downsample.1"} <= made
    layers = {layer.name: layer for layer in reduction.reduce(calls, output, recorder.deferred).layers}
    for name in made:
        reference, layer = copies[name].astype(np.float64), layers[name]
        assert (reference.reshape(len(reference), -1).min(axis=1) < 0).any(), name  # negative values: not trivial
        assert layer.stats.minimum == pytest.approx(reference.min(), rel=1e-6), name
        assert layer.stats.maximum == pytest.approx(reference.max(), rel=1e-6), name
        assert layer.stats.mean == pytest.approx(reference.mean(), abs=1e-5), name
        assert layer.stats.zero_share == pytest.approx((reference == 0).mean(), abs=1e-12), name
        assert layer.stats.dead_channels == int((reference.reshape(len(reference), -1) == 0).all(axis=1).sum()) == 1
        np.testing.assert_allclose(layer.channel_means, reference.mean(axis=(1, 2)), atol=1e-5, err_msg=name)
        kept = layer.map_channels
        assert list(kept) == list(range(len(reference))) and np.all(layer.map_low <= layer.map_high)
        pooled = F.avg_pool2d(torch.from_numpy(reference)[None], layer.pool_factor)[0].numpy()
        step = (reference.max(axis=(1, 2)) - reference.min(axis=(1, 2))) / 255
        error = np.abs(layer.channel_maps(kept) - pooled).max(axis=(1, 2))
        assert np.all(error <= step / 2 + 1e-5 * (1 + np.abs(reference).max())), name


def test_a_batch_norm_changed_in_place_after_a_capture_is_read_anew(picture):
    """Scales and shifts are kept per module between captures; a training step changes its tensors in place."""
    torch.manual_seed(3)
    model = get_spec("resnet18").build().requires_grad_(False).eval()
    before = {layer.name: layer for layer in capture.capture(model, picture).layers}["bn1"]
    with torch.no_grad():
        model.bn1.weight.mul_(-2)
        model.bn1.running_mean.add_(1)
    reference = {name: copy for name, _, _, _, copy in capture.record(model, picture)[0]}["bn1"].double().numpy()
    after = {layer.name: layer for layer in capture.capture(model, picture).layers}["bn1"]
    assert after.stats.minimum == pytest.approx(reference.min(), rel=1e-6)
    assert after.stats.maximum == pytest.approx(reference.max(), rel=1e-6)
    np.testing.assert_allclose(after.channel_means, reference.mean(axis=(1, 2)), atol=1e-5)
    assert abs(after.stats.maximum - before.stats.maximum) > 0.1
    model.bn1.running_var = model.bn1.running_var * 4  # a new tensor in its place, at version 0 like a fresh one
    reference = {name: copy for name, _, _, _, copy in capture.record(model, picture)[0]}["bn1"].double().numpy()
    replaced = {layer.name: layer for layer in capture.capture(model, picture).layers}["bn1"]
    assert replaced.stats.maximum == pytest.approx(reference.max(), rel=1e-6)
    assert abs(replaced.stats.maximum - after.stats.maximum) > 0.1


def test_a_batch_norm_with_positive_scales_shares_its_inputs_maps(resnet18, picture):
    layers = {layer.name: layer for layer in capture.capture(resnet18, picture).layers}
    assert layers["layer1.0.bn1"].maps is layers["layer1.0.conv1"].maps
    assert layers["layer3.0.bn1"].maps is not layers["layer3.0.conv1"].maps  # 256 channels: reduced on its own
