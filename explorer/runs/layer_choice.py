"""Which layer, class and unit a student may point a map, an intervention or a click at, and why not.

Everything is read off the layer table (shapes only), so a bad choice is refused in one
sentence before any pass runs. A layer-table name carries "(call n)" where one module
runs several times (ResNet's shared ``relu``); such a module has no single output to
map or to switch off, so the sentences point at the block around it instead.
"""

from __future__ import annotations

import re

import pandas as pd

from explorer.analysis.summary import LayerTable
from explorer.core.errors import UserError
from explorer.core.registry import ArchSpec

_CALL = re.compile(r"(.+?)(?: \(call (\d+)\))?")


def split_call(name: str) -> tuple[str, int]:
    """("layer1.0.relu", 2) for "layer1.0.relu (call 2)"; (name, 1) for a plain name."""
    match = _CALL.fullmatch(name)
    return match[1], int(match[2] or 1)


def _rows(table: LayerTable) -> pd.DataFrame:
    calls = table.calls
    repeated = {split_call(n)[0] for n in calls["name"] if split_call(n)[1] > 1}
    return calls.assign(module=calls["name"].map(lambda n: split_call(n)[0]),
                        once=~calls["name"].map(lambda n: split_call(n)[0]).isin(repeated))


def map_layers(table: LayerTable) -> list[str]:
    """Layers with a map of more than one position, from modules that run once: the CAM's choices."""
    rows = _rows(table)
    spatial = rows["output_dims"].map(lambda d: len(d) == 4 and d[2] * d[3] > 1)
    return list(rows.loc[spatial & rows["once"], "name"])


def unit_layers(table: LayerTable) -> list[str]:
    """Layers whose channels a render can aim at: every map layer, and fully-connected layers that run once."""
    rows = _rows(table)
    wanted = rows["output_dims"].map(lambda d: (len(d) == 4 and d[2] * d[3] > 1) or len(d) == 2)
    return list(rows.loc[wanted & rows["once"], "name"])


def default_unit_layer(table: LayerTable) -> str | None:
    """The last convolution with a map (LeNet-5's second, ResNet-18's last): what a channel page opens on."""
    rows = _rows(table)
    choices = set(unit_layers(table))
    convolutions = [n for n, kind in zip(rows["name"], rows["type"]) if n in choices and kind == "Conv2d"]
    return convolutions[-1] if convolutions else next(iter(unit_layers(table)), None)


def _ends(table: LayerTable) -> list[int]:
    """For each row, the index of the last row inside it: a block finishes with its last layer."""
    depths = list(table.calls["depth"])
    ends = []
    for i, depth in enumerate(depths):
        end = i
        while end + 1 < len(depths) and depths[end + 1] > depth:
            end += 1
        ends.append(end)
    return ends


def default_map_layer(table: LayerTable) -> str:
    """The last layer whose output still has a spatial size above 1 (as torchcam picks it).

    "Last" is the one whose output is finished last in the pass, so a stage (ResNet's layer4,
    VGG's features) comes before the layers inside it. The adaptive pool that only resizes the
    map for the classifier (VGG's and AlexNet's avgpool) is passed over.
    """
    choices = set(map_layers(table))
    calls = table.calls
    candidates = [(end, -depth, name) for name, depth, kind, end in zip(calls["name"], calls["depth"], calls["type"],
                                                                         _ends(table))
                  if name in choices and not kind.startswith("Adaptive")]
    if not candidates:
        raise UserError("This network has no layer whose output is a map of more than one position.")
    return max(candidates)[2]


def _row(spec: ArchSpec, table: LayerTable, name: str) -> pd.Series:
    rows = _rows(table)
    found = rows[rows["name"] == name]
    if found.empty:
        module_rows = rows[rows["module"] == name]
        if not module_rows.empty:
            return module_rows.iloc[0]
        raise UserError(f"{spec.name} has no layer called {str(name)[:60]!r}; the layer table lists their names.")
    return found.iloc[0]


def _not_once(spec: ArchSpec, row: pd.Series, table: LayerTable) -> str:
    count = sum(1 for n in table.calls["name"] if split_call(n)[0] == row["module"])
    parent = row["module"].rpartition(".")[0]
    around = f" (such as {parent})" if parent else ""
    return (f"{row['module']} runs {count} times in each pass of {spec.name}, so it has no single output; "
            f"choose a layer that runs once{around}.")


def check_map_layer(spec: ArchSpec, table: LayerTable, name: str) -> str:
    """``name`` if a class activation map can be drawn at it, else a ``UserError`` saying why not."""
    row = _row(spec, table, name)
    dims = row["output_dims"]
    if not row["once"]:
        raise UserError(_not_once(spec, row, table))
    if len(dims) == 0:
        raise UserError(f"{name} does not run when {spec.name} classifies a picture, so it has no map.")
    if len(dims) != 4:
        raise UserError(f"{name} gives {dims[-1]:,} numbers with no positions (a fully-connected layer), so there is "
                        f"no map of where to show; choose a convolutional layer such as {default_map_layer(table)}.")
    if dims[2] * dims[3] == 1:
        raise UserError(f"{name}'s output is 1×1, a single position, so it cannot show where; "
                        f"choose an earlier layer such as {default_map_layer(table)}.")
    return row["name"]


def check_once(spec: ArchSpec, table: LayerTable, name: str) -> tuple[str, list[int]]:
    """A layer whose output may be switched off: its name and its output's shape, or a ``UserError``."""
    row = _row(spec, table, name)
    if not row["once"]:
        raise UserError(_not_once(spec, row, table))
    if len(row["output_dims"]) < 2:
        raise UserError(f"{name} does not run when {spec.name} classifies a picture, so there is nothing to switch off.")
    return row["name"], list(row["output_dims"])


def check_class(spec: ArchSpec, target: object, count: int | None = None) -> int:
    """A class number from 0 to the number of classes − 1, or a ``UserError``."""
    count = count or spec.num_classes
    try:
        value = int(str(target).strip())
    except ValueError:
        value = None
    if value is None or not 0 <= value < count:
        raise UserError(f"{spec.name} has classes 0 to {count - 1}; {str(target)[:20]!r} is not one of them.")
    return value


def check_unit(layer: str, shape: tuple[int, ...], channel: int, row: int, column: int) -> None:
    """A position inside a C×H×W output, or a ``UserError`` naming the map's size."""
    channels, height, width = shape[-3:]
    if not 0 <= channel < channels:
        raise UserError(f"{layer} has channels 0 to {channels - 1}; there is no channel {channel}.")
    if not (0 <= row < height and 0 <= column < width):
        raise UserError(f"Row {row}, column {column} is outside {layer}'s {height}×{width} map; click inside the map.")
