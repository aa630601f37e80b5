"""Where a capture's time goes: a bare forward pass against the same pass with ever more work in its hooks.

    .venv/bin/python benchmarks/capture_floor.py [--archs resnet18 vgg11 alexnet] [--threads 1] [--rounds 7]

For each network at its default input, interleaved round by round, this process's CPU time of:

1. the bare forward pass (eval, no_grad);
2. the same pass with a pre-hook and a forward hook on every module that do nothing
   (the price of seeing every call at all);
3. hooks that compute only the exact statistics the page shows of each distinct output
   (per-channel min, max and sum, and the count of exact zeros: four reads of the output,
   the least that gives those numbers exactly);
4. the app's capture (``explorer.runs.capture.run_on_image``: the statistics, the kept
   channels at display size, quantised to uint8, on a private view).

If (3) alone is over 1.2× the bare pass, the capture target cannot be met on this machine
without giving up exact statistics. Medians of the rounds; nothing fails on slow numbers.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from explorer.cli.bench import machine  # noqa: E402
from explorer.core.registry import get_spec  # noqa: E402
from explorer.runs import capture  # noqa: E402
from explorer.weights import loading  # noqa: E402


def hooked(model, hook) -> list:
    handles = []
    for module in model.modules():
        if module is not model:
            handles.append(module.register_forward_pre_hook(lambda m, a: None))
            handles.append(module.register_forward_hook(hook))
    return handles


def nothing(module, args, output) -> None:
    return None


def statistics_only(module, args, output) -> None:
    if isinstance(output, torch.Tensor) and output.dim() > 1:
        first = output[0].reshape(output.shape[1], -1)
        first.amin(dim=1), first.amax(dim=1), first.sum(dim=1)
        np.count_nonzero(first.numpy() != 0)


def measure(arch_id: str, rounds: int) -> dict[str, float]:
    spec = get_spec(arch_id)
    model = loading.build(spec, "random", "cpu").requires_grad_(False).eval()
    x = torch.randn(1, spec.in_channels, spec.default_size, spec.default_size)

    def run(hook):
        def go():
            handles = hooked(model, hook) if hook else []
            try:
                with torch.no_grad():
                    model(x)
            finally:
                for handle in handles:
                    handle.remove()
        return go

    variants = {"bare": run(None), "empty hooks": run(nothing), "exact statistics": run(statistics_only),
                "capture": lambda: capture.run_on_image(spec, model, x)}
    for function in variants.values():
        function()
    times = {name: [] for name in variants}
    for _ in range(rounds):
        for name, function in variants.items():
            start = time.process_time()
            function()
            times[name].append(time.process_time() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", nargs="+", default=["resnet18", "alexnet", "vgg11"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"Machine: {machine()}; {args.threads} torch thread(s), CPU time, medians of {args.rounds} rounds.\n")
    print("| arch | bare forward ms | + empty hooks | + exact statistics only | capture (the app's) |")
    print("|---|---:|---:|---:|---:|")
    for arch_id in args.archs:
        m = measure(arch_id, args.rounds)
        bare = m["bare"]
        cells = [f"{m[name] * 1e3:.1f} ({m[name] / bare:.2f}×)" for name in ("empty hooks", "exact statistics", "capture")]
        print(f"| {arch_id} | {bare * 1e3:.1f} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
