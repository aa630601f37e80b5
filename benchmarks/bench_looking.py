"""What the "Where it looks" features cost on top of the bare PyTorch work, measured side by side.

    .venv/bin/python benchmarks/bench_looking.py [--archs lenet5 resnet18 ...] [--clock cpu --threads 1]
                                                 [--scorecam lenet5 resnet18] [--out FILE.md]

For each architecture at its default input (random weights: the weights do not change the
cost), interleaved round by round with ``explorer.cli.bench.interleaved`` (medians):

- forward: ``model(x)`` under ``no_grad``, the unit everything is compared with;
- backward: a bare forward pass with the input requiring a gradient and one
  ``torch.autograd.grad`` of a class score, what every gradient method needs at least;
- Grad-CAM, Grad-CAM++, LayerCAM (torchcam, at the default layer), saliency, SmoothGrad
  (16 noisy copies), one unit's input gradient (the effective receptive field), and an
  intervention (a batch of two, both rows reduced), each through our code: private view,
  hooks, checks and all;
- the layer table with its receptive fields (one traced meta pass) against torchinfo alone on the same
  shape-only model: what the fields add to the table.

Score-CAM is timed once (it is long) at the default layer for the architectures named by
``--scorecam``: seconds per masked pass against one forward pass.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torchinfo  # noqa: E402
from torchinfo.torchinfo import clear_cached_forward_pass  # noqa: E402

from explorer.analysis import summary  # noqa: E402
from explorer.cli import bench  # noqa: E402
from explorer.core.shape_only import META, build_meta_model  # noqa: E402
from explorer.core.registry import get_spec  # noqa: E402
from explorer.core.sizes import InputSize  # noqa: E402
from explorer.runs import cams, gradients, interventions  # noqa: E402
from explorer.runs.layer_choice import default_map_layer  # noqa: E402

METHODS = ("gradcam", "gradcampp", "layercam")


def prepared(arch_id: str):
    """The network at its default size with random weights, its layer table, its map layer, an input, a forward."""
    spec = get_spec(arch_id)
    side = spec.default_size
    table = summary.summarize(arch_id, InputSize(side, side))
    layer = default_map_layer(table) if arch_id != "toy_dense" else None
    torch.manual_seed(0)
    model = spec.build().requires_grad_(False)
    x = torch.rand(1, spec.in_channels, side, side)

    def forward():
        with torch.no_grad():
            model(x)

    return spec, side, table, layer, model, x, forward


def measure(arch_id: str, budget: float) -> dict:
    spec, side, table, layer, model, x, forward = prepared(arch_id)

    def backward():
        with torch.enable_grad():
            inputs = x.clone().requires_grad_(True)
            torch.autograd.grad(model(inputs)[0, 1], inputs)

    variants = {"forward": forward, "backward": backward,
                "saliency": lambda: gradients.saliency(spec, model, x, 1),
                "smoothgrad": lambda: gradients.saliency(spec, model, x, 1, smooth=True)}
    if layer:
        dims = table.calls.set_index("name").loc[layer, "output_dims"]
        for method in METHODS:
            variants[method] = lambda m=method: cams.class_activation_map(spec, model, x, table, m, layer, 1)
        variants["unit_gradient"] = lambda: gradients.unit_gradient(spec, model, x, layer, 0, dims[2] // 2, dims[3] // 2)
        plan = interventions.Plan((interventions.parse_ablation(spec, table, f"{layer}:0"),))
        variants["intervention"] = lambda: interventions.intervene(spec, model, x, plan)
    medians, rounds = bench.interleaved(variants, budget)
    def bare_table():  # torchinfo alone on a fresh shape-only model, as summarize calls it, without the fields
        torchinfo.summary(build_meta_model(spec), input_size=(1, spec.in_channels, side, side), device=META,
                          depth=64, mode="eval", verbose=0)
        clear_cached_forward_pass()

    traced, _ = bench.interleaved({"bare_table": bare_table,
                                   "table": lambda: summary.summarize(arch_id, InputSize(side, side))}, budget / 4)
    return {"arch": arch_id, "layer": layer, "rounds": rounds, **medians, **{f"{k}_s": v for k, v in traced.items()}}


def score_cam(arch_id: str) -> dict:
    spec, _, table, layer, model, x, forward = prepared(arch_id)
    channels = table.calls.set_index("name").loc[layer, "output_dims"][1]
    one = min(bench._seconds(forward, torch.device("cpu")) for _ in range(5))
    batch = max(1, min(32, 512 * 2**20 // max(table.totals.forward_backward_bytes, 1)))
    start = bench._clock()
    cams.class_activation_map(spec, model, x, table, "scorecam", layer, 1, batch_size=batch)
    total = bench._clock() - start
    return {"arch": arch_id, "layer": layer, "channels": channels, "batch": batch, "total_s": total,
            "per_pass_s": total / channels, "forward_s": one}


def markdown(rows: list[dict], scored: list[dict], clock: str) -> str:
    load = os.getloadavg()
    lines = [f"Measured {time.strftime('%Y-%m-%d %H:%M')} on {platform.processor() or platform.machine()}, "
             f"{torch.get_num_threads()} torch thread(s), clock: {clock}; load average {load[0]:.2f} / {load[1]:.2f} "
             f"/ {load[2]:.2f} (1 / 5 / 15 min) when it finished.", "",
             "| network | layer | forward ms | backward ms | Grad-CAM ms (+ on forward) | Grad-CAM++ ms | LayerCAM ms "
             "| saliency ms | SmoothGrad ms | one unit's gradient ms | intervention ms | table ms: torchinfo → with fields |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    ms = lambda row, key: f"{row[key] * 1000:.1f}" if key in row else "—"  # noqa: E731
    for row in rows:
        extra = f" (+{(row['gradcam'] - row['forward']) * 1000:.0f})" if "gradcam" in row else ""
        lines.append(
            f"| {row['arch']} | {row['layer'] or '—'} | {ms(row, 'forward')} | {ms(row, 'backward')} | "
            f"{ms(row, 'gradcam')}{extra} | {ms(row, 'gradcampp')} | {ms(row, 'layercam')} | {ms(row, 'saliency')} | "
            f"{ms(row, 'smoothgrad')} | {ms(row, 'unit_gradient')} | {ms(row, 'intervention')} | "
            f"{row['bare_table_s'] * 1000:.0f} → {row['table_s'] * 1000:.0f} |")
    if scored:
        lines += ["", "| network | layer | channels = passes | batch | Score-CAM s | per pass ms | one forward ms |",
                  "|---|---|---:|---:|---:|---:|---:|"]
        lines += [f"| {r['arch']} | {r['layer']} | {r['channels']} | {r['batch']} | {r['total_s']:.1f} | "
                  f"{r['per_pass_s'] * 1000:.1f} | {r['forward_s'] * 1000:.1f} |" for r in scored]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", nargs="+", default=["lenet5", "alexnet", "vgg16", "inception_v3", "resnet18",
                                                        "resnet50"])
    parser.add_argument("--scorecam", nargs="*", default=["lenet5", "resnet18"])
    parser.add_argument("--budget", type=float, default=6.0)
    parser.add_argument("--clock", choices=list(bench.CLOCKS), default="wall")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--out")
    args = parser.parse_args()
    bench._clock = bench.CLOCKS[args.clock]
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = [measure(arch, args.budget) for arch in args.archs]
    scored = [score_cam(arch) for arch in args.scorecam]
    table = markdown(rows, scored, args.clock)
    print(table)
    if args.out:
        Path(args.out).write_text(table)


if __name__ == "__main__":
    main()
