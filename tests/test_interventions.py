"""Interventions against what they must do by arithmetic: zeros where switched off, the shortcut where bypassed.

- Switching off every channel of LeNet-5's last convolution leaves the classifier only its
  biases, so every picture gets the same prediction.
- The untouched half of the pass is the ordinary pass; nothing before the change moves.
- A switched-off layer's change is the share of its output's norm in those channels,
  worked out from a pass of its own.
- A bypassed block without downsampling passes its input on; one with downsampling
  passes ReLU(downsample(input)), computed here from the block's own modules.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from explorer.analysis.summary import summarize
from explorer.core.errors import UserError
from explorer.core.registry import get_spec
from explorer.core.sizes import InputSize
from explorer.inputs import images, samples
from explorer.runs.capture import run_on_image
from explorer.runs.interventions import Plan, check_bypass, compact, intervene, parse_ablation, parse_channels
from explorer.weights import loading
from tests.test_isolation import fingerprint


def table(arch_id: str, side: int):
    return summarize(arch_id, InputSize(side, side))


def lenet_pictures() -> list[torch.Tensor]:
    spec = get_spec("lenet5")
    digits = [images.prepare(images.load_image(samples.sample_bytes(s.key)), spec, 32, 32, "digits").tensor
              for s in samples.samples_of("handwritten")[:4]]
    return digits + [torch.rand(1, 1, 32, 32, generator=torch.Generator().manual_seed(k)) for k in range(3)]


def test_switching_off_all_of_lenets_last_convolution_gives_one_prediction_for_every_picture():
    spec = get_spec("lenet5")
    model = loading.build(spec, "digits").requires_grad_(False)
    plan = Plan((parse_ablation(spec, table("lenet5", 32), "features.3"),))
    assert plan.ablations == (("features.3", tuple(range(16))),)  # no channels named: all 16
    results = [intervene(spec, model, x, plan) for x in lenet_pictures()]
    untouched = {int(np.argmax(r.untouched.logits)) for r in results}
    assert len(untouched) > 1, "the pictures themselves are told apart"
    for result in results[1:]:
        np.testing.assert_array_equal(result.changed.logits, results[0].changed.logits)


def test_the_untouched_half_is_the_ordinary_pass_and_nothing_before_the_change_moves():
    spec = get_spec("resnet18")
    torch.manual_seed(0)
    model = spec.build().requires_grad_(False)
    x = torch.rand(1, 3, 96, 96)
    plan = Plan((parse_ablation(spec, table("resnet18", 96), "layer2.0.conv1:0-9"),))
    result = intervene(spec, model, x, plan)
    np.testing.assert_allclose(result.untouched.logits, run_on_image(spec, model, x).logits, atol=1e-5)
    first = result.first_touched
    assert result.untouched.layers[first].name == "layer2.0.conv1"
    before = [(layer.name, change) for layer, change in zip(result.changed.layers[:first], result.changes)
              if not "layer2.0.conv1".startswith(layer.name + ".")]  # the blocks around it start earlier
    assert before and all(change == 0 for _, change in before if change is not None), before
    assert result.changes[-1] > 0 and not np.array_equal(result.changed.logits, result.untouched.logits)
    # The layer itself: its output loses exactly the part in channels 0–9.
    kept = {}
    handle = model.layer2[0].conv1.register_forward_hook(lambda _m, _a, out: kept.setdefault("out", out.detach()))
    with torch.no_grad():
        model(x)
    handle.remove()
    out = kept["out"][0].double()
    assert result.changes[first] == pytest.approx(float(out[:10].norm() / out.norm()), rel=1e-5)
    assert result.changed.layers[first].channel_means[:10].tolist() == [0.0] * 10


def test_a_bypassed_block_passes_on_its_shortcut():
    spec = get_spec("resnet18")
    torch.manual_seed(0)
    model = spec.build().requires_grad_(False)
    x = torch.rand(1, 3, 96, 96)
    layers = table("resnet18", 96)
    plan = Plan(bypasses=(check_bypass(spec, layers, "layer1.0"), check_bypass(spec, layers, "layer2.0")))
    result = intervene(spec, model, x, plan)
    by_name = {layer.name: layer for layer in result.changed.layers}
    # layer1.0 has no downsampling: its output is its input, the max pool's output.
    np.testing.assert_allclose(by_name["layer1.0"].channel_means, by_name["maxpool"].channel_means, rtol=1e-6)
    # layer2.0 downsamples: ReLU(downsample(layer1's output)), from the block's own modules.
    with torch.no_grad():
        stem = model.maxpool(model.relu(model.bn1(model.conv1(x))))
        after_layer1 = model.layer1[1](model.layer1[0].downsample(stem) if model.layer1[0].downsample else stem)
        expected = F.relu(model.layer2[0].downsample(after_layer1))[0].mean(dim=(1, 2))
    np.testing.assert_allclose(by_name["layer1"].channel_means, after_layer1[0].mean(dim=(1, 2)).numpy(), rtol=1e-5)
    np.testing.assert_allclose(by_name["layer2.0"].channel_means, expected.numpy(), rtol=1e-5)


def test_the_shared_model_is_bit_identical_after_an_intervention():
    spec = get_spec("resnet18")
    model = loading.build(spec, "random").requires_grad_(False)
    before = fingerprint(model)
    layers = table("resnet18", 64)
    intervene(spec, model, torch.rand(1, 3, 64, 64),
              Plan((parse_ablation(spec, layers, "layer3.0.bn1:1,2"),), (check_bypass(spec, layers, "layer2.1"),)))
    assert fingerprint(model) == before
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())


def test_channel_lists():
    assert parse_channels("0,3,8-15", 64, "x") == (0, 3, *range(8, 16))
    assert parse_channels(" 2 , 2,1 ", 4, "x") == (1, 2)
    assert parse_channels("", 3, "x") == parse_channels(None, 3, "x") == (0, 1, 2)
    assert compact((0, 3, 8, 9, 10, 11)) == "0,3,8-11"


@pytest.mark.parametrize(("text", "sentence"), [
    ("1,,2", "Channels are numbers and ranges such as 0,3,8-15 (low end first); '' is not one."),
    ("8-3", "Channels are numbers and ranges such as 0,3,8-15 (low end first); '8-3' is not one."),
    ("a", "Channels are numbers and ranges such as 0,3,8-15 (low end first); 'a' is not one."),
    ("0-64", "conv has channels 0 to 63; 64 is not one of them."),
])
def test_bad_channel_lists_get_one_sentence(text, sentence):
    with pytest.raises(UserError) as error:
        parse_channels(text, 64, "conv")
    assert str(error.value) == sentence


@pytest.mark.parametrize(("arch_id", "block", "sentence"), [
    ("resnet18", "layer1.0.conv1", "layer1.0.conv1 is a Conv2d, not a residual block; the residual blocks of ResNet-18 "
                                   "are layer1.0, layer1.1, … layer4.1."),
    ("resnet18", "layer7", "ResNet-18 has no layer called 'layer7'; the residual blocks"),
    ("vgg11", "features.3", "VGG-11 has no residual blocks (no shortcuts), so there is nothing to bypass."),
])
def test_bypassing_what_is_not_a_residual_block_is_refused(arch_id, block, sentence):
    with pytest.raises(UserError) as error:
        check_bypass(get_spec(arch_id), table(arch_id, 64), block)
    assert str(error.value).startswith(sentence)
