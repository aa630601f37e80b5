"""The session keys that say what a page shows (ui/selection/view_state.py): set from outside, the page shows that.

A class that follows its teacher will set exactly these keys from a shared store before
a page runs; here the test sets them as that code will, and checks what the page draws.
A value the page does not offer is dropped, and the page shows its default.
"""

from __future__ import annotations

import json

from ui.selection import view_state


def rerun_with(at, key, value):
    at.session_state[key] = value
    return at.run()


def test_the_followed_keys_are_the_ones_the_pages_use():
    assert view_state.FOLLOWED == ("fm_layer", "fm_channel", "dg_node", "lt_depth", "conv_step", "conv_pool_step")
    for key in view_state.FOLLOWED:
        assert key in view_state.__doc__  # each one is described in the module's table


def test_feature_maps_shows_the_layer_and_channel_set_from_outside(app_test):
    at = app_test(page="pages/feature-maps.py")  # LeNet-5 on a handwritten digit
    at = rerun_with(at, view_state.FEATURE_LAYER, "features.3")
    assert at.selectbox(key="fm_layer").value == "features.3"
    assert any("channels of features.3," in (image.proto.imgs[0].caption or "") for image in at.get("image"))
    at = rerun_with(at, view_state.FEATURE_CHANNEL, 5)
    assert at.selectbox(key="fm_channel").value == 5
    assert json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["title"]["text"] == "features.3 · channel 5"


def test_a_layer_the_network_does_not_have_is_dropped_for_the_pages_default(app_test):
    at = app_test()  # set before Feature maps first runs, as following a teacher who is elsewhere may do
    at.session_state[view_state.FEATURE_LAYER] = "no.such.layer"
    at.switch_page("pages/feature-maps.py").run()
    fresh = app_test(page="pages/feature-maps.py")
    assert not at.exception and at.selectbox(key="fm_layer").value == fresh.selectbox(key="fm_layer").value


def test_the_layer_table_folds_to_the_depth_set_from_outside(app_test):
    at = app_test(query={"arch": "resnet18"}, page="pages/layer-table.py")
    at = rerun_with(at, view_state.TABLE_DEPTH, 3)
    assert at.slider(key="lt_depth").value == 3
    assert at.dataframe[0].value["depth"].max() == 3
    at = rerun_with(at, view_state.TABLE_DEPTH, 99)  # deeper than ResNet-18 goes (4): a depth it has
    assert not at.exception and 1 <= at.slider(key="lt_depth").value <= 4


def test_the_diagram_selects_the_node_set_from_outside(app_test):
    at = app_test(query={"arch": "lenet5"}, page="pages/architecture-diagram.py")
    at = rerun_with(at, view_state.DIAGRAM_NODE, "classifier.0")
    assert at.selectbox(key="dg_node").value == "classifier.0"
    assert "classifier.0" in at.get("graphviz_chart")[0].proto.spec


def test_convolution_by_hand_shows_the_window_set_from_outside(app_test):
    at = app_test()  # the first page: the 5×5 zero, a 2×2 filter of ones, 16 windows
    at = rerun_with(at, view_state.CONVOLUTION_STEP, 6)
    assert any(caption.value == "Window 6 of 16." for caption in at.caption)
    at = rerun_with(at, view_state.POOLING_STEP, 2)
    assert any(caption.value == "Window 2 of 4." for caption in at.caption)
    at = rerun_with(at, view_state.CONVOLUTION_STEP, 40)  # more than there are: kept in range
    assert any(caption.value == "Window 16 of 16." for caption in at.caption)
