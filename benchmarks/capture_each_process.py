"""The capture against a bare forward pass, each checkout in its own process, taking turns.

    .venv/bin/python benchmarks/capture_each_process.py BEFORE_DIR [--archs resnet18 alexnet] [--turns 3] [--rounds 41]

benchmarks/bench_ratios_before_after.py imports two versions side by side in one process; their
reused copy buffers and the allocator then serve both, and the older version's figures moved by
several hundredths from run to run. Here every turn starts one process per checkout (``BEFORE_DIR``,
then this one), which builds the network (seed 0), and times, with one torch thread and its own CPU
clock, a bare forward pass and a capture on a private view, alternating, ``--rounds`` times.
Printed: each process's medians and its ratio, so that before and after are compared turn by turn.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Run in the child, with the checkout first on sys.path.
CHILD = """
import statistics, sys, time, torch
torch.set_num_threads(1)
from explorer.core.registry import get_spec
from explorer.runs import capture
spec = get_spec(sys.argv[1])
torch.manual_seed(0)
model = spec.build().requires_grad_(False)
x = torch.randn(1, spec.in_channels, spec.default_size, spec.default_size)
def forward():
    with torch.no_grad():
        model(x)
def captured():
    capture.run_on_image(spec, model, x)
for _ in range(3):
    forward(); captured()
bare, hooked = [], []
for _ in range(int(sys.argv[2])):
    start = time.process_time(); forward(); bare.append(time.process_time() - start)
    start = time.process_time(); captured(); hooked.append(time.process_time() - start)
f, c = statistics.median(bare), statistics.median(hooked)
print(f"{f * 1e3:.1f} {c * 1e3:.1f} {c / f:.3f}")
"""


def one(checkout: Path, arch: str, rounds: int) -> list[str]:
    result = subprocess.run([sys.executable, "-c", CHILD, arch, str(rounds)], cwd=checkout, check=True,
                            capture_output=True, text=True, env={"PYTHONPATH": str(checkout), "PATH": "/usr/bin:/bin"})
    return result.stdout.split()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("--archs", nargs="+", default=["resnet18", "alexnet"])
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=41)
    args = parser.parse_args()
    print("| arch | turn | before: forward ms, capture ms (×) | after: forward ms, capture ms (×) |")
    print("|---|---:|---|---|")
    for arch in args.archs:
        for turn in range(1, args.turns + 1):
            old = one(Path(args.before).resolve(), arch, args.rounds)
            new = one(ROOT, arch, args.rounds)
            print(f"| {arch} | {turn} | {old[0]}, {old[1]} (**{old[2]}**) | {new[0]}, {new[1]} (**{new[2]}**) |",
                  flush=True)


if __name__ == "__main__":
    main()
