"""Parameter breakdowns: formulas against PyTorch's counts, LeNet-5 worked by hand, and the parameters page."""

import json
import re

import pytest

from explorer.analysis.parameter_counts import CONV, FC, NORM, by_kind, hierarchy, layer_formula, parameter_layers, to_json
from explorer.core.registry import ARCHITECTURES, get_spec
from explorer.core.shape_only import build_meta_model
from explorer.figures import parameter_charts as charts

# LeNet-5 worked out by hand: out × in × kh × kw + out for convolutions, out × in + out for linear layers.
LENET5_BY_HAND = {
    "features.0": 6 * 1 * 5 * 5 + 6,  # 156
    "features.3": 16 * 6 * 5 * 5 + 16,  # 2,416
    "classifier.0": 120 * 400 + 120,  # 48,120
    "classifier.2": 84 * 120 + 84,  # 10,164
    "classifier.4": 10 * 84 + 10,  # 850
}
LENET5_TOTAL = 156 + 2416 + 48120 + 10164 + 850  # 61,706
ARITHMETIC = re.compile(r"^[0-9,×÷+() ]+$")


def evaluate(formula: str) -> tuple[int, int]:
    """Redo a formula's arithmetic from its text alone: (what the left side computes to, the stated result)."""
    left, right = formula.split(" = ")
    assert ARITHMETIC.match(left), formula
    python = left.replace(",", "").replace("×", "*").replace("÷", "//")
    return eval(python, {"__builtins__": {}}), int(right.replace(",", ""))  # noqa: S307 (digits and operators only)


@pytest.mark.parametrize("spec", ARCHITECTURES, ids=lambda spec: spec.id)
def test_every_layer_formula_equals_pytorch_count(spec):
    model = build_meta_model(spec)
    checked = 0
    for name, module in model.named_modules():
        own = list(module.parameters(recurse=False))
        if not own:
            continue
        formula = layer_formula(module)
        computed, stated = evaluate(formula.text)
        numel = sum(p.numel() for p in own)
        assert computed == stated == formula.result == numel, (name, formula.text, numel)
        checked += 1
    assert checked > 0


def test_lenet5_counts_and_formulas_by_hand():
    layers = parameter_layers("lenet5").set_index("name")
    assert list(layers.index) == list(LENET5_BY_HAND)  # execution order
    assert layers["params"].to_dict() == LENET5_BY_HAND
    assert layers.loc["features.3", "formula"] == "16 × 6 × 5 × 5 + 16 = 2,416"
    assert layers.loc["classifier.0", "formula"] == "120 × 400 + 120 = 48,120"
    assert layers.loc["classifier.0", "weight"] == 48000 and layers.loc["classifier.0", "bias"] == 120
    assert layers["params"].sum() == LENET5_TOTAL


def test_lenet5_fully_connected_share_by_hand():
    kinds = by_kind(parameter_layers("lenet5")).set_index("kind")
    assert kinds.loc[FC, "share"] == pytest.approx((48120 + 10164 + 850) / 61706)
    assert kinds.loc[CONV, "params"] == 156 + 2416
    assert kinds.loc[CONV, "bias"] == 6 + 16
    assert kinds.loc[NORM, "params"] == 0


def test_grouped_convolution_divides_inputs_by_groups():
    layers = parameter_layers("resnext50_32x4d").set_index("name")
    # ResNeXt-50 32×4d's first block: width 32 groups × 4 = 128 channels, 3×3 grouped convolution, no bias.
    assert layers.loc["layer1.0.conv2", "formula"] == "128 × (128 ÷ 32) × 3 × 3 = 4,608"
    assert layers.loc["layer1.0.conv2", "params"] == 128 * 4 * 3 * 3


def test_batch_norm_counts_two_affine_vectors_not_running_statistics():
    layers = parameter_layers("resnet18").set_index("name")
    assert layers.loc["bn1", "formula"] == "2 × 64 = 128"
    assert (layers.loc["bn1", "weight"], layers.loc["bn1", "bias"]) == (64, 64)
    bn1 = build_meta_model(get_spec("resnet18")).bn1
    assert bn1.running_mean.numel() == 64  # present as a buffer, and left out of the 128 above


@pytest.mark.parametrize("arch_id", ["alexnet", "resnet18", "inception_v3", "resnext50_32x4d"])
def test_breakdown_sums_to_torchvision_num_params(arch_id):
    layers = parameter_layers(arch_id)
    expected = get_spec(arch_id).weights.IMAGENET1K_V1.meta["num_params"]
    assert layers["params"].sum() == expected
    kinds = by_kind(layers)
    assert (kinds["weight"] + kinds["bias"]).sum() == expected
    assert kinds["share"].sum() == pytest.approx(1.0)
    for row in layers.itertuples():
        computed, stated = evaluate(row.formula)
        assert computed == stated == row.params, row.name


def test_inception_auxiliary_head_is_counted_where_it_would_run():
    layers = parameter_layers("inception_v3")
    aux = layers[layers["stage"] == "AuxLogits"]
    assert len(aux) == 5 and not aux["ran"].any()
    stages = list(dict.fromkeys(layers["stage"]))
    assert stages.index("AuxLogits") == stages.index("Mixed_6e") + 1
    # conv0 1×1 768→128 + its batch norm, conv1 5×5 128→768 + its batch norm, fc 768→1,000.
    by_hand = 128 * 768 + 2 * 128 + 768 * 128 * 5 * 5 + 2 * 768 + 1000 * 768 + 1000
    assert aux["params"].sum() == by_hand


def test_hierarchy_adds_up_at_every_level():
    layers = parameter_layers("resnet152")
    nodes = hierarchy(layers).set_index("id")
    children = nodes.groupby("parent")["params"].sum()
    for parent, total in children.items():
        if parent:
            assert nodes.loc[parent, "params"] == total, parent
    assert nodes.loc["all/", "params"] == 60192808
    # ResNet-152 stacks 3, 8, 36 and 3 bottleneck blocks.
    assert [int((nodes["parent"] == f"layer{i}/").sum()) for i in range(1, 5)] == [3, 8, 36, 3]


def test_json_for_the_command_line():
    data = to_json("lenet5")
    assert data["total"] == LENET5_TOTAL
    assert data["by_kind"][FC] == {"weight": 48000 + 10080 + 840, "bias": 120 + 84 + 10}
    assert [layer["name"] for layer in data["layers"]] == list(LENET5_BY_HAND)
    assert set(data["layers"][0]) >= {"name", "kind", "weight", "bias", "formula"}
    json.dumps(data)  # plain data only


def test_charts_carry_exact_counts_and_the_log_toggle():
    layers = parameter_layers("lenet5")
    linear, log = charts.layer_bar_chart(layers), charts.layer_bar_chart(layers, log_scale=True)
    assert linear.layout.yaxis.type == "linear" and log.layout.yaxis.type == "log"
    fc_bars = next(trace for trace in linear.data if trace.name == "Fully-connected")
    assert list(fc_bars.y) == [48120, 10164, 850]
    assert "%{y:,}" in fc_bars.hovertemplate
    lenet, resnet = by_kind(layers), by_kind(parameter_layers("resnet18"))
    one_scale = [charts.weight_bias_chart(kinds, x_max=11_000_000, all_kinds=True) for kinds in (lenet, resnet)]
    assert one_scale[0].layout.xaxis.range == one_scale[1].layout.xaxis.range
    assert one_scale[0].layout.xaxis.range[1] >= 11_000_000
    assert list(one_scale[0].data[1].text) == ["22 biases", "214 biases", "", ""]  # 6 + 16 and 120 + 84 + 10


# --- the page, headless -------------------------------------------------------


def chart_specs(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def test_parameters_page_for_lenet5(app_test):
    at = app_test(query={"arch": "lenet5"}, page="pages/parameter-breakdown.py")
    assert not at.exception and not at.error
    assert at.title[0].value == "Parameters · LeNet-5"
    # 59,134 of 61,706 by hand is 95.83 %.
    assert any("**95.8%**" in md.value and "fully-connected" in md.value for md in at.markdown)
    specs = chart_specs(at)
    assert len(specs) == 4
    config = json.loads(at.get("plotly_chart")[0].proto.config)
    assert config["toImageButtonOptions"]["format"] == "png" and config["displayModeBar"] is True
    per_layer = specs[2]
    assert per_layer["layout"]["yaxis"]["type"] == "linear"
    table = at.dataframe[0].value
    assert table.loc[table["name"] == "features.3", "formula"].item() == "16 × 6 × 5 × 5 + 16 = 2,416"

    at.radio(key="pp_scale").set_value("Log").run()
    assert chart_specs(at)[2]["layout"]["yaxis"]["type"] == "log"


def test_parameters_page_for_vgg16_shows_the_classifier_share(app_test):
    at = app_test(query={"arch": "vgg16"}, page="pages/parameter-breakdown.py")
    assert not at.exception and not at.error
    fc_by_hand = (4096 * 25088 + 4096) + (4096 * 4096 + 4096) + (1000 * 4096 + 1000)
    assert any(f"**{fc_by_hand / 138357544:.1%}**" in md.value for md in at.markdown)
    treemap = chart_specs(at)[3]["data"][0]
    assert treemap["type"] == "treemap" and treemap["branchvalues"] == "total"


def test_parameters_page_for_inception_names_the_training_only_head(app_test):
    at = app_test(query={"arch": "inception_v3"}, page="pages/parameter-breakdown.py")
    assert not at.exception and not at.error
    assert any("AuxLogits" in info.value for info in at.info)
    assert any("buffers, not parameters" in md.value for md in at.markdown)


def test_parameters_page_ignores_an_input_size_the_network_cannot_take(app_test):
    # LeNet-5 takes 32–35 pixels only; its parameters are the same at any size, so the page still draws.
    at = app_test(query={"arch": "lenet5", "h": "100", "w": "100"}, page="pages/parameter-breakdown.py")
    assert not at.exception and not at.error
    assert at.metric[0].value == f"{LENET5_TOTAL:,}"
    assert len(at.get("plotly_chart")) == 4
