"""The architecture diagram: torchview's graph as data, checked edge by edge, plus its page.

Expected numbers are worked out by hand from the papers and torchvision's
source (channel counts, block counts), never copied from the code's output.
"""

import re

import pytest

from explorer.analysis.diagram import Diagram, build_diagram
from explorer.analysis.summary import summarize
from explorer.core.registry import ARCHITECTURES, get_spec
from explorer.core.sizes import InputSize
from explorer.core.shape_only import build_meta_model
from explorer.figures.diagram import render_svg, to_dot


def default_size(arch_id: str) -> InputSize:
    side = get_spec(arch_id).default_size
    return InputSize(side, side, 1)


def names_of(diagram: Diagram, ids) -> set[str]:
    by_id = {node.id: node.name for node in diagram.nodes}
    return {by_id[i] for i in ids}


def reachable_from_input(diagram: Diagram) -> set[str]:
    seen, todo = set(), [diagram.node("input").id]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo += diagram.outputs_of(current)
    return seen


@pytest.mark.parametrize("spec", ARCHITECTURES, ids=lambda spec: spec.id)
def test_every_architecture_builds_at_its_default_size_as_one_connected_graph(spec):
    diagram = build_diagram(spec.id, default_size(spec.id), depth=None, collapse=True)
    # Every node lies on the data's way from the input, and the output is the class scores.
    assert reachable_from_input(diagram) == {node.id for node in diagram.nodes}
    assert diagram.node("output").output_shape == (1, spec.num_classes)
    modules = dict(build_meta_model(spec).named_modules())
    for node in diagram.nodes:
        if node.module is not None:
            assert node.module in modules, node.name


@pytest.mark.parametrize("arch_id", ["lenet5", "resnet18", "inception_v3"])
def test_layer_nodes_carry_the_layer_tables_names_and_shapes(arch_id):
    # torchinfo (the layer table) and torchview trace independently; they must agree.
    table = summarize(arch_id, default_size(arch_id)).calls.set_index("name")
    diagram = build_diagram(arch_id, default_size(arch_id), depth=None, collapse=False)
    layers = [node for node in diagram.nodes if node.kind == "layer"]
    assert len(layers) == int(table["is_leaf"][table["ran"]].sum())
    for node in layers:
        assert list(node.output_shape) == list(table.loc[node.name, "output_dims"]), node.name


def test_resnet18_first_block_adds_its_input_past_the_two_convolutions():
    diagram = build_diagram("resnet18", default_size("resnet18"), depth=3, collapse=False)
    add = diagram.node("add_() in layer1.0")
    # Into the addition: the residual path's last layer and the block's input itself (the max-pool's
    # output), which skips layer1.0.conv1 and layer1.0.conv2.
    assert names_of(diagram, diagram.inputs_of(add.id)) == {"layer1.0.bn2", "maxpool"}
    main_path = ["maxpool", "layer1.0.conv1", "layer1.0.bn1", "layer1.0.relu", "layer1.0.conv2", "layer1.0.bn2"]
    for tail, head in zip(main_path, main_path[1:]):
        assert diagram.node(head).id in diagram.outputs_of(diagram.node(tail).id)
    assert names_of(diagram, diagram.outputs_of(add.id)) == {"layer1.0.relu (call 2)"}
    assert add.output_shape == (1, 64, 56, 56)  # 224 → /2 (conv1) → /2 (max-pool) = 56, 64 channels


def test_resnet18_downsample_shortcut_meets_the_addition():
    diagram = build_diagram("resnet18", default_size("resnet18"), depth=None, collapse=False)
    add = diagram.node("add_() in layer2.0")
    assert names_of(diagram, diagram.inputs_of(add.id)) == {"layer2.0.bn2", "layer2.0.downsample.1"}
    shortcut = diagram.node("layer2.0.downsample.0")
    assert shortcut.settings == "1×1, stride 2, 64→128 ch"
    assert names_of(diagram, diagram.inputs_of(shortcut.id)) == {"layer1.1.relu (call 2)"}


def test_inception_a_runs_four_branches_into_one_concatenation():
    # Collapsing on: branches of one type side by side, or one after another but built differently
    # (Mixed_6b's 1×7 then 7×1 convolutions), are not repeats and must stay apart.
    diagram = build_diagram("inception_v3", default_size("inception_v3"), depth=2, collapse=True)
    assert not [node for node in diagram.nodes if node.kind == "repeat"]
    assert diagram.node("Mixed_6b.branch7x7_2").id in diagram.outputs_of(diagram.node("Mixed_6b.branch7x7_1").id)
    cat = diagram.node("cat() in Mixed_5b")
    branch_ends = {"Mixed_5b.branch1x1", "Mixed_5b.branch5x5_2", "Mixed_5b.branch3x3dbl_3", "Mixed_5b.branch_pool"}
    assert names_of(diagram, diagram.inputs_of(cat.id)) == branch_ends
    # 64 + 64 + 96 + 32 channels (torchvision's InceptionA with pool_features=32) at 35×35.
    assert cat.output_shape == (1, 64 + 64 + 96 + 32, 35, 35)
    # The module's input fans out to the first layer of each branch (the pool branch starts with a function).
    block_input = diagram.node("maxpool2")
    assert names_of(diagram, diagram.outputs_of(block_input.id)) == {
        "Mixed_5b.branch1x1", "Mixed_5b.branch5x5_1", "Mixed_5b.branch3x3dbl_1", "avg_pool2d() in Mixed_5b",
    }


def test_vgg11_is_a_chain_of_eight_convolutions_and_three_linear_layers():
    diagram = build_diagram("vgg11", default_size("vgg11"), depth=None, collapse=False)
    for node in diagram.nodes:
        assert len(diagram.inputs_of(node.id)) <= 1 and len(diagram.outputs_of(node.id)) <= 1, node.name
    assert len(diagram.edges) == len(diagram.nodes) - 1
    types = [node.type for node in diagram.nodes]
    assert types.count("Conv2d") == 8  # configuration A: 64, 128, 256, 256, 512, 512, 512, 512
    assert types.count("Linear") == 3


def test_lenet5_flatten_feeds_the_fully_connected_layers():
    diagram = build_diagram("lenet5", default_size("lenet5"), depth=None, collapse=False)
    flatten = diagram.node("flatten")
    assert flatten.output_shape == (1, 16 * 5 * 5)  # 16 maps of 5×5
    assert names_of(diagram, diagram.outputs_of(flatten.id)) == {"classifier.0"}
    assert diagram.node("classifier.0").settings == "400→120"
    assert names_of(diagram, diagram.inputs_of(flatten.id)) == {"features.5"}


def test_resnet152_stages_collapse_to_their_block_counts():
    diagram = build_diagram("resnet152", default_size("resnet152"), depth=2, collapse=True)
    repeats = {node.module.split(".")[0]: node.count for node in diagram.nodes if node.kind == "repeat"}
    assert repeats == {"layer1": 3, "layer2": 8, "layer3": 36, "layer4": 3}  # He et al. 2015, Table 1
    layer3 = diagram.node("layer3.0 … layer3.35")
    assert layer3.type == "Bottleneck × 36" and layer3.output_shape == (1, 1024, 14, 14)


def test_opened_run_draws_its_first_block_and_collapses_the_rest():
    diagram = build_diagram("resnet50", default_size("resnet50"), depth=None, collapse=True)
    rest = diagram.node("layer3.1 … layer3.5")  # ResNet-50 has 6 blocks in layer3: one open, five together
    assert rest.count == 5
    assert names_of(diagram, diagram.inputs_of(rest.id)) == {"layer3.0.relu (call 3)"}
    assert "layer3.0.downsample.0" in {node.name for node in diagram.nodes}
    expanded = build_diagram("resnet50", default_size("resnet50"), depth=None, collapse=False)
    assert not [node for node in expanded.nodes if node.kind == "repeat"]
    assert {f"layer3.{i}.conv1" for i in range(6)} <= {node.name for node in expanded.nodes}


def test_dot_links_every_module_node_and_renders_to_svg():
    diagram = build_diagram("resnet18", default_size("resnet18"), depth=2, collapse=False)
    dot = to_dot(diagram, link=lambda node: f"layer-table?layer={node.module}", selected="layer1.0")
    assert dot.count("URL=") == sum(node.module is not None for node in diagram.nodes)
    assert re.search(r'label="layer1\.0\\nBasicBlock\\n1×64×56×56".*penwidth="3"', dot)
    svg = render_svg(to_dot(diagram))
    assert svg is not None, "graphviz-pure (requirements.txt) or Graphviz's dot should be installed"
    assert svg.decode().count('class="node"') == len(diagram.nodes)


def test_a_size_the_network_cannot_take_is_one_sentence():
    from explorer.core.errors import UserError

    with pytest.raises(UserError, match=r"^AlexNet .*\.$"):
        build_diagram("alexnet", InputSize(40, 40, 1))


def test_page_shows_the_diagram_with_the_linked_node(app_test):
    at = app_test(query={"arch": "lenet5", "layer": "classifier.0"}, page="pages/architecture-diagram.py")
    assert not at.exception and not at.error
    assert at.selectbox(key="dg_node").value == "classifier.0"
    dot = at.get("graphviz_chart")[0].proto.spec
    assert "layer-table?arch=lenet5&h=32&w=32&batch=1&layer=classifier.0" in dot
    assert len(at.get("download_button")) == 2  # SVG and DOT


def test_page_with_a_size_too_small_says_so_in_one_sentence(app_test):
    at = app_test(query={"arch": "alexnet", "h": "40", "w": "40"}, page="pages/architecture-diagram.py")
    assert not at.exception
    assert len(at.error) == 1 and at.error[0].value.count(". ") == 0 and "63" in at.error[0].value
    assert not at.get("graphviz_chart")


def test_layer_table_opens_at_the_linked_layer(app_test):
    at = app_test(query={"arch": "resnet18", "layer": "layer2.0.downsample.0"}, page="pages/layer-table.py")
    assert not at.exception
    assert at.slider[0].value == 4  # layer2 › layer2.0 › downsample › 0
    linked, full = at.dataframe[0].value, at.dataframe[1].value
    assert list(linked["name"]) == ["layer2.0.downsample.0"]
    assert "layer2.0.downsample.0" in set(full["name"])


def test_parameters_page_shows_the_linked_blocks_arithmetic(app_test):
    at = app_test(query={"arch": "resnet18", "layer": "layer2.0.downsample"}, page="pages/parameter-breakdown.py")
    assert not at.exception
    linked = at.dataframe[0].value
    assert list(linked["name"]) == ["layer2.0.downsample.0", "layer2.0.downsample.1"]
    # 1×1 convolution 64→128 without bias, then batch norm's scale and shift for 128 channels.
    assert list(linked["params"]) == [128 * 64 * 1 * 1, 2 * 128]


def test_feature_maps_page_preselects_the_linked_layer(app_test):
    at = app_test(query={"arch": "lenet5", "layer": "features.3"}, page="pages/feature-maps.py")
    assert not at.exception
    assert at.selectbox(key="fm_layer").value == "features.3"  # LeNet-5's second convolution


def test_a_link_sets_the_diagrams_depth_and_collapse_and_the_controls_write_them_back(app_test):
    at = app_test(query={"arch": "resnet18", "depth": "2", "collapse": "0"}, page="pages/architecture-diagram.py")
    assert not at.exception
    assert at.slider(key="dg_depth_resnet18").value == 2 and at.toggle(key="dg_collapse").value is False
    expanded = len(build_diagram("resnet18", default_size("resnet18"), depth=2, collapse=False).nodes)
    assert at.dataframe[0].value.shape[0] == expanded  # the node table is the depth-2, expanded diagram
    at.slider(key="dg_depth_resnet18").set_value(3).run()
    at.toggle(key="dg_collapse").set_value(True).run()
    assert at.query_params["depth"] == "3" and at.query_params["collapse"] == "1"
    assert at.query_params["arch"] == "resnet18"  # the selection stays beside the view


def test_a_diagram_opened_without_a_fold_in_its_link_writes_its_fold_into_the_address_bar(app_test):
    at = app_test(query={"arch": "lenet5"}, page="pages/architecture-diagram.py")
    depth = at.slider(key="dg_depth_lenet5").value
    assert at.query_params["depth"] == str(depth) and at.query_params["collapse"] == "1"


@pytest.mark.parametrize("depth", ["0", "99", "two"])
def test_a_fold_a_network_does_not_have_is_ignored(app_test, depth):
    at = app_test(query={"arch": "lenet5", "depth": depth, "collapse": "maybe"}, page="pages/architecture-diagram.py")
    assert not at.exception and not at.error
    assert 1 <= at.slider(key="dg_depth_lenet5").value <= 2 and at.toggle(key="dg_collapse").value is True
