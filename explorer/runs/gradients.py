"""Gradients with respect to the input pixels: saliency, SmoothGrad, and one unit's effective receptive field.

- Saliency (Simonyan, Vedaldi & Zisserman, 2014): how much each pixel moves the class
  score, |∂score/∂pixel|, the largest over the colour channels.
- SmoothGrad (Smilkov et al., 2017): the same, averaged over copies of the picture with
  Gaussian noise added (15 % of its range), which removes much of the speckle.
- Effective receptive field (Luo et al., 2016): |∂unit/∂pixel| for one position of one
  channel of a layer, summed over the colour channels. It lies inside the theoretical
  receptive field and is strongest near its centre.

Written directly rather than through captum: each is a forward pass and one
``torch.autograd.grad`` on a private view of the shared model (no weight needs a
gradient, only the input), and torch's own autograd is the reference they rest on.
"""

from __future__ import annotations

import torch
from torch import nn

from explorer.core.registry import ArchSpec
from explorer.runs.attribution import RUNNING, Attribution, scaled
from explorer.runs.layer_choice import check_class, split_call
from explorer.runs.private_views import lent_view

SMOOTH_SAMPLES = 16
SMOOTH_NOISE = 0.15  # of the input's range (max − min), Smilkov et al.'s 10–20 %
_SMOOTH_BATCH = 2  # noisy copies per pass: the pages check a batch of two against the memory budget


def _logits_and_gradient(view: nn.Module, x: torch.Tensor, target: int | None) -> tuple[torch.Tensor, torch.Tensor, int]:
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        logits = view(x)
        chosen = int(logits[0].argmax()) if target is None else target
        (gradient,) = torch.autograd.grad(logits[:, chosen].sum(), x)
    return logits.detach(), gradient, chosen


def saliency(spec: ArchSpec, model: nn.Module, tensor: torch.Tensor, target: int | None = None,
             smooth: bool = False, samples: int = SMOOTH_SAMPLES, seed: int = 0) -> Attribution:
    """The input-gradient map of class ``target`` (default: the predicted one), values 0…1 at the input's size."""
    if target is not None:
        target = check_class(spec, target)
    device = next(model.parameters()).device
    with RUNNING, lent_view(spec, model) as view:
        x = tensor[:1].to(device)
        logits, gradient, chosen = _logits_and_gradient(view, x, target)
        if not smooth:
            return Attribution("saliency", None, chosen, logits[0].float().cpu().numpy(),
                               scaled(gradient[0].abs().amax(dim=0)))
        generator = torch.Generator(device=device).manual_seed(seed)
        spread = SMOOTH_NOISE * float(x.max() - x.min())
        # All the noise drawn at once, so a seed names one set of noisy copies whatever the batch size.
        noise = torch.randn((samples, *x.shape[1:]), generator=generator, device=device) * spread
        total = torch.zeros(x.shape[2:], device=device)
        for start in range(0, samples, _SMOOTH_BATCH):
            _, noisy, _ = _logits_and_gradient(view, x + noise[start:start + _SMOOTH_BATCH], chosen)
            total += noisy.abs().amax(dim=1).sum(dim=0)
        return Attribution("smoothgrad", None, chosen, logits[0].float().cpu().numpy(), scaled(total / samples))


class _Reached(Exception):
    """Raised in a hook once the wanted layer has run: the rest of the pass is not needed."""


def unit_gradient(spec: ArchSpec, model: nn.Module, tensor: torch.Tensor, layer: str, channel: int,
                  row: int, column: int) -> torch.Tensor:
    """|∂(channel, row, column of ``layer``)/∂pixel|, summed over colour channels: an (H, W) float32 tensor.

    ``layer`` is a layer-table name, "(call n)" included; the position must be inside its
    output (``explorer.runs.layer_choice.check_unit`` says so in a sentence). The pass stops
    as soon as that layer has run.
    """
    module_name, wanted = split_call(layer)
    device = next(model.parameters()).device
    with RUNNING, lent_view(spec, model) as view:
        x = tensor[:1].to(device).detach().clone().requires_grad_(True)
        seen, picked = [0], []

        def hook(_module, _args, output):
            seen[0] += 1
            if seen[0] == wanted:
                picked.append(output[0, channel, row, column])
                raise _Reached

        handle = view.get_submodule(module_name).register_forward_hook(hook)
        try:
            with torch.enable_grad():
                view(x)
        except _Reached:
            pass
        finally:
            handle.remove()
        if not picked:
            raise ValueError(f"{layer} did not run")
        (gradient,) = torch.autograd.grad(picked[0], x)
        return gradient[0].abs().sum(dim=0).float().cpu()
