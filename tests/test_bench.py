"""The benchmark's data on the smallest real network, and the start-up imports it keeps honest.

No timing is asserted (the machine is shared and noisy): only that every number
the benchmark promises is there, finite and positive, and that the memory figures
agree with arithmetic done here independently.
"""

import json
import math
import subprocess
import sys

import pytest

from explorer.cli import bench
from explorer.__main__ import main
from explorer.core.registry import get_spec
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def lenet_row():
    return bench.measure("lenet5", budget_s=0.05)


def test_every_promised_number_is_there_positive_and_finite(lenet_row):
    for key in ("summary_ratio", "capture_ratio", "train_step_ratio", "train_click_vs_work", "train_run_step_ratio",
                "render_ms", "peak_rss_mb", "forward_ms", "capture_ms", "kept_per_image_mb", "per_session_mb"):
        value = lenet_row[key]
        assert isinstance(value, float) and math.isfinite(value) and value > 0, key
    assert lenet_row["arch"] == "lenet5" and lenet_row["input"] == "1×32×32"
    assert lenet_row["summary_rounds"] >= bench.MIN_ROUNDS


def test_session_memory_is_weights_gradients_and_last_finite_weights(lenet_row):
    params = sum(p.numel() for p in get_spec("lenet5").build().parameters())
    assert params == 61_706  # LeNet-5: 156 + 2,416 + 48,120 + 10,164 + 850, counted by hand
    # SGD without momentum keeps no state; the scratch buffer is at most the largest layer.
    at_least, at_most = 3 * params * 4, 3 * params * 4 + 48_120 * 4
    assert at_least <= lenet_row["per_session_mb"] * 1e6 <= at_most


def test_render_uses_the_widest_layer_when_none_has_64_channels(lenet_row):
    assert lenet_row["render_layer"].startswith("conv2") or "16×" in lenet_row["render_layer"]


def test_cli_prints_one_json_object_per_architecture_and_writes_markdown(tmp_path, capsys, monkeypatch):
    in_this_process = lambda arch, budget, device, clock, threads: bench.measure(arch, 0.05, device, "cpu", 1)  # noqa: E731
    monkeypatch.setattr(bench, "measure_isolated", in_this_process)
    out = tmp_path / "bench.md"
    assert main(["bench", "--archs", "toy_conv", "--json", "--out", str(out)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["arch"] for row in rows] == ["toy_conv"]
    table = out.read_text()
    assert "| toy_conv | 1×5×5 |" in table and "cpu clock, 1 torch thread(s)" in table


def test_capture_and_summary_ratios_over_1_3_are_marked_in_the_table(lenet_row):
    row = dict(lenet_row, capture_ratio=1.31, summary_ratio=1.29)
    line = bench.markdown([row]).splitlines()[-1]
    assert "| **1.31** |" in line and "| 1.29 |" in line


def test_a_failed_architecture_is_reported_not_raised():
    table = bench.markdown([{"arch": "vgg19", "error": "MemoryError"}])
    assert "| vgg19 | failed: MemoryError |" in table


def test_the_first_page_imports_no_torchvision():
    # The whole app's first run, default page and sidebar included, in a fresh interpreter.
    code = ("import sys; from streamlit.testing.v1 import AppTest; "
            "at = AppTest.from_file('app.py', default_timeout=240).run(); assert not at.exception; "
            "assert at.title[0].value == 'Convolution by hand', at.title; "
            "print(sorted(m for m in ('torchvision', 'torch._dynamo') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
