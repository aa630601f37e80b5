"""What the training page's step costs next to a bare PyTorch step of the same model.

    python benchmarks/bench_training.py [--archs lenet5 resnet18 vgg11] [--size N] [--rounds 7] [--steps 5]

For each architecture, in one process, with the same weights and the same batch,
interleaved round by round so that a busy machine slows every variant alike:

- bare:  ``zero_grad``, forward, cross-entropy, ``backward()``, ``optimizer.step()``
         on a plain copy, and ``loss.item()`` (one sync, as any training loop has);
- step:  ``Trainer.take_steps(count=1)``: the same step plus gradient norms, the
         copy of the last finite weights, ‖Δw‖/‖w‖, the first filters, and the
         extra forward pass that measures the loss "after";
- run:   ``Trainer.take_steps(count=N)`` divided by N: the "Take N steps" button,
         where each step's "after" is the next step's own forward pass.

The batch is what the page feeds: the picture, plus its mirror image for networks
with BatchNorm (see explorer/training.py). The private copy is made before timing.
Medians are printed with their ratios to the bare step.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
from pathlib import Path

import torch
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_capture import _time  # noqa: E402  (this folder is on the path when a script here runs)
from explorer.registry import get_spec  # noqa: E402
from explorer.training import Trainer  # noqa: E402


def bench(arch_id: str, size: int | None, rounds: int, steps: int, device: str) -> None:
    torch.manual_seed(0)
    spec = get_spec(arch_id)
    side = size or spec.default_size
    source = spec.build(device).requires_grad_(False)
    image = torch.randn(1, spec.in_channels, side, side, device=device)
    trainer = Trainer(spec, source, "sgd", 1e-4)
    batch = trainer.batch(image)
    target = torch.zeros(len(batch), dtype=torch.long, device=device)

    # The bare loop gets the same modes as the trainer's copy (BatchNorm on batch statistics, dropout off).
    bare = copy.deepcopy(trainer.model)
    bare.train()
    for module in bare.modules():
        if isinstance(module, torch.nn.Dropout):
            module.eval()
    optimizer = torch.optim.SGD(bare.parameters(), lr=1e-4)

    def bare_step() -> None:
        optimizer.zero_grad(set_to_none=True)
        output = bare(batch)
        logits = output[0] if isinstance(output, tuple) else output
        loss = F.cross_entropy(logits, target)
        loss.backward()
        optimizer.step()
        loss.item()

    variants = {
        "bare": bare_step,
        "step": lambda: trainer.take_steps(image, 0, 1),
        f"run/{steps}": lambda: trainer.take_steps(image, 0, steps),
    }
    for function in variants.values():  # warm-up: allocations, the trainer's weight buffer
        function()
    times = {name: [] for name in variants}
    for _ in range(rounds):
        for name, function in variants.items():
            times[name].append(_time(function))
    times[f"run/{steps}"] = [t / steps for t in times[f"run/{steps}"]]
    medians = {name: statistics.median(values) for name, values in times.items()}
    cells = "  ".join(f"{name} {seconds * 1000:8.2f} ms ({seconds / medians['bare']:.2f}×)"
                      for name, seconds in medians.items())
    print(f"{arch_id:<12} {len(batch)}×{spec.in_channels}×{side}×{side}  {cells}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", nargs="+", default=["lenet5", "resnet18", "vgg11"])
    parser.add_argument("--size", type=int, default=None, help="square input side (default: each network's own)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}; medians of {args.rounds}")
    for arch_id in args.archs:
        bench(arch_id, args.size, args.rounds, args.steps, args.device)


if __name__ == "__main__":
    main()
