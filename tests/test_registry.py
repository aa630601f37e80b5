"""Every registered architecture against independent references: hand counts and torchvision's metadata."""

import subprocess
import sys

import pytest
import torch

from explorer.core.errors import UserError
from explorer.core.registry import ARCH_IDS, ARCHITECTURES, get_spec
from explorer.core.sizes import InputSize
from explorer.analysis.summary import summarize
from explorer.core.shape_only import build_meta_model
from tests.conftest import ROOT

LAB_ORDER = [
    "toy_dense", "toy_conv", "lenet5", "alexnet",
    "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
    "inception_v3", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "resnext50_32x4d", "resnext101_32x8d",
]

# Worked out by hand: out × in × kh × kw + out for a convolution, out × in + out for a linear layer.
HAND_COUNTED_PARAMS = {
    "toy_dense": 10 * 25 + 10,  # 260
    "toy_conv": (4 * 1 * 2 * 2 + 4) + (10 * 16 + 10),  # 20 + 170 = 190
    "lenet5": (6 * 1 * 5 * 5 + 6) + (16 * 6 * 5 * 5 + 16) + (120 * 400 + 120) + (84 * 120 + 84) + (10 * 84 + 10),
}


def test_registry_holds_the_lab_architectures_in_the_lab_order():
    assert list(ARCH_IDS) == LAB_ORDER


def test_hand_counts_are_the_classic_numbers():
    assert HAND_COUNTED_PARAMS == {"toy_dense": 260, "toy_conv": 190, "lenet5": 61_706}


@pytest.mark.parametrize("spec", ARCHITECTURES, ids=lambda spec: spec.id)
def test_builds_runs_and_matches_its_reference(spec):
    model = spec.build()
    size = spec.default_size
    with torch.no_grad():
        logits = model(torch.randn(1, spec.in_channels, size, size))
    assert logits.shape == (1, spec.num_classes)
    assert torch.isfinite(logits).all()

    counted = sum(p.numel() for p in model.parameters())
    reference = spec.weights.IMAGENET1K_V1.meta["num_params"] if spec.weights else HAND_COUNTED_PARAMS[spec.id]
    assert counted == reference

    # The declared limits are the real ones: the smallest size runs, one pixel less fails in torch itself.
    with torch.no_grad():
        model(torch.randn(1, spec.in_channels, spec.min_size, spec.min_size))
        if spec.min_size > 1:
            with pytest.raises(RuntimeError):
                model(torch.randn(1, spec.in_channels, spec.min_size - 1, spec.min_size - 1))
        if spec.max_size is not None:
            model(torch.randn(1, spec.in_channels, spec.max_size, spec.max_size))
            with pytest.raises(RuntimeError):
                model(torch.randn(1, spec.in_channels, spec.max_size + 1, spec.max_size + 1))


@pytest.mark.parametrize("spec", [s for s in ARCHITECTURES if s.weights], ids=lambda spec: spec.id)
def test_mult_adds_and_params_agree_with_torchvision_metadata(spec):
    meta = spec.weights.IMAGENET1K_V1.meta
    table = summarize(spec.id, InputSize(spec.default_size, spec.default_size))
    # torchinfo charges a convolution's bias one add per output value; torchvision's
    # `_ops` leaves those adds out (it agrees exactly on the bias-free ResNets).
    model = build_meta_model(spec)
    modules = dict(model.named_modules())
    conv_bias_adds = sum(
        modules[row.name].out_channels * row.output_dims[2] * row.output_dims[3]
        for row in table.calls.itertuples()
        if row.type == "Conv2d" and row.ran and modules[row.name].bias is not None
    )
    # torchvision publishes multiply-adds in billions to three decimals, counted by a tool
    # that treats a few small terms (batch norm, rounding) slightly differently: agree to 0.05%.
    ours = (table.totals.total_mult_adds - conv_bias_adds) / 1e9
    assert ours == pytest.approx(meta["_ops"], rel=5e-4)
    assert table.totals.total_params == meta["num_params"]
    # The smallest side torchvision's model documentation gives for each (that torch itself refuses one pixel
    # less is checked above, in test_builds_runs_and_matches_its_reference).
    documented = {"alexnet": 63, "vgg": 32, "inception_v3": 75, "resnet": 1, "resnext": 1}
    assert spec.min_size == next(side for prefix, side in documented.items() if spec.id.startswith(prefix))


def test_lenet5_mult_adds_by_hand():
    # Each weight and bias costs one multiply-add per output position (torchvision's convention).
    conv1 = (6 * 1 * 5 * 5 + 6) * 28 * 28
    conv2 = (16 * 6 * 5 * 5 + 16) * 10 * 10
    linear = (120 * 400 + 120) + (84 * 120 + 84) + (10 * 84 + 10)
    table = summarize("lenet5", InputSize(32, 32))
    assert table.totals.total_mult_adds == conv1 + conv2 + linear == 423_038


@pytest.mark.parametrize("spec", [s for s in ARCHITECTURES if s.min_size > 1], ids=lambda spec: spec.id)
def test_one_size_below_the_minimum_gets_the_plain_sentence(spec):
    small = spec.min_size - 1
    with pytest.raises(UserError) as raised:
        summarize(spec.id, InputSize(small, small))
    sentence = str(raised.value)
    assert f"you chose {small}×{small}." in sentence
    assert sentence.count(".") >= 1 and "\n" not in sentence
    assert "Calculated" not in sentence and "Kernel size" not in sentence  # no raw torch text


def test_the_sentences_name_the_limits():
    with pytest.raises(UserError, match=r"^Inception v3 needs inputs of at least 75×75; you chose 64×64\.$"):
        summarize("inception_v3", InputSize(64, 64))
    with pytest.raises(
        UserError,
        match=r"^LeNet-5's first fully-connected layer expects exactly 16×5×5 inputs, "
        r"so it takes 32–35 pixels only; you chose 36×36\.$",
    ):
        summarize("lenet5", InputSize(36, 36))


def test_unknown_architecture_is_a_user_error():
    with pytest.raises(UserError, match="no architecture called 'lenet6'"):
        get_spec("lenet6")


def test_explorer_imports_without_streamlit():
    code = (
        "import sys, explorer, explorer.core.registry, explorer.analysis.summary, explorer.core.sizes, "
        "explorer.analysis.source, explorer.core.devices, explorer.__main__\n"
        "import pkgutil, importlib\n"
        "for info in pkgutil.walk_packages(explorer.__path__, 'explorer.'):\n"
        "    importlib.import_module(info.name)\n"
        "assert 'streamlit' not in sys.modules, sorted(m for m in sys.modules if m.startswith('streamlit'))\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
