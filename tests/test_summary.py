"""The layer table: dotted names, one row per call, folding that never double counts, no leaked models."""

import pytest
import torchinfo

from explorer.core.registry import get_spec
from explorer.core.sizes import InputSize
from explorer.analysis.memory_estimate import memory_warning
from explorer.analysis.summary import summarize, to_json
from explorer.core.limits import REQUEST_MEMORY_BYTES
from explorer.core.shape_only import build_meta_model


def test_rows_carry_dotted_names_and_every_call():
    table = summarize("resnet101", InputSize(224, 224))
    names = list(table.calls["name"])
    assert "layer1.0.conv1" in names and "layer3.22.conv3" in names and "layer2.0.downsample.0" in names
    # ResNet-101: 3 + 4 + 23 + 3 = 33 bottlenecks. Leaf calls: the stem's conv1, bn1, relu and maxpool (4);
    # per bottleneck conv1, bn1, relu, conv2, bn2, relu, conv3, bn3, relu (9, the relu module thrice);
    # a downsample conv + bn in the first block of each of the 4 stages (8); avgpool and fc (2).
    leaves = table.calls[table.calls["is_leaf"]]
    assert len(leaves) == 4 + 33 * 9 + 4 * 2 + 2 == 311
    assert "layer1.0.relu (call 3)" in names
    # Distinct leaf modules: the relu counts once per bottleneck, so 7 per block.
    assert leaves["name"].str.replace(r" \(call \d\)$", "", regex=True).nunique() == 4 + 33 * 7 + 8 + 2 == 245


def test_output_shapes_follow_the_arithmetic_of_strides():
    table = summarize("resnet18", InputSize(224, 224)).calls.set_index("name")
    assert table.loc["conv1", "output_dims"] == [1, 64, 112, 112]  # stride 2: 224 / 2
    assert table.loc["maxpool", "output_dims"] == [1, 64, 56, 56]  # stride 2 again
    assert table.loc["layer4", "output_dims"] == [1, 512, 7, 7]  # 224 / 32
    assert table.loc["fc", "output_dims"] == [1, 1000]


@pytest.mark.parametrize("arch_id", ["lenet5", "resnet18", "inception_v3", "resnext50_32x4d"])
def test_every_fold_depth_sums_to_the_totals(arch_id):
    spec = get_spec(arch_id)
    table = summarize(arch_id, InputSize(spec.default_size, spec.default_size))
    model = build_meta_model(spec)
    assert table.totals.total_params == sum(p.numel() for p in model.parameters())
    for depth in range(1, table.max_depth + 1):
        rows = table.fold(depth)
        assert rows["depth"].max() == depth
        assert rows["params"].sum() == table.totals.total_params
        assert rows["mult_adds"].sum() == table.totals.total_mult_adds
        assert rows["param_share"].sum() == pytest.approx(1.0)


def test_stage_rows_hold_what_is_inside_them():
    folded = summarize("resnet18", InputSize(224, 224)).fold(1).set_index("name")
    # layer1: two BasicBlocks of two 3×3 convs (64 → 64, no bias) and two batch norms (2 × 64 each).
    assert folded.loc["layer1", "params"] == 2 * (2 * (64 * 64 * 3 * 3) + 2 * (2 * 64)) == 147_968


def test_inception_lists_its_auxiliary_head_that_eval_mode_skips():
    table = summarize("inception_v3", InputSize(299, 299))
    aux = table.calls.set_index("name").loc["AuxLogits"]
    assert not aux["ran"] and aux["output_shape"] == "not run in eval mode"
    model = build_meta_model(get_spec("inception_v3"))
    assert aux["subtree_params"] == sum(p.numel() for p in model.AuxLogits.parameters())
    assert table.totals.total_params == 27_161_264  # torchvision's num_params, auxiliary head included


def test_mult_adds_scale_with_the_batch():
    one = summarize("resnet18", InputSize(64, 64, batch=1)).totals
    three = summarize("resnet18", InputSize(64, 64, batch=3)).totals
    assert three.total_mult_adds == 3 * one.total_mult_adds
    assert three.total_params == one.total_params


def test_non_square_inputs_work():
    table = summarize("alexnet", InputSize(63, 300))
    assert table.calls.set_index("name").loc["features.0", "output_dims"] == [1, 64, 15, 74]  # (63+4-11)//4+1, (300+4-11)//4+1


def test_torchinfo_keeps_no_model_alive():
    summarize("vgg11", InputSize(32, 32))
    assert not torchinfo.torchinfo._cached_forward_pass


def test_memory_warning_only_beyond_the_budget():
    spec = get_spec("vgg19")
    big = InputSize(1024, 1024, batch=8)
    totals = summarize("vgg19", big).totals
    assert totals.estimated_bytes > REQUEST_MEMORY_BYTES
    warning = memory_warning(spec, big, totals)
    assert warning and "VGG-19" in warning and "GB" in warning
    small = InputSize(224, 224)
    assert memory_warning(spec, small, summarize("vgg19", small).totals) is None


def test_json_has_the_documented_fields():
    data = to_json(summarize("lenet5", InputSize(32, 32)))
    assert data["architecture"] == "lenet5"
    assert data["input_size"] == [1, 1, 32, 32]
    assert data["total_params"] == data["trainable_params"] == 61_706
    first_linear = next(layer for layer in data["layers"] if layer["type"] == "Linear")
    assert first_linear == first_linear | {
        "name": "classifier.0", "depth": 2, "output_shape": [1, 120], "params": 120 * 400 + 120, "mult_adds": 48_120
    }
