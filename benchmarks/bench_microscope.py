"""What a feature-visualisation render costs, against the bare forward+backward passes it is made of.

    python benchmarks/bench_microscope.py [--steps 64] [--out FILE.md]

For each case (LeNet-5 ``features.3`` at 32 pixels; AlexNet ``features.10``, ResNet-18
``layer2``, ``layer3``, ``layer4`` at 128) three loops of the same number of steps run
side by side, one torch thread, timed in this process's CPU seconds:

- **render**: the whole render loop (parameterisation, transforms, network up to the
  layer, backward, Adam), ``explorer.runs.featurevis.render.render``;
- **bare**: the same network stopped at the same layer, forward and backward of a plain
  input tensor, nothing else: the floor the render is made of (target: render ≤ 1.3×);
- **whole**: bare passes through the whole network: what stopping at the layer saves.

Seconds are scaled to a 512-step render (the default recipe) from ``--steps`` steps.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from explorer.core.registry import get_spec  # noqa: E402
from explorer.runs.featurevis import target  # noqa: E402
from explorer.runs.featurevis.render import Recipe, render  # noqa: E402

CASES = (("lenet5", "features.3", 32), ("alexnet", "features.10", 128), ("resnet18", "layer2", 128),
         ("resnet18", "layer3", 128), ("resnet18", "layer4", 128))
FULL_STEPS = 512


def _cpu(work) -> float:
    start = time.process_time()
    work()
    return time.process_time() - start


def bare_passes(model, layer: str, in_channels: int, side: int, steps: int, stop: bool) -> None:
    with target.reading(target.private_copy(model), layer, stop=stop) as run:
        for _ in range(steps):
            x = torch.rand(1, in_channels, side, side, requires_grad=True)
            target.unit_mean(run(x) if stop else run(x), 0).sum().backward()


def measure(arch: str, layer: str, side: int, steps: int) -> dict:
    spec = get_spec(arch)
    torch.manual_seed(0)
    model = spec.build().eval()
    mean, std = (0.0,) * spec.in_channels, (1.0,) * spec.in_channels
    recipe = Recipe(steps=steps, size=side)
    # Warm-up: the allocator, FFT plans and first-call overheads are paid once per process, not per render.
    render(model, layer, 0, Recipe(steps=2, size=side), spec.in_channels, mean, std)
    bare_passes(model, layer, spec.in_channels, side, 2, True)
    bare_passes(model, layer, spec.in_channels, side, 2, False)
    scale = FULL_STEPS / steps
    rendered = _cpu(lambda: render(model, layer, 0, recipe, spec.in_channels, mean, std)) * scale
    bare = _cpu(lambda: bare_passes(model, layer, spec.in_channels, side, steps, True)) * scale
    whole = _cpu(lambda: bare_passes(model, layer, spec.in_channels, side, steps, False)) * scale
    return {"arch": arch, "layer": layer, "side": side, "render_s": rendered, "bare_s": bare, "whole_s": whole}


def markdown(rows: list[dict], steps: int) -> str:
    lines = [f"CPU seconds per {FULL_STEPS}-step render (LeNet-5 timed whole, the others over {steps} steps and "
             "scaled), one torch thread.",
             "",
             "| network | layer | px | render s | bare passes s | render / bare (≤ 1.3) | whole-network passes s "
             "| stopping saves |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        saved = 1 - row["bare_s"] / row["whole_s"]
        lines.append(f"| {row['arch']} | {row['layer']} | {row['side']} | {row['render_s']:.1f} | {row['bare_s']:.1f} "
                     f"| {row['render_s'] / row['bare_s']:.2f} | {row['whole_s']:.1f} | {saved:.0%} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=64, help="steps timed per loop (scaled to 512)")
    parser.add_argument("--out", help="also write the markdown table here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for arch, layer, side in CASES:
        steps = FULL_STEPS if arch == "lenet5" else args.steps  # LeNet-5 is cheap enough to time whole
        rows.append(measure(arch, layer, side, steps))
        print(rows[-1], file=sys.stderr)
    table = markdown(rows, args.steps)
    print(table)
    if args.out:
        Path(args.out).write_text(table)


if __name__ == "__main__":
    main()
