"""The side-by-side comparison: checked against torchvision's weights metadata and counts by hand."""

import json
import math

import pytest
from torch import nn

from explorer.analysis.compare import compare_architectures
from explorer.analysis.summary import summarize
from explorer.core.registry import ARCHITECTURES, get_spec
from explorer.core.sizes import InputSize
from explorer.core.shape_only import build_meta_model
from explorer.figures import parameter_charts as charts
from tests.test_params import chart_specs

WITH_WEIGHTS = [spec for spec in ARCHITECTURES if spec.weights is not None]


@pytest.fixture(scope="module")
def comparison():
    return compare_architectures()


@pytest.fixture(scope="module")
def table(comparison):
    return comparison.table.set_index("id")


def test_one_row_per_architecture(table):
    assert list(table.index) == [spec.id for spec in ARCHITECTURES]


def terms_torchvision_leaves_out(spec) -> int:
    """The multiply-adds torchinfo counts and torchvision's ``_ops`` does not, for one image at the default size.

    torchinfo counts adding a bias as one multiply-add (once per output value of a
    convolution, once per image for a linear layer) and a batch norm's γ and β once
    per image; torchvision counts only the weights' multiply-accumulates. The gap
    shows where convolutions have biases (AlexNet, VGG: about 0.1 %).
    """
    model = build_meta_model(spec)
    biased_convs = [name for name, m in model.named_modules() if isinstance(m, nn.Conv2d) and m.bias is not None]
    output_dims = {}
    if biased_convs:
        calls = summarize(spec.id, InputSize(spec.default_size, spec.default_size, 1)).calls
        output_dims = dict(zip(calls["name"], calls["output_dims"]))
    total = sum(math.prod(output_dims[name][1:]) for name in biased_convs)
    for module in model.modules():
        if isinstance(module, nn.Linear):
            total += module.out_features
        elif isinstance(module, nn.BatchNorm2d):
            total += 2 * module.num_features
    return total


@pytest.mark.parametrize("spec", WITH_WEIGHTS, ids=lambda spec: spec.id)
def test_params_and_mult_adds_match_torchvision_metadata(table, spec):
    meta = spec.weights.IMAGENET1K_V1.meta
    row = table.loc[spec.id]
    assert row["params"] == meta["num_params"]
    # torchvision records GMACs to 3 decimals and without the biases.
    assert round((row["mult_adds"] - terms_torchvision_leaves_out(spec)) / 1e9, 3) == meta["_ops"]


def test_vgg16_bias_terms_by_hand():
    # Conv outputs (channels × side²) per image, one addition each, plus the three linear layers' biases.
    conv_outputs = 2 * 64 * 224**2 + 2 * 128 * 112**2 + 3 * 256 * 56**2 + 3 * 512 * 28**2 + 3 * 512 * 14**2
    assert terms_torchvision_leaves_out(get_spec("vgg16")) == conv_outputs + 4096 + 4096 + 1000


def test_accuracy_as_torchvision_documents_it(table):
    # Top-1 / top-5 from torchvision's model documentation table for the V1 weights.
    assert (table.loc["alexnet", "acc1"], table.loc["alexnet", "acc5"]) == (56.522, 79.066)
    assert (table.loc["resnet50", "acc1"], table.loc["resnet50", "acc5"]) == (76.130, 92.862)
    for arch_id in ("toy_dense", "toy_conv", "lenet5"):
        assert math.isnan(table.loc[arch_id, "acc1"]) and math.isnan(table.loc[arch_id, "acc5"])


def test_depth_counts_layers_with_weights_by_hand(table):
    assert table.loc["lenet5", "depth"] == 2 + 3  # two convolutions, three linear layers
    assert table.loc["alexnet", "depth"] == 5 + 3
    assert table.loc["vgg16", "depth"] == 13 + 3
    assert table.loc["vgg16_bn", "depth"] == 13 + 3  # batch norms are not counted
    assert table.loc["resnet18", "depth"] == 1 + 8 * 2 + 3 + 1  # stem, 8 blocks of 2, 3 shortcut projections, fc
    assert table.loc["resnet50", "depth"] == 1 + 16 * 3 + 4 + 1


def test_parameter_memory_and_year(table):
    assert table.loc["resnet18", "param_mb"] == pytest.approx(11_689_512 * 4 / 1e6)  # float32
    assert table.loc["vgg16", "year"] == 2014 and table.loc["lenet5", "year"] == 1998
    assert table["year"].isna().sum() == 2  # the two lab toys


def test_kind_breakdowns_add_up(comparison, table):
    sums = comparison.kinds.groupby("id")[["weight", "bias"]].sum().sum(axis=1)
    assert sums.to_dict() == table["params"].to_dict()


def test_scatter_leaves_out_networks_without_accuracy(comparison):
    fig = charts.accuracy_scatter(comparison.table)
    plotted = [row[0] for trace in fig.data for row in trace.customdata]
    assert len(plotted) == len(WITH_WEIGHTS)
    assert "LeNet-5" not in plotted and "VGG-16" in plotted
    assert fig.layout.xaxis.type == "log"


def test_timeline_leaves_out_undated_networks(comparison):
    fig = charts.timeline_chart(comparison.table)
    years = sorted({int(x) for trace in fig.data for x in trace.x})
    assert years[0] == 1998 and years[-1] == 2016


def test_compare_page_lists_every_network_and_puts_two_on_one_scale(app_test):
    at = app_test(query={"arch": "lenet5"}, page="pages/compare-architectures.py")
    assert not at.exception and not at.error
    assert at.title[0].value == "Compare architectures"
    assert len(at.dataframe[0].value) == len(ARCHITECTURES)
    assert any("LeNet-5" in caption.value and "no ImageNet weights" in caption.value for caption in at.caption)

    at.selectbox(key="pc_second").set_value("resnet18").run()
    specs = chart_specs(at)
    assert len(specs) == 4
    left, right = specs[2], specs[3]
    assert left["layout"]["title"]["text"] == "LeNet-5: 61,706 parameters"
    assert right["layout"]["title"]["text"] == "ResNet-18: 11,689,512 parameters"
    assert left["layout"]["xaxis"]["range"] == right["layout"]["xaxis"]["range"]
    assert json.loads(at.get("plotly_chart")[0].proto.config)["toImageButtonOptions"]["format"] == "png"
