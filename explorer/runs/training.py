"""One optimiser step on a private copy of a network, measured: the lab's last exercise made visible.

The lab ends with forward, cross-entropy against a label, ``backward()`` and one
SGD step. ``Trainer`` does exactly that on its own ``copy.deepcopy`` of a model
(the server's shared model is only ever read) and reports what the step did in
a ``StepResult``: the loss and the class probabilities before and after, every
layer's gradient norm and relative update ‖Δw‖/‖w‖, and the first convolution's
filters before and after.

Networks that need care, and what is done about them:

- BatchNorm normalises with the statistics of the batch it sees, and one picture
  has no spread on a 1×1 map (Inception's auxiliary head, ResNets at small
  inputs), so a network with BatchNorm trains on a batch of two: the picture
  and its mirror image. Its running statistics are left as they were (the copy's
  BatchNorm layers stop tracking them), and the "before" and "after" passes use
  the same pair, so they compute the same function. The loss and probabilities
  reported are those of the picture itself; its scale and shift still learn.
- Dropout is off unless asked for; then the training pass drops units at random,
  while the loss "before" and "after" are always measured with dropout off.
- Inception v3 in training mode also returns auxiliary logits. As in its paper
  (Szegedy et al., 2015), the step minimises main loss + 0.4 × auxiliary loss;
  the loss reported is the main one, as the network's prediction uses only it.
  Below 299 pixels the auxiliary head's maps are too small to run, so the copy
  drops it and only the main loss is minimised.

A learning rate that makes the loss NaN or infinite raises ``Diverged`` (a
``UserError`` with one sentence) after putting the weights back to the last
state whose loss was finite.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.modules.batchnorm import _BatchNorm

from explorer.core.errors import UserError
from explorer.core.registry import ArchSpec
from explorer.inputs.samples import Sample
from explorer.runs.optimisers import (LAB_LEARNING_RATE, OPTIMIZERS, RATES, UpdateMeter, check_learning_rate,  # noqa: F401
                                      check_optimizer, make_optimizer)
from explorer.runs.step_result import Diverged, StepResult

AUX_WEIGHT = 0.4  # Inception v3 paper: auxiliary loss weighted by 0.4
# Inception v3's auxiliary head pools its 17×17 maps by 5 with stride 3 and then needs 5×5:
# below 299 pixels the maps are too small and training mode fails (inference never uses the head).
AUX_MIN_SIDE = 299
MAX_FILTERS = 64  # first-convolution filters kept per result; AlexNet and ResNets have exactly 64


def _first_conv(model: nn.Module) -> tuple[str, nn.Conv2d] | tuple[None, None]:
    # Module registration order matches forward order for the first convolution of every registered network.
    return next(((name, m) for name, m in model.named_modules() if isinstance(m, nn.Conv2d)), (None, None))


def drop_auxiliary_head(model: nn.Module, height: int, width: int) -> bool:
    """Switch off Inception's auxiliary head in a private copy where the input is too small for it."""
    if getattr(model, "AuxLogits", None) is None or min(height, width) >= AUX_MIN_SIDE:
        return False
    model.aux_logits, model.AuxLogits = False, None
    return True


class Trainer:
    """A private, trainable copy of ``source`` with its optimiser; ``source`` itself is never written to."""

    def __init__(self, spec: ArchSpec, source: nn.Module, optimizer: str = "sgd",
                 learning_rate: float = LAB_LEARNING_RATE, dropout: bool = False) -> None:
        self.spec = spec
        self._source = source  # the starting weights, read again on reset (no second private copy kept)
        self.model = copy.deepcopy(source).requires_grad_(True)
        self.device = next(self.model.parameters()).device
        self.steps_taken = 0
        self._index_parameters()
        self.batchnorm = [m for m in self.model.modules() if isinstance(m, _BatchNorm)]
        for module in self.batchnorm:
            # Batch statistics in every pass, running statistics never updated (see the module docstring).
            module.track_running_stats = False
        self.has_dropout = any(isinstance(m, nn.modules.dropout._DropoutNd) for m in self.model.modules())
        self._meter = UpdateMeter()  # the weights before the last step: for ‖Δw‖ and to undo a runaway step
        self.optimizer_name, self.learning_rate, self.dropout = "", learning_rate, dropout
        self.configure(optimizer, learning_rate, dropout)

    def _index_parameters(self) -> None:
        # Layers = modules that own parameters; each parameter knows the layer it belongs to.
        self._params: list[nn.Parameter] = []
        owners: list[int] = []
        self.layers: list[str] = []
        self.layer_types: list[str] = []
        for name, module in self.model.named_modules():
            own = list(module.parameters(recurse=False))
            if own:
                owners += [len(self.layers)] * len(own)
                self._params += own
                self.layers.append(name)
                self.layer_types.append(type(module).__name__)
        self._owner = torch.tensor(owners, device=self.device)
        self.first_conv_name, self._first_conv = _first_conv(self.model)
        self._first_conv_index = next(
            (i for i, p in enumerate(self._params) if self._first_conv is not None and p is self._first_conv.weight), None)

    def _fit_auxiliary_head(self, image: torch.Tensor) -> None:
        """Inception's auxiliary head cannot run on small inputs: drop it from the copy (once) and say so."""
        if drop_auxiliary_head(self.model, *image.shape[-2:]):
            self._index_parameters()
            self._meter = UpdateMeter()
            self.optimizer = self._make_optimizer(self.optimizer_name, self.learning_rate)

    # -- settings ---------------------------------------------------------------------------------

    def configure(self, optimizer: str, learning_rate: float, dropout: bool) -> None:
        """Change the settings; a different optimiser starts with empty state (no momentum yet)."""
        check_optimizer(optimizer)
        learning_rate = check_learning_rate(learning_rate)
        if optimizer != self.optimizer_name:
            self.optimizer = self._make_optimizer(optimizer, learning_rate)
            self.optimizer_name = optimizer
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate
        self.learning_rate, self.dropout = learning_rate, dropout

    def _make_optimizer(self, name: str, learning_rate: float) -> torch.optim.Optimizer:
        return make_optimizer(name, self._params, learning_rate)

    @property
    def source(self) -> nn.Module:
        """The read-only model this copy was made from (its starting weights)."""
        return self._source

    def reset(self) -> None:
        """Back to the starting weights, with a fresh optimiser and no steps taken."""
        start = self._source.state_dict()
        with torch.no_grad():
            for name, mine in self.model.state_dict().items():  # by name: the copy may have dropped a head
                mine.copy_(start[name])
        self.optimizer = self._make_optimizer(self.optimizer_name, self.learning_rate)
        self.steps_taken = 0

    # -- modes ------------------------------------------------------------------------------------

    def _mode(self, dropout: bool) -> None:
        self.model.train()
        if not dropout:
            for module in self.model.modules():
                if isinstance(module, nn.modules.dropout._DropoutNd):
                    module.eval()

    def batch(self, image: torch.Tensor) -> torch.Tensor:
        """What the network receives: the picture, and its mirror image where BatchNorm needs a pair."""
        x = image.to(self.device)
        return torch.cat([x, torch.flip(x, dims=[3])]) if self.batchnorm else x

    def _forward(self, batch: torch.Tensor, dropout: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        self._mode(dropout)
        output = self.model(batch)
        if isinstance(output, tuple):  # Inception v3 in training mode: InceptionOutputs(logits, aux_logits)
            return output[0], output[1]
        return output, None

    @torch.no_grad()
    def evaluate(self, image: torch.Tensor) -> torch.Tensor:
        """Main logits of the picture (1×classes), dropout off, as the step sees it."""
        return self._forward(self.batch(image), dropout=False)[0][:1]

    def _objective(self, batch: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        main, aux = self._forward(batch, self.dropout)
        targets = target.expand(len(batch))
        objective = F.cross_entropy(main, targets)
        if aux is not None:
            objective = objective + AUX_WEIGHT * F.cross_entropy(aux, targets)
        return main[:1], objective

    def _diverged(self, value: float, results: list[StepResult], restored: bool) -> Diverged:
        what = "NaN (not a number)" if math.isnan(value) else "infinite"
        back = "the weights went back to their last finite values" if restored else "nothing was changed"
        return Diverged(
            f"The loss became {what} at step {self.steps_taken + 1} with learning rate {self.learning_rate:g}, "
            f"so training stopped and {back}; try a smaller learning rate.", results)

    def _restore_last_finite(self) -> None:
        self._meter.restore(self._params)
        # Momentum and Adam's averages now hold the runaway step: start them afresh.
        self.optimizer = self._make_optimizer(self.optimizer_name, self.learning_rate)

    def take_steps(self, image: torch.Tensor, target: int, count: int = 1,
                   on_step: Callable[[StepResult], None] | None = None) -> list[StepResult]:
        """``count`` steps on one picture (1×C×H×W) towards class ``target``; one result per step.

        The pass that starts step k+1 also measures the loss after step k, so a run of
        N steps costs N training steps and one extra forward pass, not 2N passes.
        """
        if count < 1:
            raise UserError("Take at least one step.")
        self._fit_auxiliary_head(image)
        if not 0 <= target < self.spec.num_classes:
            raise UserError(f"The target class must be between 0 and {self.spec.num_classes - 1}.")
        x = self.batch(image)
        t = torch.tensor([target], device=self.device)
        results: list[StepResult] = []
        pending: dict | None = None  # the previous step, waiting for its "after" numbers
        for i in range(count + 1):
            last = i == count
            if last:
                measured, objective = self.evaluate(image), None
            else:
                self.optimizer.zero_grad(set_to_none=True)
                main, objective = self._objective(x, t)
                measured = self.evaluate(image) if self.dropout else main.detach()
            loss = F.cross_entropy(measured, t)
            loss_value = float(loss)
            objective_value = loss_value if objective is None else float(objective.detach())
            runaway = next((v for v in (loss_value, objective_value) if not math.isfinite(v)), None)
            if runaway is not None:
                # The previous step (if any in this run) caused it: undo that step and drop its result.
                if pending is not None:
                    self._restore_last_finite()
                raise self._diverged(runaway, results, restored=pending is not None)
            probs = torch.softmax(measured.float(), dim=1)[0].cpu().numpy()
            if pending is not None:
                self.steps_taken += 1
                result = StepResult(loss_after=loss_value, probs_after=probs, **pending)
                results.append(result)
                if on_step is not None:
                    on_step(result)
            if last:
                return results
            pending = self._step(objective, t, loss_value, objective_value, probs)
        raise AssertionError("unreachable: the loop returns after its last measurement")

    def _step(self, objective: torch.Tensor, t: torch.Tensor, loss_value: float, objective_value: float,
              probs: np.ndarray) -> dict:
        objective.backward()
        self._meter.remember(self._params)
        with torch.no_grad():
            grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self._params]
            grad_sq = torch.stack(torch._foreach_norm(grads)) ** 2
            self.optimizer.step()
            weight_sq, update_sq = self._meter.squares(self._params)
            # Per-tensor squared norms summed per layer, then one square root: ‖(weight, bias)‖.
            per_layer = torch.zeros(3, len(self.layers), dtype=grad_sq.dtype, device=self.device)
            per_layer.index_add_(1, self._owner, torch.stack([grad_sq, weight_sq, update_sq]))
            grad_norms, weight_norms, update_norms = per_layer.sqrt().cpu().double().numpy()
            filters_before = filters_after = None
            if self._first_conv is not None:
                filters_before = self._meter.before[self._first_conv_index][:MAX_FILTERS].float().cpu().numpy()
                filters_after = self._first_conv.weight[:MAX_FILTERS].detach().float().cpu().numpy()
        return dict(
            step=self.steps_taken + 1, optimizer=self.optimizer_name, learning_rate=self.learning_rate,
            target=int(t[0]), loss_before=loss_value, objective=objective_value, probs_before=probs,
            layers=tuple(self.layers), layer_types=tuple(self.layer_types), grad_norms=grad_norms,
            weight_norms=weight_norms, update_norms=update_norms, first_conv=self.first_conv_name,
            filters_before=filters_before, filters_after=filters_after,
        )


def default_target(spec: ArchSpec, sample: Sample | None) -> int:
    """The digit a digit sample shows, when the network reads digits; else the first class."""
    if sample is not None and sample.answer is not None and spec.num_classes == 10:
        return int(sample.answer)
    return 0
