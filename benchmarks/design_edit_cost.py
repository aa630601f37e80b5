"""What one edit of a 20-layer design costs the server, beside a bare ResNet-18 forward pass, in one run.

    .venv/bin/python -m benchmarks.design_edit_cost [--rounds 30]

An edit is what the "Build a network" page does when a row changes: read the design
(as from the page's state), work out every row (shape, parameters with their
arithmetic, multiply-adds, receptive field, the sentences) and write the link for
the address bar. CPU time of this process (``time.process_time``), medians; the
ResNet-18 pass is batch 1 at 224×224, eval, no_grad, random weights. The issue's
bound: one edit costs at most 1× that forward pass.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from explorer.analysis.design_file import parse_design
from explorer.analysis.design_link import encode
from explorer.analysis.design_rows import analyse


def twenty_layers(out: int) -> dict:
    block = [{"type": "conv", "out": out, "kernel": 3, "padding": 1}, {"type": "batchnorm"}, {"type": "relu"}]
    layers = [*block, *block, {"type": "maxpool", "kernel": 2}, *block, *block, {"type": "maxpool", "kernel": 2},
              {"type": "residual", "out": 32, "stride": 2}, {"type": "residual", "out": 32}, {"type": "leakyrelu"},
              {"type": "dropout", "p": 0.2},
              {"type": "gap"}, {"type": "linear", "out": 10}]
    assert len(layers) == 20
    return {"input": [3, 64, 64], "classes": 10, "layers": layers}


def one_edit(out: int) -> str:
    result = analyse(parse_design(twenty_layers(out)))
    assert not result.problems
    return encode(parse_design(twenty_layers(out)))


def cpu_seconds(work, rounds: int) -> list[float]:
    times = []
    for i in range(rounds):
        started = time.process_time()
        work(i)
        times.append(time.process_time() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    import torchvision

    model = torchvision.models.resnet18(weights=None).eval()
    x = torch.rand(1, 3, 224, 224)

    def forward(_: int) -> None:
        with torch.no_grad():
            model(x)

    forward(0), one_edit(8)  # warm both up
    edits, passes = [], []
    for _ in range(3):  # interleaved, so that load from other work falls on both alike
        edits += cpu_seconds(lambda i: one_edit(8 + i % 8), args.rounds)
        passes += cpu_seconds(forward, args.rounds // 3 or 1)
    edit, bare = statistics.median(edits), statistics.median(passes)
    print(json.dumps({"edit_cpu_s": round(edit, 5), "resnet18_forward_cpu_s": round(bare, 5),
                      "ratio": round(edit / bare, 3), "torch_threads": torch.get_num_threads(),
                      "load_average": [round(v, 2) for v in __import__("os").getloadavg()]}))


if __name__ == "__main__":
    main()
