"""Every registered architecture side by side: size, cost, depth, age and ImageNet accuracy.

Parameters, multiply-adds (at each network's default input) and depth come from
one meta-device trace per network (``summarize``); accuracy comes from
torchvision's V1 weights metadata, which ships inside torchvision (no download).
The lab's toy networks and LeNet-5 have no ImageNet weights, so their accuracy
is missing (NaN), not zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from explorer.analysis.parameter_counts import CONV, FC, by_kind, parameter_layers
from explorer.analysis.summary import summarize
from explorer.core.registry import ARCHITECTURES, ArchSpec
from explorer.core.sizes import InputSize

COLUMNS = [
    "id", "name", "family", "year", "params", "mult_adds", "depth",
    "acc1", "acc5", "param_mb", "input_size",
]


@dataclass(frozen=True)
class Comparison:
    """The side-by-side table (one row per architecture) and every network's split by kind of layer."""

    table: pd.DataFrame
    kinds: pd.DataFrame  # columns: id, kind, weight, bias, params, layers, share


def imagenet_accuracy(spec: ArchSpec) -> tuple[float, float]:
    """Top-1 and top-5 ImageNet accuracy (%) of torchvision's V1 weights, NaN when there are none."""
    if spec.weights is None:
        return float("nan"), float("nan")
    metrics = spec.weights.IMAGENET1K_V1.meta["_metrics"]["ImageNet-1K"]
    return float(metrics["acc@1"]), float(metrics["acc@5"])


def _row(spec: ArchSpec, layers: pd.DataFrame, mult_adds: int) -> dict:
    acc1, acc5 = imagenet_accuracy(spec)
    # Depth as papers count it: layers with weights that the inference pass runs
    # (convolutions and fully-connected layers), so Inception's training-only
    # auxiliary head does not count and batch norms do not either.
    weighted = layers[layers["ran"] & layers["kind"].isin([CONV, FC])]
    return {
        "id": spec.id,
        "name": spec.name,
        "family": spec.family,
        "year": spec.year,
        "params": int(layers["params"].sum()),
        "mult_adds": int(mult_adds),
        "depth": len(weighted),
        "acc1": acc1,
        "acc5": acc5,
        "param_mb": int(layers["bytes"].sum()) / 1e6,
        "input_size": f"{spec.in_channels}×{spec.default_size}×{spec.default_size}",
    }


def compare_architectures(specs: tuple[ArchSpec, ...] = ARCHITECTURES) -> Comparison:
    """One trace per architecture at its default input, batch 1 (about a second or two for all)."""
    rows, kinds = [], []
    for spec in specs:
        table = summarize(spec.id, InputSize(spec.default_size, spec.default_size, 1))
        layers = parameter_layers(spec.id, table)
        rows.append(_row(spec, layers, table.totals.total_mult_adds))
        kinds.append(by_kind(layers).assign(id=spec.id))
    table = pd.DataFrame(rows, columns=COLUMNS)
    table["year"] = table["year"].astype("Int64")  # the toys have no year; keep the rest whole numbers
    return Comparison(table=table, kinds=pd.concat(kinds, ignore_index=True))
