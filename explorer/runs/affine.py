"""A batch norm's output described through its input's reduction, without a second pass over its values.

In eval mode a ``BatchNorm2d`` maps each channel through ``x · scale + shift`` with fixed numbers. Where
its input was kept with every channel's map (``explorer.runs.reduction.keeps_every_map``), what the page
shows of the batch norm's output follows from what was kept of its input:

- a channel's min and max are ``scale · min + shift`` and ``scale · max + shift`` (swapped where
  ``scale < 0``), its mean ``scale · mean + shift``;
- its block means, quantised against its own min and max, are the same uint8 steps (``255 − q`` where
  ``scale < 0``, 0 where ``scale = 0``), so the maps are shared, not copied, where no scale is negative.

Only the exact zeros need the output itself: the hook counts them. In ResNet-18 at 224×224 this covers
ten of its twenty batch norms (those of at most 128 channels, the largest outputs): the reduction after
the pass went from 6.7–6.9 to 5.8–6.1 ms (each version in its own process, one thread), and what a
picture keeps from 5.2 to 3.7 MB, since a batch norm's maps are its convolution's. The numbers equal a
direct reduction's to float32 rounding (tests/test_reduction.py compares both with numpy). A batch norm
with another forward hook (an intervention that changes its output) or without running statistics is
reduced directly.
"""

from __future__ import annotations

import dataclasses
import weakref

import numpy as np
import torch
from torch import nn

from explorer.runs.capture_results import LayerOutput, LayerStats


@dataclasses.dataclass(eq=False)
class Affine:
    """What a capture keeps of a batch norm's output: its input's kept data, its module and its nonzero count."""

    source: object  # what the input's call kept: a dict reduced in its hook, or a deferred slot
    module: nn.BatchNorm2d
    nonzero: int

    @staticmethod
    def applies(module: nn.Module) -> bool:
        """Whether ``module``'s output is its input's through fixed per-channel numbers, seen by our hook alone.

        torch has no public way to count a module's forward hooks; ``_forward_hooks`` is its own dict of them
        (a torch without it: every batch norm is reduced directly).
        """
        hooks = getattr(module, "_forward_hooks", None)
        return (type(module) is nn.BatchNorm2d and not module.training and module.running_mean is not None
                and hooks is not None and len(hooks) == 1)

    def layer(self, source: LayerOutput, index: int, name: str, kind: str, depth: int,
              shape: tuple) -> LayerOutput:
        """The batch norm's ``LayerOutput`` from its input's (``source``)."""
        scale, shift = _scale_and_shift(self.module)
        first, second = scale * source.map_low + shift, scale * source.map_high + shift
        low, high = np.minimum(first, second).astype(np.float32), np.maximum(first, second).astype(np.float32)
        means = (scale * source.channel_means + shift).astype(np.float32)
        channels, values = len(means), int(np.prod(shape[1:]))
        stats = LayerStats(float(low.min()), float(high.max()), float(np.add.reduce(means) / channels),
                           1 - self.nonzero / values, int(np.count_nonzero((low == 0) & (high == 0))), channels)
        maps = source.maps
        if np.any(scale <= 0):  # flipped where the scale is negative, one step (0) where it is 0
            maps = np.where((scale < 0)[:, None, None], 255 - maps, maps)
            maps[scale == 0] = 0
        return dataclasses.replace(source, index=index, name=name, type=kind, depth=depth, shape=shape, stats=stats,
                                   channel_means=means, maps=maps, map_low=low, map_high=high)


# Each batch norm's scale and shift, by module, with what they were made from: the views a capture borrows
# are kept for reuse (explorer.runs.private_views), so later captures find them here (ResNet-18: 0.25 ms of
# torch calls per capture saved). Training changes its tensors in place, which bumps their versions.
_made: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _scale_and_shift(module: nn.BatchNorm2d) -> tuple[np.ndarray, np.ndarray]:
    """Each channel's scale and shift as eval-mode batch norm computes them, in float32, widened to float64."""
    tensors = (module.running_mean, module.running_var, module.weight, module.bias)
    # The tensors themselves (a tensor put in their place is seen, even at a freed one's address), where their
    # values live, and their in-place versions.
    made_from = (module.eps, *((t.data_ptr(), t._version) if t is not None else None for t in tensors))
    known = _made.get(module)
    if known is not None and known[0] == made_from and all(a is b for a, b in zip(known[1], tensors)):
        return known[2]
    with torch.no_grad():
        mean, variance = module.running_mean.float(), module.running_var.float()
        weight = module.weight.float() if module.weight is not None else torch.ones_like(mean)
        bias = module.bias.float() if module.bias is not None else torch.zeros_like(mean)
        scale = weight / torch.sqrt(variance + module.eps)
        shift = bias - mean * scale
    made = scale.cpu().numpy().astype(np.float64), shift.cpu().numpy().astype(np.float64)
    for array in made:
        array.setflags(write=False)  # shared by later captures
    _made[module] = (made_from, tensors, made)
    return made
