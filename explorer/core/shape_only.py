"""Shape-only models on PyTorch's "meta" device, and real weights put into them.

A model built under ``torch.device("meta")`` has parameters with shapes but no
storage: building it skips the random initialisation (instant even for VGG-19),
and running it costs no memory at any input size, so the layer table, the
parameter counts and the diagram trace one. Loading a state dict into such a
model with ``assign=True`` makes its parameters *be* the given tensors, without
a copy: that is how a network with loaded weights is made, and how a private
view shares the weights of the server's shared model.
"""

from __future__ import annotations

import torch
from torch import nn

from explorer.core.registry import ArchSpec

META = torch.device("meta")


def build_meta_model(spec: ArchSpec) -> nn.Module:
    """The architecture with shape-only parameters: instant to build, free to run."""
    with META:
        return spec.builder().eval()


def holding(spec: ArchSpec, state: dict[str, torch.Tensor]) -> nn.Module:
    """``spec``'s network whose parameters and buffers are exactly the tensors in ``state`` (not copies).

    Strict: every key and every shape must fit, or ``load_state_dict`` raises. A buffer
    outside the state dict would stay shape-only, so that is refused too.
    """
    model = build_meta_model(spec)
    model.load_state_dict(state, strict=True, assign=True)
    leftovers = [name for name, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if leftovers:
        raise RuntimeError(f"{spec.id}: no weights for {', '.join(leftovers[:3])}")
    return model
