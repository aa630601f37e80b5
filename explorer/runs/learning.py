"""A learning run on the digits: mini-batches of the training scans, checked on the held-out scans as it goes.

Where the training step shows one update on one picture, this is what training is
for: a private copy of a network (``copy.deepcopy`` of a read-only source) sees the
1,437 training scans in shuffled mini-batches, epoch after epoch, and is checked on
the 360 held-out scans four times an epoch. Everything a page or the command line
shows comes from ``DigitRun.snapshot()``: the training loss of every batch, the
held-out accuracy at every check, one row per epoch, the time it took to pass 90%,
and the first convolution's filters at the start and now.

- The run is driven in slices (``train_for``): a background thread for the page
  (``explorer.runs.learning_thread``), a plain loop for the command line. A lock
  keeps a page's snapshot from reading the weights in the middle of a batch.
- Networks with 1,000 ImageNet outputs learn the digits on their first ten outputs
  (output k stands for digit k); the others are never used.
- BatchNorm trains as usual (batch statistics, running statistics updated), so the
  held-out checks in eval mode see the network as it would be used.
- Inception v3's auxiliary classifier needs inputs of about 299 pixels in training
  mode; below that it is switched off in the copy and only the main output learns.
- A batch whose loss is not finite, or whose update is larger than the weights
  themselves (‖Δw‖/‖w‖ > 1 over the whole network, as a learning rate of 1e12 makes
  it), is undone and the run stops with one sentence, so nothing learnt is lost.
"""

from __future__ import annotations

import copy
import math
import threading
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from explorer.core.errors import UserError
from explorer.core.registry import ArchSpec
from explorer.core.sizes import parse_whole_number
from explorer.inputs.digit_sets import DigitData
from explorer.runs.augment import MAX_SHIFT, check_shift, random_shift
from explorer.runs.optimisers import UpdateMeter, check_learning_rate, make_optimizer
from explorer.runs.progress import GOAL_ACCURACY, EpochRow, Progress
from explorer.runs.training import AUX_WEIGHT, drop_auxiliary_head

MAX_EPOCHS = 100
BATCH_SIZES = (16, 32, 64, 128)
MAX_BATCH = 256
CHECKS_PER_EPOCH = 4
GIANT_UPDATE = 1.0  # ‖Δw‖/‖w‖ of the whole network in one batch: an update larger than the weights
FILTERS_KEPT = 16
EVAL_CHUNK = 256
DIGITS = 10
SCHEDULES = ("constant", "one-cycle")
# A recipe with which LeNet-5 from random weights passes both classic baselines (benchmarks/LEARNING.md).
RECIPE = {"optimizer": "adam", "learning_rate": 3e-3, "batch": 32, "epochs": 40, "schedule": "one-cycle", "shift": 3}


def check_schedule(schedule: object) -> str:
    if schedule not in SCHEDULES:
        raise UserError(f"The schedule must be one of {', '.join(SCHEDULES)}.")
    return str(schedule)


def check_epochs(epochs: object) -> int:
    return parse_whole_number(epochs, "number of epochs", 1, MAX_EPOCHS)


def check_batch(batch: object) -> int:
    # Two at least: BatchNorm needs a spread in every channel, and ResNets at 32×32 end in 1×1 maps.
    return parse_whole_number(batch, "batch size", 2, MAX_BATCH)


class DigitRun:
    """A private copy of ``source`` learning the digits at ``side``×``side``; ``source`` is only read."""

    def __init__(self, spec: ArchSpec, source: nn.Module, side: int, load_data: Callable[[], DigitData],
                 optimizer: str = "adam", learning_rate: float = 1e-3, batch: int = 64, seed: int = 0,
                 schedule: str = "constant", shift: int = 0) -> None:
        self.spec, self.side, self.seed = spec, side, seed
        # one-cycle: each plan (a start, Continue, new settings) is one warm-up and cool-down over its batches.
        self.schedule, self._cycle = check_schedule(schedule), None
        self.shift = check_shift(shift, side)
        self.batch = check_batch(batch)
        self._source = source
        self._load_data = load_data
        self.model = copy.deepcopy(source).requires_grad_(True)
        drop_auxiliary_head(self.model, side, side)  # Inception v3 below 299 pixels (see the module docstring)
        self.device = next(self.model.parameters()).device
        self._params = list(self.model.parameters())
        self.first_conv_name, self._first_conv = next(
            ((name, m) for name, m in self.model.named_modules() if isinstance(m, nn.Conv2d)), (None, None))
        self._meter = UpdateMeter()
        self.lock = threading.RLock()  # held for each batch and each check; snapshots take it too
        self.data: DigitData | None = None
        self.optimizer_name, self.learning_rate = optimizer, check_learning_rate(learning_rate)
        self.optimizer = make_optimizer(optimizer, self._params, self.learning_rate)
        self.status, self.message = "ready", None
        self.epochs_planned = 0
        self._clear_history()

    # -- settings and plans -----------------------------------------------------------------------

    def configure(self, optimizer: str, learning_rate: float, schedule: str | None = None,
                  shift: object = None) -> None:
        """New settings for the batches to come; a different optimiser starts with no momentum."""
        rate = check_learning_rate(learning_rate)
        schedule = self.schedule if schedule is None else check_schedule(schedule)
        shift = self.shift if shift is None else check_shift(shift, self.side)
        with self.lock:
            self.schedule, self.shift = schedule, shift
            if optimizer != self.optimizer_name:
                self.optimizer = make_optimizer(optimizer, self._params, rate)
                self.optimizer_name = optimizer
            for group in self.optimizer.param_groups:
                group["lr"] = rate
            self.learning_rate, self._cycle = rate, None

    def plan(self, epochs: object) -> None:
        """Train until ``epochs`` epochs in all (the start of a run)."""
        self.epochs_planned = check_epochs(epochs)

    def plan_more(self, epochs: object) -> None:
        """``epochs`` more epochs after the ones already done (a finished run goes on)."""
        more = check_epochs(epochs)
        done = math.ceil(self._batches / self._per_epoch) if self._per_epoch else 0
        if done + more > MAX_EPOCHS:
            raise UserError(f"A run takes at most {MAX_EPOCHS} epochs in all, and this one has done {done}; "
                            "press Reset to start again.")
        self.epochs_planned, self._cycle = done + more, None

    def reset(self) -> None:
        """Back to the starting weights, a fresh optimiser and no history (the caller stops the run first)."""
        with self.lock:
            start = self._source.state_dict()
            with torch.no_grad():
                for name, mine in self.model.state_dict().items():  # by name: Inception's copy may lack a head
                    mine.copy_(start[name])
            self.optimizer = make_optimizer(self.optimizer_name, self._params, self.learning_rate)
            self.status, self.message, self.epochs_planned, self._cycle = "ready", None, 0, None
            self._clear_history()

    def _clear_history(self) -> None:
        self._batches = 0
        self._per_epoch = self._per_epoch_for(self.data) if self.data else 0
        self._order: torch.Tensor | None = None
        self._generator = torch.Generator().manual_seed(self.seed)
        self._train_points: list[tuple[float, float]] = []
        self._held_points: list[tuple[float, float]] = []
        self._epochs: list[EpochRow] = []
        self._epoch_losses: list[float] = []
        self._seconds = 0.0
        self._seconds_to_goal: float | None = None
        self._filters_start = self._filters()

    # -- the work ---------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Prepare the digits (seconds, once per server and network) and check the starting weights."""
        if self.data is None:
            data = self._load_data()
            with self.lock:
                self.data, self._per_epoch = data, self._per_epoch_for(data)
        with self.lock:
            if not self._held_points:
                self._check()

    def _per_epoch_for(self, data: DigitData) -> int:
        full, rest = divmod(len(data.train_labels), self.batch)
        return full + (1 if rest >= 2 else 0)  # a last batch of one picture is left out (BatchNorm)

    @property
    def planned_batches(self) -> int:
        return self.epochs_planned * self._per_epoch

    def train_for(self, seconds: float, keep_going: Callable[[], bool] = lambda: True) -> bool:
        """Train batches for about ``seconds``; False once the plan is done ("finished"), a batch had to be
        undone ("failed", with the sentence in ``message``) or ``keep_going`` said no (status unchanged)."""
        self.prepare()
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            if self._batches >= self.planned_batches:
                self.status, self.message = "finished", None
                return False
            if not keep_going():
                return False
            with self.lock:
                started = time.perf_counter()
                problem = self._one_batch()
                if problem is None and self._check_due():
                    self._check()
                self._seconds += time.perf_counter() - started
            if problem is not None:
                self.status, self.message = "failed", problem
                return False
        return True

    def _one_batch(self) -> str | None:
        data = self.data
        within = self._batches % self._per_epoch
        if within == 0:
            self._order = torch.randperm(len(data.train_labels), generator=self._generator)
        chosen = self._order[within * self.batch:(within + 1) * self.batch]
        x = random_shift(data.train_inputs[chosen], self.shift, self._generator).to(self.device)
        y = data.train_labels[chosen].to(self.device)
        self._follow_schedule()
        self.model.train()
        output = self.model(x)
        main, aux = (output[0], output[1]) if isinstance(output, tuple) else (output, None)
        loss = F.cross_entropy(main[:, :DIGITS], y)
        objective = loss if aux is None else loss + AUX_WEIGHT * F.cross_entropy(aux[:, :DIGITS], y)
        where = f"epoch {self._batches // self._per_epoch + 1}, batch {within + 1}"
        value = float(objective.detach())
        if not math.isfinite(value):
            return (f"The training loss became {value} at {where} with learning rate "
                    f"{self.learning_rate:g}, so the run stopped with the weights as they were; "
                    "choose a smaller learning rate and press Continue.")
        self.optimizer.zero_grad(set_to_none=True)
        objective.backward()
        self._meter.remember(self._params)
        self.optimizer.step()
        weight_sq, update_sq = self._meter.squares(self._params)
        ratio = float(update_sq.sum().sqrt() / weight_sq.sum().sqrt())
        if not ratio <= GIANT_UPDATE:  # also catches NaN
            self._meter.restore(self._params)
            self.optimizer = make_optimizer(self.optimizer_name, self._params, self.learning_rate)
            self._cycle = None
            size = "weights that are not numbers" if not math.isfinite(ratio) else f"{ratio:.3g} times their own size"
            return (f"At {where} the learning rate {self.learning_rate:g} changed the weights by {size} in a "
                    "single batch, so that batch was undone and the run stopped; choose a smaller learning rate "
                    "and press Continue.")
        self._batches += 1
        value = float(loss.detach())
        self._epoch_losses.append(value)
        self._train_points.append((self._batches / self._per_epoch, value))
        return None

    def _follow_schedule(self) -> None:
        if self.schedule != "one-cycle":
            return
        if self._cycle is None:
            steps = max(1, self.planned_batches - self._batches)
            self._cycle = torch.optim.lr_scheduler.OneCycleLR(  # Adam's β₁ cycles too; plain SGD keeps no momentum
                self.optimizer, self.learning_rate, total_steps=steps, cycle_momentum=self.optimizer_name == "adam")
        elif self._cycle.last_epoch + 1 < self._cycle.total_steps:
            self._cycle.step()

    def _check_due(self) -> bool:
        every = max(1, round(self._per_epoch / CHECKS_PER_EPOCH))
        within = self._batches % self._per_epoch  # 0: the end of an epoch
        return within % every == 0

    @torch.no_grad()
    def _check(self) -> None:
        """Held-out loss and accuracy now (eval mode), and the epoch's row at the end of an epoch."""
        loss, accuracy = self.evaluate()
        at = self._batches / self._per_epoch if self._per_epoch else 0.0
        self._held_points.append((at, accuracy))
        if self._seconds_to_goal is None and accuracy >= GOAL_ACCURACY and self._batches:
            self._seconds_to_goal = self._seconds
        if self._batches and self._batches % self._per_epoch == 0:
            train = float(np.mean(self._epoch_losses)) if self._epoch_losses else float("nan")
            self._epochs.append(EpochRow(self._batches // self._per_epoch, train, loss, accuracy, self._seconds))
            self._epoch_losses = []

    @torch.no_grad()
    def evaluate(self) -> tuple[float, float]:
        """Cross-entropy and accuracy on the held-out scans, the network in eval mode."""
        data = self.data
        self.model.eval()
        total, correct = 0.0, 0
        for start in range(0, len(data.test_labels), EVAL_CHUNK):
            x = data.test_inputs[start:start + EVAL_CHUNK].to(self.device)
            y = data.test_labels[start:start + EVAL_CHUNK].to(self.device)
            logits = self.model(x)[:, :DIGITS]
            total += float(F.cross_entropy(logits, y, reduction="sum"))
            correct += int((logits.argmax(dim=1) == y).sum())
        self.model.train()
        count = len(data.test_labels)
        return total / count, correct / count

    # -- what it has done -------------------------------------------------------------------------

    def _filters(self) -> np.ndarray | None:
        if self._first_conv is None:
            return None
        return self._first_conv.weight[:FILTERS_KEPT].detach().float().cpu().numpy().copy()

    def snapshot(self) -> Progress:
        with self.lock:
            return Progress(
                status=self.status, message=self.message, epochs_planned=self.epochs_planned,
                batches_done=self._batches, batches_per_epoch=self._per_epoch,
                train_points=tuple(self._train_points), held_out_points=tuple(self._held_points),
                epochs=tuple(self._epochs), seconds=self._seconds, seconds_to_goal=self._seconds_to_goal,
                filters_start=self._filters_start, filters_now=self._filters(),
            )
