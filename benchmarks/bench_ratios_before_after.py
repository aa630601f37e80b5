"""The capture and the layer table against their bare references, old code and new, alternating in one process.

    .venv/bin/python benchmarks/bench_ratios_before_after.py BEFORE_DIR [--archs resnet18 alexnet] [--rounds 21]

``BEFORE_DIR`` is another checkout of the app (``git archive main | tar -x -C DIR``). Both
versions of ``explorer`` are imported side by side (the old one first, under its own module
objects), and every round times, with one torch thread and this process's CPU clock: a bare
forward pass, the old capture, the new capture, torchinfo's own summary, the old layer table
and the new one. Medians; the ratios are each version's median over the bare one's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def load(root: Path):
    """``explorer``'s capture and summary modules as found under ``root``."""
    for name in [name for name in sys.modules if name == "explorer" or name.startswith("explorer.")]:
        del sys.modules[name]
    sys.path.insert(0, str(root))
    try:
        from explorer.analysis import summary
        from explorer.core.registry import get_spec
        from explorer.core.sizes import InputSize
        from explorer.runs import capture
    finally:
        sys.path.remove(str(root))
    return capture, summary, get_spec, InputSize


def measure(before: Path, arch: str, rounds: int) -> dict[str, float]:
    import torchinfo
    from torchinfo.torchinfo import clear_cached_forward_pass

    old_capture, old_summary, old_spec, old_size = load(before)
    capture, summary, get_spec, InputSize = load(ROOT)
    from explorer.core.shape_only import META, build_meta_model

    spec = get_spec(arch)
    size = InputSize(spec.default_size, spec.default_size, 1)
    torch.manual_seed(0)
    model = spec.build().requires_grad_(False)
    x = torch.randn(size.shape(spec))

    def bare_forward() -> None:
        with torch.no_grad():
            model(x)

    def bare_summary() -> None:
        torchinfo.summary(build_meta_model(spec), input_size=size.shape(spec), device=META,
                          depth=summary._ALL_DEPTHS, mode="eval", verbose=0)
        clear_cached_forward_pass()

    variants = {
        "forward": bare_forward,
        "capture before": lambda: old_capture.run_on_image(old_spec(arch), model, x),
        "capture after": lambda: capture.run_on_image(spec, model, x),
        "torchinfo": bare_summary,
        "table before": lambda: old_summary.summarize(arch, old_size(size.height, size.width, 1)),
        "table after": lambda: summary.summarize(arch, size),
    }
    for function in variants.values():
        function()
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, function in variants.items():
            start = time.process_time()
            function()
            times[name].append(time.process_time() - start)
    return {name: statistics.median(values) * 1e3 for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("--archs", nargs="+", default=["resnet18", "alexnet"])
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("| arch | forward ms | capture before ms (×) | capture after ms (×) | torchinfo ms "
          "| table before ms (×) | table after ms (×) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for arch in args.archs:
        m = measure(Path(args.before).resolve(), arch, args.rounds)
        f, t = m["forward"], m["torchinfo"]
        print(f"| {arch} | {f:.1f} | {m['capture before']:.1f} ({m['capture before'] / f:.2f}) "
              f"| {m['capture after']:.1f} ({m['capture after'] / f:.2f}) | {t:.1f} "
              f"| {m['table before']:.1f} ({m['table before'] / t:.2f}) | {m['table after']:.1f} "
              f"({m['table after'] / t:.2f}) |", flush=True)


if __name__ == "__main__":
    main()
