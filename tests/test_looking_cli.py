"""The command line's cam, receptive-field and activations --ablate/--bypass: JSON to read, one sentence to refuse."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from explorer.analysis.summary import summarize
from explorer.core.sizes import InputSize
from explorer.inputs import samples
from tests.test_cli import run_cli  # noqa: F401 - the fixture


@pytest.fixture
def digit_file(tmp_path):
    path = tmp_path / "three.png"
    path.write_bytes(samples.sample_bytes("handwritten_3"))
    return str(path)


@pytest.fixture
def photo_file(tmp_path):
    path = tmp_path / "photo.png"
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (80, 90, 3), dtype=np.uint8)).save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return str(path)


def test_cam_json_is_the_map_at_the_layers_resolution(run_cli, digit_file):
    result = run_cli("cam", "lenet5", "--image", digit_file, "--weights", "digits", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"layer", "target", "method", "input_size", "map"} <= set(data)
    assert data["layer"] == "features" and data["method"] == "gradcam" and data["input_size"] == [32, 32]
    assert data["target"] == data["predicted"] == 3  # the digit-trained LeNet reads this three
    values = np.array(data["map"])
    assert values.shape == (5, 5) and values.min() >= 0 and values.max() == 1


def test_cam_takes_a_layer_a_target_and_every_method(run_cli, photo_file):
    # Score-CAM runs once per channel: a 64-channel layer keeps it short.
    for method, layer, side in (("gradcampp", "layer3", 4), ("layercam", "layer3", 4), ("scorecam", "layer1.0.conv1", 16)):
        result = run_cli("cam", "resnet18", "--image", photo_file, "--size", "64", "--layer", layer,
                         "--target", "207", "--method", method, "--json")
        assert result.returncode == 0, result.stderr
        data = json.loads(result.stdout)
        assert (data["layer"], data["target"], np.array(data["map"]).shape) == (layer, 207, (side, side))
    saliency = json.loads(run_cli("cam", "resnet18", "--image", photo_file, "--size", "64", "--method", "saliency",
                                  "--json").stdout)
    assert saliency["layer"] is None and np.array(saliency["map"]).shape == (64, 64)


@pytest.mark.parametrize(("arguments", "sentence"), [
    (("--layer", "classifier.2"), "classifier.2 gives 84 numbers with no positions (a fully-connected layer)"),
    (("--target", "10"), "LeNet-5 has classes 0 to 9; '10' is not one of them."),
    (("--target", "three"), "LeNet-5 has classes 0 to 9; 'three' is not one of them."),
    (("--method", "saliency", "--layer", "features"), "Saliency (input gradient) maps the input pixels themselves"),
])
def test_cam_refuses_in_one_sentence_with_status_2(run_cli, digit_file, arguments, sentence):
    result = run_cli("cam", "lenet5", "--image", digit_file, *arguments)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(sentence) and result.stderr.count("\n") == 1


def test_receptive_field_json_has_every_row_of_the_full_table_in_order(run_cli):
    result = run_cli("receptive-field", "inception_v3", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    table = summarize("inception_v3", InputSize(299, 299))
    assert [row["name"] for row in rows] == list(table.calls["name"])
    by_name = {row["name"]: row for row in rows}
    assert by_name["Mixed_7c"] == {"name": "Mixed_7c", "type": "InceptionE", "size": [1311, 1311],
                                   "stride": [32, 32], "start": [-618, -618]}  # Araujo et al.'s table
    assert by_name["AuxLogits"]["size"] is None  # does not run in eval mode
    text = run_cli("receptive-field", "lenet5")
    assert text.returncode == 0 and "features.5" in text.stdout and "16×16" in text.stdout


def test_receptive_field_refuses_a_size_the_network_cannot_take(run_cli):
    result = run_cli("receptive-field", "lenet5", "--size", "64")
    assert result.returncode == 2 and "32–35 pixels only" in result.stderr


def test_activations_with_channels_off_and_a_block_bypassed(run_cli, photo_file):
    result = run_cli("activations", "resnet18", "--image", photo_file, "--size", "64",
                     "--ablate", "layer2.0.conv1:0,3,8-15", "--ablate", "layer3.0.bn1", "--bypass", "layer4.1", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["interventions"] == ["layer2.0.conv1: 0,3,8-15 switched off", "layer3.0.bn1: 0-255 switched off",
                                     "layer4.1 bypassed (residual branch off)"]
    changes = {layer["name"]: layer["change"] for layer in data["layers"]}
    assert changes["layer1"] == 0 and changes["layer2.0.conv1"] > 0 and changes["fc"] > 0
    assert data["layers"][0]["shape"] == [1, 64, 32, 32]  # one picture, not the batch of two it ran as
    assert len(data["untouched_top"]) == len(data["top"]) == 5


@pytest.mark.parametrize(("arguments", "sentence"), [
    (("--ablate", "layer2.0.conv1:0-200"), "layer2.0.conv1 has channels 0 to 127; 200 is not one of them."),
    (("--ablate", "layer2.0.conv1:x"), "Channels are numbers and ranges such as 0,3,8-15"),
    (("--ablate", "layer1.0.relu"), "layer1.0.relu runs 2 times in each pass of ResNet-18"),
    (("--bypass", "layer2"), "layer2 is a Sequential, not a residual block"),
])
def test_bad_interventions_get_one_sentence_and_status_2(run_cli, photo_file, arguments, sentence):
    result = run_cli("activations", "resnet18", "--image", photo_file, "--size", "64", *arguments)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(sentence) and result.stderr.count("\n") == 1
