"""The exported PyTorch file, run in a fresh Python process: same parameter names, shapes and count, and the
same logits for a trained state dict loaded with strict=True."""

from __future__ import annotations

import json
import subprocess
import sys

import torch

from explorer.analysis.design_file import parse_design
from explorer.analysis.design_rows import export_code
from explorer.models.design import DesignNet
from explorer.models.design_presets import PRESETS

CHECKED = ("lenet5", "small_resnet", "all_conv", "toy_conv")

# Runs in a fresh interpreter that has only the exported file: no explorer on its path.
CHILD = """
import importlib.util, json, sys
import torch
results = {}
for name in sys.argv[2:]:
    spec = importlib.util.spec_from_file_location("exported_" + name, f"{sys.argv[1]}/{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.YourNetwork()
    fresh = {key: list(value.shape) for key, value in model.state_dict().items()}
    count = sum(p.numel() for p in model.parameters())
    model.load_state_dict(torch.load(f"{sys.argv[1]}/{name}.pt", weights_only=True), strict=True)
    x = torch.load(f"{sys.argv[1]}/{name}.x", weights_only=True)
    with torch.no_grad():
        torch.save(model.eval()(x), f"{sys.argv[1]}/{name}.out")
    results[name] = {"state": fresh, "count": count, "explorer": "explorer" in sys.modules}
print(json.dumps(results))
"""


def trained(net: torch.nn.Module, x: torch.Tensor) -> torch.nn.Module:
    """A few steps of training, so that weights and batch norm's running statistics differ from any fresh start."""
    optimiser = torch.optim.SGD(net.parameters(), lr=0.05)
    net.train()
    for _ in range(3):
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(net(x), torch.arange(len(x)) % 10).backward()
        optimiser.step()
    return net.eval()


def test_exported_code_rebuilds_the_network_in_a_fresh_process(tmp_path):
    torch.manual_seed(0)
    expected = {}
    for name in CHECKED:
        design = parse_design(PRESETS[name])
        (tmp_path / f"{name}.py").write_text(export_code(design))
        x = torch.rand(4, *design.input)
        net = trained(DesignNet(design), x)
        torch.save(net.state_dict(), tmp_path / f"{name}.pt")
        torch.save(x, tmp_path / f"{name}.x")
        with torch.no_grad():
            expected[name] = (net, net(x))
    done = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path), *CHECKED], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    for name in CHECKED:
        net, logits = expected[name]
        assert results[name]["explorer"] is False
        assert results[name]["state"] == {key: list(value.shape) for key, value in net.state_dict().items()}
        assert results[name]["count"] == sum(p.numel() for p in net.parameters())
        theirs = torch.load(tmp_path / f"{name}.out", weights_only=True)
        assert torch.allclose(theirs, logits, atol=1e-6), name


def test_exported_file_runs_as_a_script_and_reports_its_count(tmp_path):
    path = tmp_path / "lenet5.py"
    path.write_text(export_code(parse_design(PRESETS["lenet5"])))
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "61,706 parameters; output shape (1, 10)"
