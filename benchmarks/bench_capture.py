"""How much capturing every layer costs, next to a bare forward pass, and what it keeps.

    python benchmarks/bench_capture.py [--archs resnet18 alexnet] [--rounds 9] [--threads N] [--device cpu]

For each architecture, in one process, on the same input and the same weights,
interleaved round by round so that a busy machine slows every variant alike:

- bare:    ``model(x)`` under no_grad, no hooks;
- record:  the forward pass with the hooks that copy every call's output
           (what "capturing every layer" adds to the pass itself);
- capture: record plus the reduction to statistics and display-size uint8 maps,
           i.e. everything the page waits for on a cache miss.

Medians are printed with their ratios to the bare pass. Then the time to redraw
a 64-channel grid (no forward pass), and the bytes kept for one picture through
ResNeXt-101 32×8d at 224×224, the largest network the app offers.
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from explorer import capture, feature_grid  # noqa: E402
from explorer.registry import get_spec  # noqa: E402


def _time(function) -> float:
    start = time.perf_counter()
    function()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start


def compare(arch_id: str, rounds: int, device: str) -> dict:
    spec = get_spec(arch_id)
    torch.manual_seed(0)
    model = spec.build(device).requires_grad_(False)
    x = torch.randn(1, spec.in_channels, spec.default_size, spec.default_size, device=device)

    def bare():
        with torch.no_grad():
            model(x)

    variants = {"bare": bare, "record": lambda: capture.record(model, x), "capture": lambda: capture.capture(model, x)}
    for function in variants.values():  # warm-up: first-call allocations and kernel choices
        function()
    times = {name: [] for name in variants}
    for _ in range(rounds):
        for name, function in variants.items():
            times[name].append(_time(function))
    medians = {name: statistics.median(values) for name, values in times.items()}
    return {"arch": arch_id, **medians}


def grid_redraw_ms(rounds: int) -> float:
    torch.manual_seed(0)
    model = get_spec("resnet18").build().requires_grad_(False)
    result = capture.capture(model, torch.randn(1, 3, 224, 224))
    layer = next(layer for layer in result.layers if layer.name == "layer1.0.conv1")  # 64 channels of 56×56
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        channels = layer.ordered_channels("strongest", 64)
        feature_grid.channel_grid(layer.channel_maps(channels), "Viridis", per_channel=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def kept_bytes(arch_id: str = "resnext101_32x8d") -> tuple[int, int, int]:
    spec = get_spec(arch_id)
    torch.manual_seed(0)
    model = spec.build().requires_grad_(False)
    result = capture.capture(model, torch.randn(1, 3, 224, 224))
    return result.nbytes, len(pickle.dumps(result)), len(result.layers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", nargs="+", default=["resnet18", "alexnet", "vgg11", "lenet5"])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's own)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--skip-resnext", action="store_true")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, device {args.device}, "
          f"{args.rounds} interleaved rounds, medians")
    print(f"{'architecture':<18} {'bare ms':>9} {'record ms':>10} {'ratio':>6} {'capture ms':>11} {'ratio':>6}")
    for arch_id in args.archs:
        row = compare(arch_id, args.rounds, args.device)
        print(f"{arch_id:<18} {row['bare'] * 1000:>9.1f} {row['record'] * 1000:>10.1f} "
              f"{row['record'] / row['bare']:>6.2f} {row['capture'] * 1000:>11.1f} {row['capture'] / row['bare']:>6.2f}")
    print(f"64-channel grid redraw (no forward pass): {grid_redraw_ms(args.rounds * 3):.1f} ms median")
    if not args.skip_resnext:
        nbytes, pickled, calls = kept_bytes()
        print(f"resnext101_32x8d at 224×224: {calls} calls kept in {nbytes / 1e6:.1f} MB of arrays "
              f"({pickled / 1e6:.1f} MB pickled, as st.cache_data stores it)")


if __name__ == "__main__":
    main()
