"""The command line: JSON that other tools can read, and plain sentences with exit status 2 for bad requests."""

import json
import subprocess
import sys

import pytest

from explorer.__main__ import main
from tests.conftest import ROOT


@pytest.fixture
def run_cli(capsys):
    """Run the command line in this process (importing torch once) and capture what it prints."""

    def run(*args: str) -> subprocess.CompletedProcess:
        returncode = main(list(args))
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, returncode, out, err)

    return run


def test_python_dash_m_entry_point():
    result = subprocess.run(
        [sys.executable, "-m", "explorer", "list", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["id"] == "toy_dense"


def test_list_json_is_the_registry(run_cli):
    result = run_cli("list", "--json")
    assert result.returncode == 0
    entries = json.loads(result.stdout)
    assert [e["id"] for e in entries][:3] == ["toy_dense", "toy_conv", "lenet5"]
    assert len(entries) == 20
    inception = next(e for e in entries if e["id"] == "inception_v3")
    assert inception["default_size"] == 299 and inception["min_size"] == 75


def test_summary_json_fields(run_cli):
    result = run_cli("summary", "resnet18", "--height", "160", "--width", "128", "--batch", "2", "--json", "--depth", "1")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["architecture"] == "resnet18"
    assert data["input_size"] == [2, 3, 160, 128]
    assert data["total_params"] == 11_689_512
    assert {"name", "type", "depth", "output_shape", "params", "mult_adds"} <= set(data["layers"][0])
    assert {layer["depth"] for layer in data["layers"]} == {1}
    assert data["layers"][-1]["output_shape"] == [2, 1000]
    assert sum(layer["params"] for layer in data["layers"]) == data["total_params"]


def test_summary_text_names_the_layers(run_cli):
    result = run_cli("summary", "lenet5")
    assert result.returncode == 0
    assert "classifier.0" in result.stdout and "61,706" in result.stdout


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (("summary", "inception_v3", "--size", "64"), "Inception v3 needs inputs of at least 75×75; you chose 64×64."),
        (("summary", "lenet6"), "There is no architecture called 'lenet6'"),
        (("summary", "vgg16", "--size", "0"), "The input height must be a whole number from 1 to 1024; got '0'."),
        (("summary", "vgg16", "--size", "big"), "The input height must be a whole number from 1 to 1024; got 'big'."),
        (("summary", "vgg16", "--batch", "10000"), "The batch size must be a whole number from 1 to 64; got '10000'."),
    ],
)
def test_bad_requests_exit_2_with_one_sentence(run_cli, args, sentence):
    result = run_cli(*args)
    assert result.returncode == 2
    assert result.stderr.startswith(sentence)
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_params_json_sums_to_the_total_and_shows_the_arithmetic(run_cli):
    result = run_cli("params", "lenet5", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["total"] == 61_706
    assert sum(kind["weight"] + kind["bias"] for kind in data["by_kind"].values()) == 61_706
    conv2 = next(layer for layer in data["layers"] if layer["name"] == "features.3")
    assert conv2["formula"] == "16 × 6 × 5 × 5 + 16 = 2,416"
    assert (conv2["weight"], conv2["bias"]) == (16 * 6 * 5 * 5, 16)


def test_activations_for_a_picture_file(run_cli, tmp_path):
    from PIL import Image

    picture = tmp_path / "stripes.png"
    Image.new("L", (40, 40), 0).save(picture)
    result = run_cli("activations", "lenet5", "--image", str(picture), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    shapes = {layer["name"]: layer["shape"] for layer in data["layers"]}
    assert shapes["features.0"] == [1, 6, 28, 28] and shapes["classifier.4"] == [1, 10]  # 32 − 5 + 1 = 28
    relu = next(layer for layer in data["layers"] if layer["name"] == "features.1")
    assert relu["min"] >= 0 and 0 <= relu["zero_share"] <= 1
    assert len(data["top"]) == 5 and {entry["class"] for entry in data["top"]} <= set("0123456789")


def test_activations_refuse_a_file_that_is_not_a_picture(run_cli, tmp_path):
    fake = tmp_path / "notes.png"
    fake.write_bytes(b"%PDF-1.4 not really a picture")
    result = run_cli("activations", "resnet18", "--image", str(fake))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
