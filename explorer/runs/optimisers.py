"""The optimisers and learning rates the training pages offer, and how large one update was.

Shared by the one-picture step (``explorer.runs.training``) and the learning run on
the digits (``explorer.runs.learning``): both make their optimiser here, refuse the
same learning rates in the same words, and measure ‖Δw‖/‖w‖ the same way, through
an ``UpdateMeter`` that keeps the weights from before the update (which is also
what lets a runaway update be undone).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from explorer.core.errors import UserError

OPTIMIZERS = {"sgd": "SGD", "momentum": "SGD with momentum 0.9", "adam": "Adam"}
LAB_LEARNING_RATE = 0.1
MOMENTUM = 0.9
# The pages' log scale in roughly half-decades; the top values exist to show what a giant step does.
RATES = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0, 1e3, 1e6, 1e9, 1e12)
SCRATCH_ELEMENTS = 1 << 18  # 1 MB of float32: a piece of the weights that stays in the cache


def check_optimizer(name: str) -> str:
    if name not in OPTIMIZERS:
        raise UserError(f"Choose one of the optimisers {', '.join(OPTIMIZERS)}.")
    return name


def check_learning_rate(rate: float) -> float:
    """``rate`` if it is a positive finite number, else one sentence (NaN, 0, negative, infinite)."""
    try:
        value = float(rate)
    except (TypeError, ValueError):
        value = float("nan")
    if not (math.isfinite(value) and value > 0):
        raise UserError(f"The learning rate must be a positive number; got {str(rate)[:20]!r}.")
    return value


def make_optimizer(name: str, params: list[nn.Parameter], rate: float) -> torch.optim.Optimizer:
    """A fresh optimiser (no momentum or running averages yet) over ``params``."""
    check_optimizer(name)
    if name == "adam":
        return torch.optim.Adam(params, lr=rate)
    return torch.optim.SGD(params, lr=rate, momentum=MOMENTUM if name == "momentum" else 0.0)


class UpdateMeter:
    """The weights from before an update, kept in one reused set of buffers, and what the update did to them."""

    def __init__(self) -> None:
        self.before: list[torch.Tensor] | None = None  # allocated at the first update, reused after
        self.scratch: torch.Tensor | None = None

    def remember(self, params: list[nn.Parameter]) -> None:
        """Copy the weights as they are now (call it just before ``optimizer.step()``)."""
        with torch.no_grad():
            if self.before is None:
                self.before = [torch.empty_like(p) for p in params]
            torch._foreach_copy_(self.before, params)

    def restore(self, params: list[nn.Parameter]) -> None:
        """Put back the weights ``remember`` kept: the update is undone."""
        with torch.no_grad():
            torch._foreach_copy_(params, self.before)

    @torch.no_grad()
    def squares(self, params: list[nn.Parameter]) -> tuple[torch.Tensor, torch.Tensor]:
        """‖w_before‖² and ‖w − w_before‖² per parameter tensor, read piece by piece through one small buffer.

        Subtracting whole tensors would allocate a fresh copy of every weight at each
        update (0.5 GB for VGG), whose page faults alone cost a good part of a step;
        pieces that fit in the cache also let both norms share one read of the old weights.
        A network whose weights fit in one piece (LeNet, the toys) takes three whole-list
        operations instead, as a loop of small operations costs more there than the data.
        """
        if sum(p.numel() for p in params) <= SCRATCH_ELEMENTS:
            updates = torch._foreach_sub(params, self.before)
            return (torch.stack(torch._foreach_norm(self.before)) ** 2,
                    torch.stack(torch._foreach_norm(updates)) ** 2)
        if self.scratch is None:
            largest = max(p.numel() for p in params)
            self.scratch = torch.empty(min(largest, SCRATCH_ELEMENTS), dtype=params[0].dtype, device=params[0].device)
        weights, updates = [], []
        for param, before in zip(params, self.before):
            new, old = param.reshape(-1), before.reshape(-1)
            weight, update = param.new_zeros(()), param.new_zeros(())
            for start in range(0, new.numel(), len(self.scratch)):
                piece = old[start:start + len(self.scratch)]
                difference = self.scratch[: len(piece)]
                torch.sub(new[start:start + len(piece)], piece, out=difference)
                weight += torch.dot(piece, piece)
                update += torch.dot(difference, difference)
            weights.append(weight)
            updates.append(update)
        return torch.stack(weights), torch.stack(updates)

    def tensors(self) -> list[torch.Tensor]:
        """What the meter holds, for memory accounting."""
        return [*(self.before or []), *([self.scratch] if self.scratch is not None else [])]
