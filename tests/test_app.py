"""The app run headlessly with AppTest: sidebar, URL mirror, layer table, and every page without an exception."""

import re

import pytest
import streamlit as st

from explorer.core.registry import get_spec
from tests.conftest import ROOT, as_shown

FRAME_SOURCE = (ROOT / "ui" / "frame.py").read_text()
PAGE_LINES = [line for line in FRAME_SOURCE.splitlines() if line.strip().startswith("st.Page(")]
# (file, url_path, default, hidden) for each st.Page of the frame, in order.
PAGE_TABLE = [
    (re.search(r'st\.Page\("(pages/[\w-]+\.py)"', line)[1], re.search(r'url_path="([^"]+)"', line)[1],
     "default=True" in line, 'visibility="hidden"' in line)
    for line in PAGE_LINES
]
PAGE_ENTRIES = [(path, url_path) for path, url_path, _, hidden in PAGE_TABLE if not hidden]
ADDRESSES = [url_path for _, url_path, default, _ in PAGE_TABLE if not default]  # the default is served at "/"


def test_every_page_file_is_listed_once_and_named_after_its_address():
    files = [path for path, _ in PAGE_ENTRIES]
    assert len(PAGE_TABLE) == len(PAGE_LINES) and "pages/layer-table.py" in files and len(files) == len(set(files))
    for path, url_path, default, _ in PAGE_TABLE:
        assert (ROOT / path).exists()
        # Streamlit's legacy pages/ lookup answers a fresh server's first link with the file of
        # that name: every address but the default's ("/") names its own page's file.
        assert default or url_path == path.removeprefix("pages/").removesuffix(".py")
    # The default page lives at "/"; a hidden twin of it answers its own name.
    default = next(path for path, _, is_default, _ in PAGE_TABLE if is_default)
    assert any(path == default and hidden and url == "convolution-by-hand" for path, url, _, hidden in PAGE_TABLE)


def test_build_a_network_comes_right_after_convolution_by_hand():
    shown = [(path, url_path) for path, url_path, _, hidden in PAGE_TABLE if not hidden]
    assert shown[:3] == [("pages/convolution-by-hand.py", "start"), ("pages/build-a-network.py", "build-a-network"),
                         ("pages/layer-table.py", "layer-table")]


def test_pages_holds_the_pages_alone_each_kept_in_the_frame():
    # A page that the legacy lookup runs alone runs the frame instead (ui/frame.py);
    # tests/browser/test_first_link_browser.py shows the effect in Chromium.
    assert {path.stem for path in (ROOT / "pages").glob("*.py")} == set(ADDRESSES)
    for address in ADDRESSES:
        code = (ROOT / "pages" / f"{address}.py").read_text()
        assert "from ui.frame import keep_in_frame" in code and "\nkeep_in_frame()" in code


def metric_values(at) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def test_default_page_is_the_lenet5_table(app_test):
    at = app_test(page="pages/layer-table.py")
    assert not at.exception
    assert at.title[0].value == "Layer table · LeNet-5"
    assert metric_values(at)["Parameters"] == "61,706"  # worked out by hand in test_registry
    table = at.dataframe[0].value
    assert "classifier.0" in set(table["name"])


def test_a_shared_link_opens_the_same_architecture_and_size(app_test):
    at = app_test(query={"arch": "resnet18", "h": "160", "w": "128", "batch": "2"}, page="pages/layer-table.py")
    assert not at.exception
    assert at.title[0].value == "Layer table · ResNet-18"
    assert at.number_input(key="sb_height").value == 160 and at.number_input(key="sb_width").value == 128
    assert at.toggle(key="sb_square").value is False
    meta = get_spec("resnet18").weights.IMAGENET1K_V1.meta
    assert metric_values(at)["Parameters"] == f"{meta['num_params']:,}"
    assert at.query_params["arch"] == ["resnet18"] or at.query_params["arch"] == "resnet18"


@pytest.mark.parametrize(
    ("query", "sentence"),
    [
        ({"arch": "resnet9000"}, "There is no architecture called 'resnet9000'"),
        ({"arch": "vgg16", "h": "-5"}, "The input height must be a whole number from 1 to 1024; got '-5'."),
        ({"arch": "vgg16", "h": "nan"}, "The input height must be a whole number from 1 to 1024; got 'nan'."),
    ],
)
def test_a_broken_link_says_what_it_ignored_and_still_works(app_test, query, sentence):
    at = app_test(query=query, page="pages/layer-table.py")
    assert not at.exception
    # The warning's Markdown escapes every character that could make a link (ui/widgets/text.py); the page shows
    # the sentence itself, which is what removing the escapes gives back.
    shown = [as_shown(w.value) for w in at.warning]
    assert any(text.startswith(sentence) for text in shown), shown
    assert at.dataframe, "the page still shows a table"


def test_changing_architecture_resets_size_and_too_small_sizes_get_one_sentence(app_test):
    at = app_test(page="pages/layer-table.py")
    at.selectbox(key="sb_arch").set_value("inception_v3").run()
    assert at.number_input(key="sb_height").value == 299 and at.number_input(key="sb_width").value == 299
    at.number_input(key="sb_height").set_value(64).run()
    assert not at.exception
    assert at.number_input(key="sb_width").value == 64  # square input follows the height
    assert [e.value for e in at.error] == ["Inception v3 needs inputs of at least 75×75; you chose 64×64."]
    assert not at.dataframe
    at.number_input(key="sb_height").set_value(80).run()
    assert not at.error and at.dataframe


def test_changing_the_depth_runs_nothing_again(app_test, monkeypatch):
    import ui.caches.networks

    calls = []
    real_summarize = ui.caches.networks.summarize
    monkeypatch.setattr(ui.caches.networks, "summarize", lambda *a: calls.append(a) or real_summarize(*a))
    st.cache_data.clear()
    at = app_test(query={"arch": "resnet34"}, page="pages/layer-table.py")
    assert len(calls) == 1
    rows_at_2 = len(at.dataframe[0].value)
    at.slider[0].set_value(3).run()
    assert len(at.dataframe[0].value) > rows_at_2
    at.slider[0].set_value(1).run()
    assert len(calls) == 1


@pytest.mark.parametrize("arch_id", ["toy_conv", "lenet5", "resnet18"])
def test_every_page_runs_without_an_exception(app_test, arch_id):
    at = app_test(query={"arch": arch_id})
    for path, _ in PAGE_ENTRIES:
        at.switch_page(path).run()
        assert not at.exception, (path, at.exception)
        assert at.title, path


@pytest.mark.parametrize("page", ["pages/feature-maps.py", "pages/where-the-network-looks.py", "pages/training-step.py"])
def test_pages_that_run_the_model_refuse_a_size_over_the_memory_budget(app_test, page):
    # ResNeXt-101 at 1024×1024: its outputs alone are about (1024 / 224)² ≈ 21 times the ~0.5 GB they take at 224.
    at = app_test(query={"arch": "resnext101_32x8d", "h": "1024", "w": "1024"}, page=page)
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "would need about" in errors[0] and errors[0].endswith("choose a smaller input size.")
    assert "GB" in errors[0]
