"""The "Where it looks" page and the layer table's new columns, run headlessly with AppTest.

What a student does (a map for a chosen class, Score-CAM's cost before it runs, an intervention
with a bad channel list and then a good one), each checked for its sentence on the page, and
the server's shared model checked bit for bit afterwards.
"""

from __future__ import annotations

import json

from explorer.core.registry import get_spec
from ui.caches.networks import shared_model
from tests.test_isolation import fingerprint

PAGE = "pages/where-the-network-looks.py"


def chart_titles(at) -> list[str]:
    return [json.loads(chart.proto.spec)["layout"]["title"]["text"] for chart in at.get("plotly_chart")]


def markdown(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_a_map_for_the_digit_the_network_reads_and_for_a_class_picked_by_hand(app_test):
    at = app_test(query={"arch": "lenet5", "weights": "digits"}, page=PAGE)
    at.selectbox(key="wl_handwritten").set_value("handwritten_3").run()
    assert not at.exception and not at.error
    assert "LeNet-5 answers **3**" in markdown(at) and "the map is for **3**" in markdown(at)
    assert at.selectbox(key="wl_layer").value == "features"  # the last layer with a map larger than 1×1
    at.selectbox(key="wl_target").set_value(5).run()
    assert "the map is for **5**" in markdown(at)
    at.selectbox(key="wl_method").set_value("smoothgrad").run()
    assert not at.exception and at.selectbox(key="wl_layer").disabled  # saliency maps the input itself
    assert "The same gradient averaged over 16 copies of the picture" in markdown(at)


def test_a_random_network_is_told_apart_and_has_no_convolution_for_the_toy(app_test):
    at = app_test(query={"arch": "toy_dense"}, page=PAGE)
    assert not at.exception and not at.error
    assert any("random weights here" in w.value and "mean nothing until it is trained" in w.value for w in at.warning)
    assert at.selectbox(key="wl_method").options == ["Saliency (input gradient)", "SmoothGrad"]
    assert any("has no convolution" in i.value for i in at.info)


def test_score_cam_says_what_it_costs_before_it_runs(app_test):
    at = app_test(query={"arch": "lenet5", "weights": "digits"}, page=PAGE)
    at.selectbox(key="wl_method").set_value("scorecam").run()
    cost = [i.value for i in at.info if i.value.startswith("Score-CAM runs LeNet-5 once for each of the 16 channels")]
    assert cost and "16 passes, about" in cost[0]
    assert not chart_titles(at)
    at.button(key="wl_scorecam").click().run()
    assert not at.exception and not at.error
    assert chart_titles(at) == ["features at its own resolution, 5×5"]
    assert "Score-CAM uses no gradient" in markdown(at)


def test_score_cam_too_long_for_a_shared_server_is_refused_in_a_sentence(app_test):
    at = app_test(query={"arch": "resnet152"}, page=PAGE)
    at.selectbox(key="wl_method").set_value("scorecam").run()
    assert not at.exception
    assert any("2,048 channels of layer4" in w.value and "more than the 120 s" in w.value for w in at.warning)
    assert "wl_scorecam" not in [button.key for button in at.button]  # no button to start it


def test_an_intervention_refuses_a_bad_channel_list_then_runs_beside_the_untouched_pass(app_test):
    at = app_test(query={"arch": "resnet18", "h": "64", "w": "64"}, page=PAGE)
    model = shared_model("resnet18", "cpu")
    before = fingerprint(model)
    at.selectbox(key="wl_ablate_layer").set_value("layer2.0.conv1")
    at.text_input(key="wl_ablate_channels").input("3-1")
    at.form_submit_button[0].click().run()
    assert [e.value for e in at.error] == ["Channels are numbers and ranges such as 0,3,8-15 (low end first); "
                                           "'3-1' is not one."]
    at.text_input(key="wl_ablate_channels").input("0-63")
    at.multiselect(key="wl_bypass").set_value(["layer3.1"])
    at.form_submit_button[0].click().run()
    assert not at.exception and not at.error
    text = markdown(at)
    assert "layer2.0.conv1: 0-63 switched off; layer3.1 bypassed (residual branch off)." in text
    assert {"**Untouched**", "**With the changes**"} <= {m.value for m in at.markdown}
    assert len(at.dataframe) >= 2
    assert fingerprint(shared_model("resnet18", "cpu")) == before
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())


def test_the_layer_table_shows_each_layers_receptive_field(app_test):
    at = app_test(query={"arch": "alexnet"}, page="pages/layer-table.py")
    at.slider[0].set_value(2).run()
    table = at.dataframe[0].value.set_index("name")
    assert table.loc["features.0", "receptive_field"] == "11×11" and table.loc["features.0", "rf_stride"] == "4"
    assert table.loc["features.0", "rf_start"] == "−2"
    assert table.loc["features.12", "receptive_field"] == "195×195"  # Araujo et al.'s alexnet_v2 pool5
    assert table.loc["classifier.6", "rf_stride"] == "—"
    assert get_spec("alexnet").default_size == 224


def test_a_bad_upload_is_one_sentence_and_the_map_and_its_settings_stay(app_test):
    from tests.test_hostile_inputs import BY_ID, small_png

    at = app_test(query={"arch": "lenet5", "weights": "digits"}, page=PAGE)
    at.radio(key="wl_source").set_value("upload").run()
    at.file_uploader(key="wl_upload").set_value(("first.png", small_png(), "image/png")).run()
    at.selectbox(key="wl_method").set_value("layercam").run()
    for case in (BY_ID["pdf-as-png"], BY_ID["bomb"]):
        at.file_uploader(key="wl_upload").set_value((case.name, case.make(), case.mime)).run()
        assert not at.exception
        errors = [e.value for e in at.error]
        assert len(errors) == 1 and case.refused in errors[0], errors
        assert at.selectbox(key="wl_method").value == "layercam"
        assert "LayerCAM weights every position" in markdown(at)  # still the last good picture's map
