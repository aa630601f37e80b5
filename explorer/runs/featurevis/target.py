"""The unit a render aims at: a layer's output read before its ReLU, with the forward pass stopped there.

- **Before the ReLU.** After a ReLU every negative value is 0 and its gradient too, so a
  render that starts grey (where most units are negative) never moves. The value kept
  is the input of the last ReLU the chosen layer calls, where its output is that
  ReLU's: a convolution or batch norm followed by ``features.4`` reads the convolution's
  output, ResNet's ``layer3`` reads the sum of its last block before ``relu (call 2)``.
  In-place ReLUs (AlexNet, VGG, ResNet) overwrite that input, so it is cloned first.
- **Stopping early.** Nothing after the target layer matters to the objective, so a
  forward hook raises a private exception carrying the output, and the rest of the
  network never runs. ``benchmarks/bench_microscope.py`` measures what that saves.
- ``logits`` names the network's own output ("what a cat looks like to ResNet-18").
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import functools

import torch
from torch import nn

from explorer.core.errors import UserError
from explorer.core.registry import ArchSpec
from explorer.core.shape_only import build_meta_model

LOGITS = "logits"


class _Reached(Exception):
    """Raised inside the forward pass once the target layer has produced its output."""

    def __init__(self, value: torch.Tensor) -> None:
        super().__init__("target layer reached")
        self.value = value


def find_layer(model: nn.Module, name: str) -> nn.Module:
    """The module called ``name`` (the layer table's dotted names, or ``logits``), or one sentence."""
    if name == LOGITS:
        return model
    modules = dict(model.named_modules())
    if name and name in modules:
        return modules[name]
    near = difflib.get_close_matches(str(name), [n for n in modules if n], n=1)
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    raise UserError(f"This network has no layer called {str(name)[:60]!r}{hint}; use a name from the layer "
                    f"table, or {LOGITS!r}.")


def private_copy(model: nn.Module) -> nn.Module:
    """A copy to hook and run, in eval mode with its weights frozen: the caller's model is never touched.

    Frozen weights mean the backward pass computes the gradient of the picture alone.
    """
    twin = copy.deepcopy(model).eval()
    for parameter in twin.parameters():
        parameter.requires_grad_(False)
    return twin


@contextlib.contextmanager
def reading(model: nn.Module, layer: str, stop: bool = True):
    """While open, yields ``run(x)``: the output of ``layer`` before its ReLU, for ``x``.

    Hooks are added to ``model`` (use a ``private_copy``) and removed when the block ends.
    With ``stop=False`` the whole network runs (for measuring what stopping saves).
    """
    target = find_layer(model, layer)
    seen: dict[str, torch.Tensor | None] = {"before": None, "after": None, "value": None}

    def before_relu(module: nn.ReLU, args) -> None:
        seen["before"] = args[0].clone() if module.inplace else args[0]

    def after_relu(module, args, output) -> None:
        seen["after"] = output

    def at_target(module, args, output) -> None:
        value = seen["before"] if seen["after"] is output and seen["before"] is not None else output
        if stop and module is not model:
            raise _Reached(value)
        seen["value"] = value

    handles = []
    try:
        for module in target.modules():
            if isinstance(module, nn.ReLU):
                handles += [module.register_forward_pre_hook(before_relu), module.register_forward_hook(after_relu)]
        handles.append(target.register_forward_hook(at_target))

        def run(x: torch.Tensor) -> torch.Tensor:
            seen.update(before=None, after=None, value=None)
            try:
                model(x)
            except _Reached as reached:
                return reached.value
            return seen["value"]

        yield run
    finally:
        for handle in handles:
            handle.remove()


def unit_mean(output: torch.Tensor, channel: int) -> torch.Tensor:
    """One value per picture: channel ``channel``'s mean over its positions (or the unit, after flattening)."""
    picked = output[:, channel]
    return picked.flatten(1).mean(1) if picked.dim() > 1 else picked


def unit_best(output: torch.Tensor, channel: int) -> torch.Tensor:
    """One value per picture: the highest unit of channel ``channel`` (what a dataset example is ranked by)."""
    picked = output[:, channel]
    return picked.flatten(1).amax(1) if picked.dim() > 1 else picked


def output_shape(model: nn.Module, layer: str, in_channels: int, side: int) -> tuple[int, ...]:
    """The shape of ``layer``'s output for one picture of ``side`` pixels, or one sentence if it cannot run there."""
    twin = private_copy(model)
    device = next(twin.parameters()).device  # a shape-only (meta) model reads a shape-only picture
    try:
        with reading(twin, layer) as run, torch.no_grad():
            return tuple(run(torch.zeros(1, in_channels, side, side, device=device)).shape[1:])
    except RuntimeError as error:  # a fully-connected layer expecting another input size
        raise UserError(
            f"The layer {layer!r} cannot be reached from a {side}-pixel picture: the layers before it take "
            f"another size, so choose the network's own input size."
        ) from error


@functools.lru_cache(maxsize=256)
def layer_shape(spec: ArchSpec, layer: str, side: int) -> tuple[int, ...]:
    """``output_shape`` worked out on the meta device: no copy of real weights, no arithmetic, cached.

    The channel page asks for a layer's shape on every rerun; copying VGG-16's 528 MB of weights
    and running them for a shape would cost more than the page itself.
    """
    return output_shape(build_meta_model(spec), layer, spec.in_channels, side)
