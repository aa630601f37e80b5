"""Transformation robustness: each step the picture is moved, scaled and turned a little before the network sees it.

A picture that excites a unit only at one exact pixel offset is an adversarial pattern,
not a feature. Lucid's ``transform.standard_transforms`` asks the picture to survive:
pad 12 pixels of grey, jitter by up to 8, scale by 0.9–1.1, rotate by −10°…10°
(0° five times more likely), jitter by up to 4.

Here those five steps are one affine resampling (``grid_sample``) of the picture, whose
output keeps the network's input size: the grey that the padding brings in is what
fills any part of the view that falls outside the picture. One resampling costs far
less than five separate tensor operations, which matters when the network itself is
as small as LeNet-5. The pixel distances are Lucid's at 128 pixels and shrink with
smaller pictures (a 32-pixel LeNet-5 render jitters by 2 and 1 pixels).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

GREY = 0.5  # the padding's colour
SCALES = tuple(1 + (i - 5) / 50 for i in range(11))  # 0.90, 0.92, …, 1.10
ANGLES = tuple(range(-10, 11)) + (0,) * 5  # degrees
REFERENCE_SIDE = 128  # the side Lucid's pixel distances are meant for


@dataclass(frozen=True)
class Robustness:
    """Lucid's standard transforms, as plain numbers (pixels at a 128-pixel picture)."""

    pad: int = 12
    first_jitter: int = 8
    second_jitter: int = 4
    scales: tuple[float, ...] = SCALES
    angles: tuple[int, ...] = ANGLES

    def pixels(self, distance: int, side: int) -> int:
        """A distance meant for 128 pixels, at ``side`` pixels (at least one, where it was not zero)."""
        return 0 if distance == 0 else max(1, round(distance * side / REFERENCE_SIDE))


NONE = Robustness(pad=0, first_jitter=0, second_jitter=0, scales=(1.0,), angles=(0,))


def _choice(options: tuple, count: int, generator: torch.Generator) -> torch.Tensor:
    picks = torch.randint(len(options), (count,), generator=generator)
    return torch.tensor(options, dtype=torch.float32)[picks]


def _shift(most: int, count: int, generator: torch.Generator) -> torch.Tensor:
    """Offsets of a random crop ``most`` pixels smaller, measured from the centre: −most/2 … most/2."""
    return torch.randint(most + 1, (count, 2), generator=generator).float() - most / 2


def random_affine(robustness: Robustness, side: int, count: int, generator: torch.Generator) -> torch.Tensor:
    """``count`` 2×3 matrices for ``affine_grid``: output coordinates (−1…1) → where in the picture to read."""
    pad, first_most, second_most = (robustness.pixels(d, side) for d in
                                    (robustness.pad, robustness.first_jitter, robustness.second_jitter))
    first = _shift(first_most, count, generator)
    second = _shift(second_most, count, generator)
    # Lucid pads by ``pad`` on each side, then each jitter crops its most off: what is left is the view.
    view = (side + 2 * pad - first_most - second_most) / side
    scale = _choice(robustness.scales, count, generator)
    angle = _choice(robustness.angles, count, generator) * (math.pi / 180)
    cos, sin = torch.cos(angle), torch.sin(angle)
    turn = torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2)  # count×2×2
    # Read the picture at: first jitter + turned (output point widened to the view, shrunk by the
    # scale, + second jitter). Distances in pixels become normalised coordinates by 2/side.
    linear = turn * (view / scale[:, None, None])
    offset = first * (2 / side) + torch.einsum("nij,nj->ni", turn, second * (2 / side))
    return torch.cat([linear, offset[:, :, None]], dim=2)


def plan(robustness: Robustness, side: int, count: int, steps: int,
         generator: torch.Generator) -> torch.Tensor | None:
    """Every step's matrices at once (steps × count × 2 × 3), None without robustness.

    Drawn together because drawing a handful of small random tensors per step costs as
    much Python time as LeNet-5's whole forward pass.
    """
    if robustness == NONE:
        return None
    return random_affine(robustness, side, count * steps, generator).view(steps, count, 2, 3)


def apply(images: torch.Tensor, theta: torch.Tensor | None) -> torch.Tensor:
    """``images`` (N×C×H×W, values 0…1) seen through one matrix of ``plan`` each, at the same size."""
    if theta is None:
        return images
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    # Sampling (picture − grey) with zeros outside is sampling the picture with grey outside: the padding.
    return F.grid_sample(images - GREY, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + GREY
