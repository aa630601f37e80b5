"""Honest warnings about what one or more training steps did, in sentences that give the numbers.

A step with a huge learning rate can send the loss on its picture to 0 and look like
a triumph; the weights tell another story. A common rule of thumb (Karpathy's notes for
CS231n) puts a healthy update at ‖Δw‖/‖w‖ ≈ 10⁻³ per layer, so:

- every layer whose update is ten times that or more is named, with its ratio;
- an update larger than the weights themselves (ratio above 1) gets its own sentence;
- a loss of (almost exactly) 0 after such a step is explained as overshooting;
- a held-out accuracy that falls by 20 points or more is pointed out.

The page, ``train-step`` and its ``--json`` all show these same sentences.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from explorer.runs.held_out import Score
from explorer.runs.step_result import StepResult

HEALTHY_RATIO = 1e-3
FLAGGED_RATIO = 1e-2  # ten times the rule of thumb
GIANT_RATIO = 1.0  # the update is larger than the weights
ZERO_LOSS = 1e-6  # what float32 cross-entropy shows as 0 once the target's logit wins by about 14 or more
COLLAPSE_POINTS = 0.2
NAMED_LAYERS = 4


def _power_of_ten(value: float) -> str:
    """3.2×10⁴ rather than 3.2e+04 (a student's notation), plain digits between 0.01 and 1000."""
    if 0.01 <= value < 1000:
        return f"{value:.3g}"
    mantissa, exponent = f"{value:.1e}".split("e")
    superscript = str(int(exponent)).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"{mantissa}×10{superscript}"


def largest_ratios(results: Sequence[StepResult]) -> np.ndarray:
    """Per layer, the largest ‖Δw‖/‖w‖ any of the steps made."""
    return np.max(np.stack([r.update_ratios for r in results]), axis=0)


def step_warnings(results: Sequence[StepResult], held_before: Score | None = None,
                  held_after: Score | None = None, held_what: str | None = None) -> list[str]:
    """The sentences a student should read after ``results`` (one click's steps, oldest first)."""
    if not results:
        return []
    layers = results[-1].layers
    ratios = largest_ratios(results)
    order = [int(i) for i in np.argsort(-ratios) if ratios[i] >= FLAGGED_RATIO]
    steps = "these steps" if len(results) > 1 else "this step"
    found = []
    if order:
        named = ", ".join(f"{layers[i]} {_power_of_ten(ratios[i])}" for i in order[:NAMED_LAYERS])
        more = f" and {len(order) - NAMED_LAYERS} more" if len(order) > NAMED_LAYERS else ""
        found.append(
            f"{len(order)} of {len(layers)} layers moved far more than a healthy update of about "
            f"‖Δw‖/‖w‖ = 10⁻³: {named}{more}."
        )
    giants = [i for i in order if ratios[i] > GIANT_RATIO]
    if giants:
        top = giants[0]
        found.append(
            f"{steps.capitalize()} changed the weights of {len(giants)} layer{'s' if len(giants) > 1 else ''} by more "
            f"than their own size (up to {_power_of_ten(ratios[top])} times, in {layers[top]}): the network after it "
            "is a different network, not a slightly better one."
        )
        last = results[-1]
        if last.loss_after < ZERO_LOSS:
            found.append(
                f"The loss on this picture fell from {results[0].loss_before:.3g} to {last.loss_after:.2g}, but not "
                f"because the network learnt: an update up to {_power_of_ten(ratios[top])} times the size of the "
                "weights overshot so far that the target class now wins this one picture outright."
            )
    if held_before is not None and held_after is not None:
        drop = held_before.accuracy - held_after.accuracy
        if drop >= COLLAPSE_POINTS:
            found.append(
                f"Held-out accuracy collapsed from {held_before.accuracy:.0%} to {held_after.accuracy:.0%} "
                f"({held_after.correct} of {held_after.count} right) on {held_what or 'the held-out pictures'}: "
                f"{steps} fitted this picture and wrecked the network for the others."
            )
    return found
