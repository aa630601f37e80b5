"""What a learning run on the digits has done so far, as plain numbers a page, a chart or the command line reads."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GOAL_ACCURACY = 0.9  # the held-out accuracy whose time to reach the page and the command line report


@dataclass(frozen=True)
class EpochRow:
    epoch: int
    train_loss: float  # mean over the epoch's batches
    held_out_loss: float
    held_out_accuracy: float
    seconds: float  # training time since the start, checks included


@dataclass(frozen=True)
class Progress:
    """What a run has done so far, as plain numbers (a copy: safe to keep and draw)."""

    status: str  # ready, preparing, waiting, running, stopped, finished, failed
    message: str | None  # one sentence on why it stopped, where it did
    epochs_planned: int
    batches_done: int
    batches_per_epoch: int  # 0 until the digits are prepared
    train_points: tuple[tuple[float, float], ...]  # (epochs so far, loss of that batch)
    held_out_points: tuple[tuple[float, float], ...]  # (epochs so far, held-out accuracy)
    epochs: tuple[EpochRow, ...]
    seconds: float
    seconds_to_goal: float | None  # training time until the held-out accuracy first reached 90%
    filters_start: np.ndarray | None  # first convolution, out × in × kh × kw, at most FILTERS_KEPT
    filters_now: np.ndarray | None

    @property
    def epochs_done(self) -> float:
        return self.batches_done / self.batches_per_epoch if self.batches_per_epoch else 0.0

    @property
    def held_out_accuracy(self) -> float | None:
        return self.held_out_points[-1][1] if self.held_out_points else None

    @property
    def finished(self) -> bool:
        return self.batches_per_epoch > 0 and self.batches_done >= self.epochs_planned * self.batches_per_epoch
