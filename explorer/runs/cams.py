"""Class activation maps (Grad-CAM, Grad-CAM++, LayerCAM, Score-CAM) with torchcam, on a private view.

torchcam (https://github.com/frgfm/torch-cam) is used rather than pytorch-grad-cam: it
needs only torch, numpy and matplotlib (pytorch-grad-cam pulls in OpenCV and more), its
extractors remove their hooks when their ``with`` block ends, and it has the four
methods the page offers. Everything runs on a private view of the shared model
(``explorer.runs.private_views``), so no other student's pass ever meets these hooks.

torchcam 0.5's own Grad-CAM++ is not the published one (its α is never divided, see
``explorer.runs.gradcam_pp``), so Grad-CAM++ comes from a subclass that is. Score-CAM is
torchcam's, which is the paper's Algorithm 1: the channels' weights are a softmax over the
channels of the class score on each masked picture (the same as a softmax of its rise over
the unmasked picture). The authors' released code differs: it weights each map by the
class's softmax probability, over the classes, on its masked picture. Each method's
published form is in ``explorer.runs.attribution.PUBLISHED``.

Two traps are handled here:

- An in-place operation right after the hooked layer (AlexNet's and VGG's
  ``ReLU(inplace=True)``, Inception's ``F.relu(x, inplace=True)`` after each batch norm)
  would overwrite the activation torchcam keeps and move its gradient past the ReLU. A
  hook after torchcam's passes a copy on, so the kept tensor stays the layer's own output.
- Score-CAM runs the network once per channel of the layer (512 passes at ResNet-18's
  layer4). It is given a batch size that bounds its memory and reports its progress
  after every batch, so a page can show a bar and the time left.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable

import torch
from torch import nn
from torchcam.methods import GradCAM, LayerCAM, ScoreCAM

from explorer.analysis.summary import LayerTable
from explorer.core.errors import UserError
from explorer.core.registry import ArchSpec
from explorer.runs.attribution import RUNNING, Attribution, scaled
from explorer.runs.gradcam_pp import GradCAMPlusPlus
from explorer.runs.layer_choice import check_class, check_map_layer
from explorer.runs.private_views import lent_view

Progress = Callable[[int, int], None]  # (passes done, passes in all)
# Score-CAM holds the processor for up to minutes: one at a time per server, and apart from the
# two slots that every other pass shares (explorer.runs.attribution.RUNNING), so it never holds
# up the other students' feature maps.
SCORE_CAM_RUNNING = threading.BoundedSemaphore(1)
BUSY = "Another Score-CAM is running on this server just now; try again in a minute, or use Grad-CAM, which needs one pass."


class _ScoreCAMWithProgress(ScoreCAM):
    """torchcam's Score-CAM, telling ``progress`` after each batch of masked pictures."""

    def __init__(self, *args, progress: Progress | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._progress, self._done = progress, 0

    def _score_input(self, input_tensor, *args):  # called once per batch of masked inputs
        scores = super()._score_input(input_tensor, *args)
        self._done += len(input_tensor)
        if self._progress is not None:
            self._progress(self._done, self._total)
        return scores

    def _get_weights(self, class_idx, *args, **kwargs):
        self._total = int(self.hook_a[0].shape[0] * self.hook_a[0].shape[1])
        return super()._get_weights(class_idx, *args, **kwargs)


_EXTRACTORS = {"gradcam": GradCAM, "gradcampp": GradCAMPlusPlus, "layercam": LayerCAM, "scorecam": _ScoreCAMWithProgress}


@contextlib.contextmanager
def _copy_after(module: nn.Module):
    """Pass a copy of ``module``'s output on, so in-place operations after it leave the hooked one alone."""
    handle = module.register_forward_hook(lambda _m, _a, output: output.clone())
    try:
        yield
    finally:
        handle.remove()


def class_activation_map(spec: ArchSpec, model: nn.Module, tensor: torch.Tensor, table: LayerTable, method: str,
                         layer: str, target: int | None = None, progress: Progress | None = None,
                         batch_size: int = 8) -> Attribution:
    """The ``method`` map of class ``target`` (default: the predicted one) at ``layer``, values 0…1.

    ``model`` may be the shared model: only a private view of it is hooked. ``table`` is the
    layer table at the tensor's size (the layer is checked against it before anything runs).
    """
    if method not in _EXTRACTORS:
        raise ValueError(f"unknown CAM method {method!r}")
    layer = check_map_layer(spec, table, layer)
    if target is not None:
        target = check_class(spec, target)
    device = next(model.parameters()).device
    slot = SCORE_CAM_RUNNING if method == "scorecam" else RUNNING
    if not slot.acquire(blocking=method != "scorecam"):
        raise UserError(BUSY)
    try:
        return _run(spec, model, tensor.to(device), method, layer, target, progress, batch_size)
    finally:
        slot.release()


def _run(spec, model, x, method, layer, target, progress, batch_size) -> Attribution:
    with lent_view(spec, model) as view:
        options = {"batch_size": batch_size, "progress": progress} if method == "scorecam" else {}
        with _EXTRACTORS[method](view, target_layer=layer, input_shape=tuple(x.shape[1:]), **options) as extractor:
            with _copy_after(view.get_submodule(layer)):
                if method == "scorecam":
                    with torch.no_grad():
                        scores = view(x)
                else:
                    with torch.enable_grad():
                        scores = view(x.clone().requires_grad_(True))  # no weight needs a gradient: the input does
                chosen = int(scores[0].argmax()) if target is None else target
                cam = extractor(class_idx=chosen, scores=scores)[0][0]
        # torchcam scales each map to 0…1 with an epsilon that shows when every value is tiny
        # (random weights): dividing by the largest once more makes the top exactly 1.
        return Attribution(method, layer, chosen, scores[0].detach().float().cpu().numpy(), scaled(cam))


def time_one_pass(spec: ArchSpec, model: nn.Module, tensor: torch.Tensor, rounds: int = 3) -> float:
    """Seconds one plain forward pass takes here (the faster of ``rounds``): Score-CAM's unit of cost."""
    device = next(model.parameters()).device
    best = float("inf")
    with RUNNING, lent_view(spec, model) as view, torch.no_grad():
        x = tensor.to(device)
        for _ in range(rounds):
            start = time.perf_counter()
            view(x)
            best = min(best, time.perf_counter() - start)
    return best
