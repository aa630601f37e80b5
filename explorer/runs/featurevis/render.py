"""The render loop: optimise a Fourier-parameterised picture so one unit's mean activation rises.

Lucid's ``render.render_vis`` with its defaults (Adam at 0.05, 512 steps, the standard
transforms), for PyTorch: each step draws one random transformation per picture, runs
the network up to the target layer, and climbs the gradient of the unit's mean
activation before its ReLU. Everything random comes from one generator seeded by the
recipe, so a seed gives the same picture bit for bit on the CPU.

A diversity batch renders several pictures at once and subtracts how alike their
Gram matrices are at the target layer (Lucid's ``objectives.diversity``), so a unit
that answers to several things can show more than one of them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from explorer.core.errors import UserError
from explorer.runs.featurevis import target, transforms
from explorer.runs.featurevis.param import FourierImage

MAX_STEPS = 2048
MAX_SIDE = 512
DEFAULT_SIDE = 128  # Lucid's; a network whose own input is smaller (LeNet-5's 32) renders at its own
PREVIEW_STEPS = 64
DIVERSITY_WEIGHT = 100.0  # Lucid's tutorial weight for ``objectives.diversity``


@dataclass(frozen=True)
class Recipe:
    """Everything that decides a render, as plain data (its fields are the cache key)."""

    steps: int = 512
    size: int = DEFAULT_SIDE
    learning_rate: float = 0.05
    seed: int = 0
    batch: int = 1  # more than one: a diversity batch
    diversity: float = 0.0  # the diversity term's weight (0 for a single render)
    robustness: transforms.Robustness = field(default_factory=transforms.Robustness)

    def key(self) -> dict:
        return asdict(self)


def diversity_batch(recipe: Recipe, count: int = 4, weight: float = DIVERSITY_WEIGHT) -> Recipe:
    """The same recipe as ``count`` pictures pushed apart by Lucid's diversity term.

    Lucid's weight of 100 suits units whose activations reach tens or hundreds. LeNet-5's
    second convolution reaches about 7: there, at 100, the four pictures' pixels were
    uncorrelated (mean pairwise correlation −0.12, against 0.83 without the term) but two
    of them fell to 1.2 and 2.5 (6.8 without the term); at 3 the weakest still reached
    4.9 and they stayed far apart (0.17). Pass a smaller ``weight`` for such networks.
    """
    return replace(recipe, batch=count, diversity=weight)


def side_for(default_size: int, size: int | None) -> int:
    """The render's side: the one asked for, else 128 pixels or the network's own input where that is smaller."""
    return size if size is not None else min(DEFAULT_SIDE, default_size)


def check_recipe(recipe: Recipe, min_size: int) -> None:
    """One sentence for a recipe a render must not start: too many steps, a size too small or too large."""
    if not 1 <= recipe.steps <= MAX_STEPS:
        raise UserError(f"A render takes 1 to {MAX_STEPS:,} steps, not {recipe.steps:,}.")
    if not min_size <= recipe.size <= MAX_SIDE:
        raise UserError(f"This network's renders are {min_size} to {MAX_SIDE} pixels a side, not {recipe.size:,}.")
    if not 1 <= recipe.batch <= 8:
        raise UserError(f"A render batch holds 1 to 8 pictures, not {recipe.batch}.")
    if not 0 < recipe.learning_rate <= 1:
        raise UserError(f"The render's learning rate must be above 0 and at most 1, not {recipe.learning_rate}.")


@dataclass(frozen=True)
class Rendered:
    """A finished render: its pictures, the objective step by step, and the activation it reaches."""

    pictures: np.ndarray  # batch×H×W×C uint8 (C is 1 for grey networks)
    objective: list[float]  # the channel's mean activation on each step's transformed pictures (batch mean)
    means: list[float]  # each saved picture's channel mean: the objective, untransformed, after the last step
    activations: list[float]  # each saved picture's best unit of the channel: comparable to dataset examples


def gram_similarity(output: torch.Tensor) -> torch.Tensor:
    """Lucid's diversity measure: for each pair of pictures, the dot product of their normalised Gram matrices."""
    count = output.shape[0]
    flat = output.reshape(count, output.shape[1], -1) if output.dim() > 2 else output[:, :, None]
    grams = F.normalize((flat @ flat.transpose(1, 2)).flatten(1), dim=1)
    similarity = grams @ grams.T
    return (similarity.sum() - similarity.diagonal().sum()) / count


def to_pixels(pictures: torch.Tensor) -> np.ndarray:
    return (pictures.detach().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def render(model: nn.Module, layer: str, channel: int, recipe: Recipe, in_channels: int,
           mean: tuple[float, ...], std: tuple[float, ...],
           progress: Callable[[int, int, float], None] | None = None, stop: bool = True) -> Rendered:
    """Render ``channel`` of ``layer``; ``progress(step, steps, objective)`` is called after every step.

    ``model`` is copied first, so it can be shared with other users meanwhile.
    """
    generator = torch.Generator().manual_seed(recipe.seed)
    image = FourierImage(recipe.size, in_channels, recipe.batch, generator)
    optimiser = torch.optim.Adam(image.parameters(), lr=recipe.learning_rate)
    shift = torch.tensor(mean).view(1, -1, 1, 1)
    scale = torch.tensor(std).view(1, -1, 1, 1)
    moves = transforms.plan(recipe.robustness, recipe.size, recipe.batch, recipe.steps, generator)
    curve: list[float] = []
    with target.reading(target.private_copy(model), layer, stop=stop) as run:
        for step in range(recipe.steps):
            seen = transforms.apply(image(), None if moves is None else moves[step])
            output = run((seen - shift) / scale)
            value = target.unit_mean(output, channel).mean()
            loss = -value
            if recipe.diversity and recipe.batch > 1:
                loss = loss + recipe.diversity * gram_similarity(output)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            curve.append(value.item())
            if progress is not None:
                progress(step + 1, recipe.steps, curve[-1])
        pixels = to_pixels(image())
        with torch.no_grad():  # the value of the picture as saved (8-bit), not of the floats behind it
            saved = torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 255
            output = run((saved - shift) / scale)
    return Rendered(pixels, curve, target.unit_mean(output, channel).tolist(),
                    target.unit_best(output, channel).tolist())
