"""The digit sets a network learns from and is checked on, as that network receives them.

- The learning run ("Train on the digits", ``python -m explorer train``) learns from the
  1,437 training scans of the fixed split (``explorer.inputs.scans``), plus, if asked,
  digits drawn by program like canvas drawings, and is checked on all 360 held-out scans.
- The one-picture training step checks a digit network on 100 held-out scans, ten of
  each digit, none of them a "Handwritten digit" sample (those are the first held-out
  scan of each digit, and one of them may be the very picture being trained on).

Every picture takes the app's own path (``explorer.inputs.digit_inputs.network_input``),
at the size the network reads digits at, grey repeated to three channels where a
network reads colour.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

import numpy as np
import torch

from explorer.core.registry import ArchSpec
from explorer.inputs import digit_inputs, drawings
from explorer.inputs.scans import scan_split

DIGIT_SIDE = 32  # LeNet-5's input: the 8×8 scans enlarged four times
DRAWN_PER_DIGIT = 100  # "plus drawn digits": a thousand drawings, one tenth of each digit
DRAWN_SEED = 1  # the seed scripts/train_digits.py draws its training drawings with
HELD_OUT_PER_DIGIT = 10


def digit_side(spec: ArchSpec) -> int:
    """The side a network learns the digits at: the smallest it takes from 32 up, or the toys' own 5×5."""
    if spec.max_size is not None and spec.max_size < DIGIT_SIDE:
        return spec.min_size
    return max(DIGIT_SIDE, spec.min_size)


@dataclass(frozen=True)
class DigitData:
    """Training and held-out pictures as one network receives them (shared, read-only)."""

    train_inputs: torch.Tensor  # N×C×H×W
    train_labels: torch.Tensor
    test_inputs: torch.Tensor
    test_labels: torch.Tensor
    scans: int  # training scans among the training pictures
    drawn: int  # drawn digits among them

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (self.train_inputs, self.test_inputs))

    def sentence(self) -> str:
        drawn = f" and {self.drawn:,} digits drawn by program" if self.drawn else ""
        return (f"{self.scans:,} scanned handwritten digits{drawn} to learn from, "
                f"{len(self.test_labels)} held-out scans it never learns from to check it")


_BUILDING = threading.Lock()  # thirty students pressing Start at once prepare each set once, not thirty times


def digit_data(arch_id: str, side: int, weights: str, drawn_per_digit: int = 0) -> DigitData:
    """The training and held-out digits for ``arch_id`` at ``side``×``side`` with ``weights``' preprocessing.

    Shared by every run on the server and read-only (batches are copies made by indexing).
    """
    with _BUILDING:
        return _digit_data(arch_id, side, weights, drawn_per_digit)


# Three sets: ResNet-18's at 32×32 with drawings is 29 MB, Inception v3's at 75×75 is 160 MB.
@functools.lru_cache(maxsize=3)
def _digit_data(arch_id: str, side: int, weights: str, drawn_per_digit: int) -> DigitData:
    train_x, train_y = digit_inputs.scan_inputs("train", arch_id, side, weights)
    test_x, test_y = digit_inputs.scan_inputs("test", arch_id, side, weights)
    scans = len(train_y)
    if drawn_per_digit:
        made = drawings.drawings(drawn_per_digit, DRAWN_SEED, drawings.Style.training(), "training")
        drawn_x, drawn_y = digit_inputs.drawing_inputs(made, arch_id, side, weights)
        train_x, train_y = torch.cat([train_x, drawn_x]), torch.cat([train_y, drawn_y])
    return DigitData(train_x, train_y, test_x, test_y, scans, len(train_y) - scans)


def held_out_scan_indices(per_digit: int = HELD_OUT_PER_DIGIT) -> np.ndarray:
    """``per_digit`` held-out scans of each digit, skipping the first of each (the app's samples)."""
    split = scan_split()
    test, labels = split["test"], split["labels"]
    return np.concatenate([test[labels[test] == d][1:1 + per_digit] for d in range(10)])


def step_held_out_scans(arch_id: str, side: int, weights: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The 100 held-out scans the training step checks a digit network on, as it receives them."""
    return digit_inputs.scan_inputs("test", arch_id, side, weights, indices=held_out_scan_indices())

