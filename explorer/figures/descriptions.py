"""Pictures and charts in words: text alternatives a screen reader reads out, and one-sentence chart summaries.

Every sentence is computed from the same data the picture or chart is drawn from, so what a
student hears is what a student sees. Pure functions returning plain strings; the pages put
them beside their pictures (as the image's ``alt``) and under their charts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from explorer.analysis.parameter_counts import CONV, FC, NORM, OTHER
from explorer.figures.feature_maps import DIVERGING, stage_layers, strongest_channel
from explorer.runs.capture_results import Capture, LayerOutput
from explorer.runs.progress import Progress
from explorer.runs.step_result import StepResult

KIND_WORDS = {CONV: "convolution", FC: "fully-connected", NORM: "normalisation", OTHER: "other"}
ROWS, COLUMNS = ("top", "middle", "bottom"), ("left", "centre", "right")


def side(shape: Sequence[int]) -> str:
    """"28×28" from the last two numbers of a shape."""
    return f"{shape[-2]}×{shape[-1]}"


def region(values: np.ndarray) -> str:
    """Where the largest value of a 2-D map lies, in thirds: "the top left", "the centre", "the bottom middle"."""
    height, width = values.shape
    row, column = np.unravel_index(int(np.argmax(values)), values.shape)
    vertical, horizontal = ROWS[row * 3 // height], COLUMNS[column * 3 // width]
    if horizontal == "centre":
        return "the centre" if vertical == "middle" else f"the {vertical} middle"
    return f"the {vertical} {horizontal}"


def _brightness(colour_map: str, per_channel: bool, what: str) -> str:
    if colour_map in DIVERGING:
        return "blue where positive, red where negative, white at zero"
    if per_channel:
        return f"brightest where {what} responds most"
    return f"on one brightness scale for the whole layer, brightest where {what} responds most"


def channel_grid_text(layer: LayerOutput, shown: Sequence[int], colour_map: str, per_channel: bool) -> str:
    """The feature grid: "64 of the 128 channels of layer2, each 28×28, brightest where that channel responds
    most; strongest: channel 17" (strongest: the largest mean activation in the whole layer)."""
    channels = layer.shape[1]
    which = f"All {channels} channels" if len(shown) == channels else f"{len(shown)} of the {channels} channels"
    return (f"{which} of {layer.name}, each {side(layer.shape)}, "
            f"{_brightness(colour_map, per_channel, 'that channel')}; strongest: channel {strongest_channel(layer)}")


def path_text(capture: Capture, arch_name: str) -> str:
    """The path strip: the picture, then one map per stage with its name and size."""
    stages = stage_layers(capture)
    steps = ", ".join(f"{layer.name} {side(layer.shape)}" for layer in stages)
    return (f"The picture, then the strongest channel of each of {arch_name}'s {len(stages)} stages, "
            f"smaller at each step: {steps}.")


def cam_text(method: str, where: str, class_name: str, values: np.ndarray) -> str:
    """A class activation map over the picture: where it is strongest, and how much of it is above half its peak."""
    peak = float(values.max())
    share = float((values > peak / 2).mean()) if peak > 0 else 0.0
    if peak <= 0:
        return f"{method} {where} for class {class_name}, over the picture: the map is zero everywhere."
    return (f"{method} {where} for class {class_name}, over the picture: strongest in {region(values)}; "
            f"{share:.0%} of the picture is above half the strongest value.")


def map_text(what: str, values: np.ndarray) -> str:
    """A map drawn on its own (one square per position)."""
    return f"{what}, {side(values.shape)} squares, brightest in {region(values)}."


def _share(part: float, whole: float) -> str:
    share = part / whole if whole else 0.0
    return "less than 0.1%" if 0 < share < 0.0005 else f"{share:.1%}"


def weights_text(kinds: pd.DataFrame, arch_name: str) -> str:
    """The weights-and-biases chart: "Fully-connected weights hold 95.5% of LeNet-5's parameters; ...".

    ``kinds`` as ``explorer.analysis.parameter_counts.by_kind`` returns it."""
    total = float(kinds["params"].sum())
    largest = kinds.loc[kinds["weight"].idxmax()]
    kind = KIND_WORDS[largest["kind"]]
    return (f"{kind.capitalize()} weights hold {_share(largest['weight'], total)} of {arch_name}'s parameters; "
            f"the biases of every layer together hold {_share(kinds['bias'].sum(), total)}.")


def largest_layer_text(layers: pd.DataFrame, arch_name: str) -> str:
    """The per-layer chart: the largest layer (and any of the same size), and how few layers hold half of it all."""
    total = float(layers["params"].sum())
    largest = layers.loc[layers["params"].idxmax()]
    ties = int((layers["params"] == largest["params"]).sum()) - 1
    ranked = np.sort(layers["params"].to_numpy())[::-1]
    half = int(np.searchsorted(np.cumsum(ranked), total / 2) + 1)
    who = f"{largest['name']} ({largest['type']})"
    size = f"{int(largest['params']):,} of {int(total):,} parameters ({_share(largest['params'], total)})"
    first = (f"{who} is {arch_name}'s largest layer: {size}" if not ties else
             f"{who} and {ties} other layer{'s' if ties > 1 else ''} of the same size are {arch_name}'s largest: "
             f"{size} each")
    rest = ("it alone holds half of them or more" if half == 1 else
            f"its {half} largest layers, of {len(layers)} with parameters, hold half of them")
    return f"{first}; {rest}."


def stages_text(layers: pd.DataFrame, arch_name: str) -> str:
    """The stage › block › layer chart: the top-level part that holds the most."""
    per_stage = layers.groupby("stage", sort=False)["params"].sum()
    total = float(per_stage.sum())
    stage = str(per_stage.idxmax())
    return (f"Of {arch_name}'s {len(per_stage)} top-level parts, {stage} holds the most: "
            f"{int(per_stage[stage]):,} parameters ({_share(per_stage[stage], total)}).")


def probabilities_text(result: StepResult, class_names: Sequence[str]) -> str:
    """The before/after probability chart: what the step did to the target class."""
    target = result.target
    before, after = float(result.probs_before[target]), float(result.probs_after[target])
    moved = "rose" if after > before else "fell" if after < before else "stayed"
    return (f"The probability of the target class, {class_names[target]}, {moved} from {before:.1%} to {after:.1%} "
            f"in this step.")


def layers_text(result: StepResult, values: np.ndarray, what: str) -> str:
    """A per-layer bar chart of the step (gradient norms, relative updates): its largest and smallest bar."""
    largest, smallest = int(np.argmax(values)), int(np.argmin(values))
    return (f"{what} is largest at {result.layers[largest]} ({values[largest]:.3g}) and smallest at "
            f"{result.layers[smallest]} ({values[smallest]:.3g}), over {len(values)} layers.")


def filters_text(layer_name: str, count: int, rows: Sequence[str]) -> str:
    """Pictures of a first convolution's filters, one row per moment (before, after, ...)."""
    return (f"The first {count} filters of {layer_name}, averaged over the input channels, one row each for "
            f"{', '.join(rows)}: blue where a weight is positive, red where negative, white at zero.")


def learning_text(progress: Progress) -> str | None:
    """The learning run's loss and accuracy curves in one sentence (None before the first batch)."""
    if not progress.train_points:
        return None
    first, last = progress.train_points[0][1], progress.train_points[-1][1]
    sentence = (f"The batch loss went from {first:.3g} to {last:.3g} in {progress.epochs_done:.1f} epochs "
                f"({progress.batches_done} batches)")
    if progress.held_out_points:
        best = max(accuracy for _, accuracy in progress.held_out_points)
        sentence += f"; held-out accuracy is {progress.held_out_accuracy:.1%} now, {best:.1%} at best"
    return sentence + "."


def vector_text(layer_name: str, values: np.ndarray) -> str:
    """A 1-D output drawn as bars: its range and its largest number."""
    largest = int(np.argmax(values))
    return (f"The {len(values):,} numbers {layer_name} gives, from {float(values.min()):.3g} to "
            f"{float(values.max()):.3g}; the largest is number {largest} ({float(values[largest]):.3g}).")


def top_classes_text(classes: Sequence[tuple[str, float]]) -> str:
    """A bar chart of the most probable classes, the first three in words."""
    said = [f"{name} ({probability:.1%})" for name, probability in classes[:3]]
    rest = f", then {' and '.join(said[1:])}" if len(said) > 1 else ""
    return f"Most probable: {said[0]}{rest}."


def loss_history_text(steps: Sequence[int], losses: Sequence[float], start: float | None) -> str:
    """The training step page's loss curve: where it started and where the last step left it."""
    begun = f"{start:.3g} before the first step, " if start is not None else ""
    return (f"The picture's loss over {len(steps)} step{'s' if len(steps) != 1 else ''}: {begun}"
            f"{float(losses[-1]):.3g} after step {steps[-1]}, lowest {float(min(losses)):.3g}.")
