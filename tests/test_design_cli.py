"""``build`` and ``--design``: the design's table as JSON, its code, every command on "Your network", exit status 2."""

from __future__ import annotations

import json
import subprocess

import pytest
import torch
from PIL import Image

from explorer.__main__ import main
from explorer.analysis.design_spec import design_spec
from explorer.analysis.design_file import parse_design
from explorer.core.registry import ARCH_IDS, ARCHITECTURES, get_spec
from explorer.models import LeNet5
from explorer.models.design_presets import PRESETS


@pytest.fixture
def run_cli(capsys):
    def run(*args: str) -> subprocess.CompletedProcess:
        returncode = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, returncode, out, err)

    return run


@pytest.fixture
def files(tmp_path):
    for name in ("lenet5", "small_resnet"):
        (tmp_path / f"{name}.json").write_text(json.dumps(PRESETS[name]))
    Image.new("RGB", (40, 40), (200, 30, 30)).save(tmp_path / "red.png")
    return tmp_path


def test_build_json_has_the_issue_fields(run_cli, files):
    result = run_cli("build", files / "lenet5.json", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["total_params"] == sum(p.numel() for p in LeNet5().parameters()) == 61_706
    assert data["warnings"] == []
    assert len(data["layers"]) == len(PRESETS["lenet5"]["layers"])
    first = data["layers"][0]
    assert {"name", "type", "output_shape", "params", "mult_adds", "receptive_field"} <= set(first)
    assert (first["type"], first["output_shape"], first["params"]) == ("conv", [6, 28, 28], 6 * 25 + 6)
    assert first["mult_adds"] == (6 * 25 + 6) * 28 * 28
    assert first["receptive_field"]["size"] == [5, 5]
    assert data["total_mult_adds"] == sum(layer["mult_adds"] for layer in data["layers"])


def test_build_code_prints_the_pytorch_file(run_cli, files):
    result = run_cli("build", files / "lenet5.json", "--code")
    assert result.returncode == 0
    namespace: dict = {}
    exec(result.stdout, namespace)
    assert sum(p.numel() for p in namespace["YourNetwork"]().parameters()) == 61_706


@pytest.mark.parametrize("content, expected", [
    ("not json", "is not JSON"),
    ('{"input": [1, 32, 32], "classes": 10, "layers": [{"type": "conv", "out": 6, "kernel": 0}]}', "got 0."),
    ('{"input": [1, 32, 32], "classes": 10, "layers": []}', "no layers yet"),
    ('{"input": [1, 8, 8], "classes": 10, "layers": [{"type": "conv", "out": 6, "kernel": 9}]}', "only 8×8"),
])
def test_bad_designs_exit_2_with_one_sentence(run_cli, tmp_path, content, expected):
    path = tmp_path / "bad.json"
    path.write_text(content)
    for command in (["build", path], ["build", path, "--code"], ["summary", "--design", path]):
        result = run_cli(*command)
        assert result.returncode == 2
        assert expected in result.stderr and result.stderr.count("\n") == 1 and result.stdout == ""


def test_missing_or_doubled_architecture_exits_2(run_cli, files):
    assert run_cli("summary").returncode == 2
    assert run_cli("summary", "lenet5", "--design", files / "lenet5.json").returncode == 2
    assert run_cli("build", files / "missing.json").returncode == 2


def test_the_design_spec_is_found_by_id_but_never_listed():
    spec = design_spec(parse_design(PRESETS["small_resnet"]))
    assert spec.id.startswith("design-") and spec.name == "Your network"
    assert get_spec(spec.id) is spec
    assert spec.id not in ARCH_IDS and all(s.id != spec.id for s in ARCHITECTURES)
    # Names are the student's labels, not the network: the same layers give the same id.
    named = dict(PRESETS["small_resnet"], layers=[dict(PRESETS["small_resnet"]["layers"][0], name="stem")]
                 + PRESETS["small_resnet"]["layers"][1:])
    assert design_spec(parse_design(named)).id == spec.id


def test_summary_and_params_on_a_design_equal_its_own_rows(run_cli, files):
    built = json.loads(run_cli("build", files / "small_resnet.json", "--json").stdout)
    summary = json.loads(run_cli("summary", "--design", files / "small_resnet.json", "--json").stdout)
    assert summary["total_params"] == built["total_params"]
    assert summary["total_mult_adds"] == built["total_mult_adds"]
    params = json.loads(run_cli("params", "--design", files / "small_resnet.json", "--json").stdout)
    assert params["total"] == built["total_params"]


def test_every_command_runs_on_a_design(run_cli, files):
    torch.manual_seed(0)
    design = files / "small_resnet.json"
    activations = run_cli("activations", "--design", design, "--image", files / "red.png", "--json")
    assert activations.returncode == 0, activations.stderr
    names = [layer["name"] for layer in json.loads(activations.stdout)["layers"]]
    assert "layers.3.conv1" in names
    cam = run_cli("cam", "--design", design, "--image", files / "red.png", "--json")
    assert cam.returncode == 0, cam.stderr
    step = run_cli("train-step", "--design", design, "--json")
    assert step.returncode == 0, step.stderr
    fields = run_cli("receptive-field", "--design", design, "--json")
    assert fields.returncode == 0, fields.stderr


def test_a_design_learns_the_digits(run_cli, files):
    result = run_cli("train", "--design", files / "lenet5.json", "--epochs", "1", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["architecture"].startswith("design-")
    assert data["final_held_out_accuracy"] > 0.2  # ten classes: a guess is 10%


def test_compare_and_diagram_take_a_design():
    from explorer.analysis.compare import compare_architectures
    from explorer.analysis.diagram import build_diagram
    from explorer.core.sizes import InputSize

    spec = design_spec(parse_design(PRESETS["lenet5"]))
    table = compare_architectures((get_spec("lenet5"), spec)).table.set_index("id")
    assert table.loc[spec.id, "params"] == table.loc["lenet5", "params"] == 61_706
    assert table.loc[spec.id, "mult_adds"] == table.loc["lenet5", "mult_adds"]
    assert table.loc[spec.id, "depth"] == table.loc["lenet5", "depth"] == 5
    diagram = build_diagram(spec.id, InputSize(32, 32))
    assert len(diagram.nodes) == len(build_diagram("lenet5", InputSize(32, 32)).nodes)


def test_a_state_dict_saved_from_a_design_loads_as_its_weights(run_cli, files):
    from explorer.models.design import DesignNet

    torch.manual_seed(1)
    net = DesignNet(parse_design(PRESETS["lenet5"]))
    torch.save(net.state_dict(), files / "mine.pt")
    loaded = run_cli("activations", "--design", files / "lenet5.json", "--image", files / "red.png",
                     "--weights", files / "mine.pt", "--json")
    assert loaded.returncode == 0, loaded.stderr
    from explorer.inputs import images

    spec = design_spec(parse_design(PRESETS["lenet5"]))
    x = images.prepare(images.load_image((files / "red.png").read_bytes()), spec, 32, 32).tensor
    with torch.no_grad():
        expected = torch.softmax(net.eval()(x), dim=1)[0]
    top = json.loads(loaded.stdout)["top"][0]
    assert top["probability"] == pytest.approx(float(expected.max()), abs=1e-5)
    assert top["class"] == str(int(expected.argmax()))
    torch.save({"layers.0.weight": torch.zeros(3)}, files / "wrong.pt")
    wrong = run_cli("activations", "--design", files / "lenet5.json", "--image", files / "red.png",
                    "--weights", files / "wrong.pt")
    assert wrong.returncode == 2
