"""The Feature maps page run headlessly: uploads good and bad, prediction, and redraws without a new forward pass."""

import io

import numpy as np
import pytest
from PIL import Image

from explorer.runs import capture
from explorer.core.registry import get_spec

PAGE = "pages/feature-maps.py"


def png(width: int = 96, height: int = 80) -> bytes:
    rng = np.random.default_rng(3)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def forward_passes(monkeypatch):
    """Counts real captures (cache misses) while the page runs."""
    calls = []
    original = capture.run_on_image

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(capture, "run_on_image", counting)
    return calls


def upload(at, name: str, data: bytes, mime: str = "image/png"):
    at.radio(key="fm_source").set_value("upload").run()
    return at.file_uploader(key="fm_upload").set_value((name, data, mime)).run()


def test_lenet_starts_with_a_handwritten_digit_and_names_digit_classes(app_test):
    at = app_test(page=PAGE)
    assert not at.exception
    assert at.title[0].value == "Feature maps · LeNet-5"
    assert at.radio(key="fm_source").value == "handwritten"
    classes = list(at.dataframe[0].value["class"])
    assert len(classes) == 5 and set(classes) <= {str(d) for d in range(10)}
    assert any("random weights" in w.value and "meaningless" in w.value for w in at.warning)
    assert len(at.get("image")) >= 3  # the picture, what LeNet receives, the path strip, the grid


@pytest.mark.parametrize(
    "data, words",
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "could not be read as an image"),
        (Image.new("RGB", (1, 4000)).tobytes(), "could not be read as an image"),
    ],
)
def test_a_bad_upload_gives_one_sentence_and_the_page_keeps_working(app_test, data, words):
    at = app_test(query={"arch": "resnet18"}, page=PAGE)
    at = upload(at, "../../etc/passwd.png", data)
    assert not at.exception
    assert len(at.error) == 1 and words in at.error[0].value
    # Back to a sample photo: the page works again, the sidebar kept its choice.
    at.radio(key="fm_source").set_value("photo").run()
    assert not at.exception and not at.error
    assert at.title[0].value == "Feature maps · ResNet-18"


def test_a_strip_upload_is_refused_with_its_size(app_test):
    buffer = io.BytesIO()
    Image.new("RGB", (1, 4000), (90, 90, 90)).save(buffer, format="PNG")
    at = upload(app_test(query={"arch": "resnet18"}, page=PAGE), "strip.png", buffer.getvalue())
    assert not at.exception and "1×4000" in at.error[0].value


def test_an_uploaded_photo_gives_a_grid_and_five_imagenet_classes(app_test):
    at = upload(app_test(query={"arch": "resnet18", "h": "96", "w": "96"}, page=PAGE), "photo.png", png())
    assert not at.exception and not at.error
    categories = set(get_spec("resnet18").weights.IMAGENET1K_V1.meta["categories"])
    classes = list(at.dataframe[0].value["class"])
    assert len(classes) == 5 and set(classes) <= categories
    at.selectbox(key="fm_layer").set_value("layer2.0.conv1").run()
    assert not at.exception
    assert any("layer2.0.conv1" in (image.proto.imgs[0].caption or "") for image in at.get("image"))
    # 128 channels: the slider offers each count once, up to the 64 the grid can show, and starts there.
    count = at.select_slider(key="fm_count")
    assert list(count.options) == ["1", "4", "9", "16", "25", "36", "49", "64"] and count.value == 64
    assert any((image.proto.imgs[0].caption or "").startswith("64 of 128 channels of layer2.0.conv1")
               for image in at.get("image"))
    assert {m.label for m in at.metric} >= {"Min", "Max", "Mean", "Exact zeros", "Dead channels"}


def test_changing_how_a_layer_is_drawn_runs_no_new_forward_pass(app_test, forward_passes):
    at = app_test(query={"arch": "resnet18", "h": "64", "w": "64"}, page=PAGE)
    assert not at.exception
    before = len(forward_passes)
    assert before == 1  # this picture, network and size are used by no other test: one real pass
    at.selectbox(key="fm_layer").set_value("layer1.0.conv1").run()
    at.select_slider(key="fm_count").set_value(16).run()
    at.radio(key="fm_order").set_value("strongest").run()
    at.selectbox(key="fm_colours").set_value("Grey").run()
    at.radio(key="fm_scale").set_value("layer").run()
    at.button(key="fm_next").click().run()
    assert not at.exception
    assert at.selectbox(key="fm_layer").value == "layer1.0.bn1"
    assert len(forward_passes) == before


def test_the_output_layer_shows_softmax_probabilities(app_test):
    at = app_test(page=PAGE)  # LeNet-5: its last layer is classifier.4 with 10 outputs
    at.selectbox(key="fm_layer").set_value("classifier.4").run()
    assert not at.exception
    titles = [chart.proto.spec for chart in at.get("plotly_chart")]
    assert any("Softmax" in spec for spec in titles)
    # Each chart's numbers are within reach in words too: the ten outputs, then the most probable classes.
    captions = [caption.value for caption in at.caption]
    assert any(text.startswith("The 10 numbers classifier.4 gives") for text in captions)
    assert any(text.startswith("Most probable: ") for text in captions)


@pytest.mark.parametrize("arch_id", ["toy_dense", "toy_conv"])
def test_the_toy_networks_start_with_a_scoreboard_digit(app_test, arch_id):
    at = app_test(query={"arch": arch_id}, page=PAGE)
    assert not at.exception and not at.error
    assert at.radio(key="fm_source").value == "scoreboard"
    assert len(at.dataframe[0].value) == 5
    for layer in at.selectbox(key="fm_layer").options:  # every layer of the toy draws without an error
        at.selectbox(key="fm_layer").set_value(layer.split(" · ")[0].split(". ", 1)[1]).run()
        assert not at.exception and not at.error


def test_the_enlarged_channel_is_described_in_words(app_test):
    at = app_test(page=PAGE)  # LeNet-5 on its first layer: channel 0 of features.0, 28×28
    assert not at.exception
    layer = at.selectbox(key="fm_layer").value
    described = [caption.value for caption in at.caption if caption.value.startswith("Channel ")]
    assert described and described[0].startswith(f"Channel 0 of {layer}, ") and "squares, brightest in the " in described[0]


def test_a_removed_photo_waits_for_a_replacement_then_keeps_showing_the_last_picture(app_test, monkeypatch):
    from ui.selection import pictures

    waits = []
    monkeypatch.setattr(pictures, "wait_for_a_replacement", lambda: waits.append(pictures.REPLACEMENT_WAIT_S))
    at = app_test(query={"arch": "resnet18", "h": "64", "w": "64"}, page=PAGE)
    at.radio(key="fm_source").set_value("upload").run()
    assert waits == []  # no file yet, none removed: no wait
    at.file_uploader(key="fm_upload").set_value(("photo.png", png(), "image/png")).run()
    at.file_uploader(key="fm_upload").set_value(None).run()  # the file removed, as a replacement starts with
    assert waits == [pictures.REPLACEMENT_WAIT_S]
    assert not at.exception and not at.error
    assert any("keeps showing your picture" in c.value for c in at.caption)
    at.run()  # a later run without a file: nothing was removed just now
    assert waits == [pictures.REPLACEMENT_WAIT_S]
