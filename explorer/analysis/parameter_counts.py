"""Where a network's parameters live: per layer, per kind of layer, weights against biases.

Everything is read off a real model built on PyTorch's "meta" device (shapes
without storage, so even VGG-19 costs nothing). Layers come in execution order,
taken from the layer table's forward pass; parameter-holding layers that never
run in eval mode (Inception's auxiliary classifier) are still counted, placed
where they are registered, because they are part of the model's total.

Each layer also gets its count as arithmetic with the numbers filled in
("16 × 6 × 5 × 5 + 16 = 2,416"), worked out from the layer's settings
(channels, kernel, groups), never from the tensors' sizes, so that a test can
hold the arithmetic against PyTorch's own count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from torch import nn
from torch.nn.modules.batchnorm import _NormBase
from torch.nn.modules.conv import _ConvNd

from explorer.analysis.summary import LayerTable, summarize
from explorer.core.shape_only import build_meta_model
from explorer.core.registry import get_spec
from explorer.core.sizes import InputSize

CONV, FC, NORM, OTHER = "convolution", "fully-connected", "normalisation", "other"
KINDS: tuple[str, ...] = (CONV, FC, NORM, OTHER)

# How each kind of layer comes to its count, in words a student can follow.
RULES: dict[str, str] = {
    CONV: "out channels × (in channels ÷ groups) × kernel height × kernel width, plus one bias per out channel "
    "when the layer has biases",
    FC: "outputs × inputs, plus one bias per output",
    NORM: "two vectors of one number per channel: a scale γ (PyTorch calls it weight) and a shift β (bias). "
    "The running mean and variance that batch norm keeps are buffers, not parameters: they are saved "
    "with the model but never trained by the optimiser, so they are not counted here",
    OTHER: "the sizes of the layer's parameter tensors multiplied out",
}


@dataclass(frozen=True)
class Formula:
    """A layer's parameter count as arithmetic a person can redo by hand."""

    text: str
    result: int


def _n(value: int) -> str:
    return f"{value:,}"


def _written(factors: list[str], bias: int, result: int) -> Formula:
    text = " × ".join(factors)
    if bias:
        text += f" + {_n(bias)}"
    return Formula(f"{text} = {_n(result)}", result)


def _conv_formula(conv: _ConvNd) -> Formula:
    # A transposed convolution stores its weight as in × (out ÷ groups) × kernel.
    first, split = (conv.in_channels, conv.out_channels) if conv.transposed else (conv.out_channels, conv.in_channels)
    split_text = f"({_n(split)} ÷ {conv.groups})" if conv.groups > 1 else _n(split)
    factors = [_n(first), split_text, *(str(k) for k in conv.kernel_size)]
    bias = conv.out_channels if conv.bias is not None else 0
    return _written(factors, bias, first * (split // conv.groups) * math.prod(conv.kernel_size) + bias)


def _linear_formula(linear: nn.Linear) -> Formula:
    bias = linear.out_features if linear.bias is not None else 0
    return _written([_n(linear.out_features), _n(linear.in_features)], bias, linear.out_features * linear.in_features + bias)


def _norm_formula(channels: int, vectors: int) -> Formula:
    factors = [str(vectors), _n(channels)] if vectors > 1 else [_n(channels)]
    return _written(factors, 0, vectors * channels)


def _generic_formula(module: nn.Module) -> Formula:
    parts = [" × ".join(_n(side) for side in p.shape) or "1" for p in module.parameters(recurse=False)]
    result = sum(math.prod(p.shape) for p in module.parameters(recurse=False))
    return Formula(f"{' + '.join(parts)} = {_n(result)}", result)


def layer_formula(module: nn.Module) -> Formula:
    """The arithmetic behind the parameters a module holds itself (not its children's)."""
    if isinstance(module, _ConvNd):
        return _conv_formula(module)
    if isinstance(module, nn.Linear):
        return _linear_formula(module)
    if isinstance(module, _NormBase) and module.affine:
        return _norm_formula(module.num_features, 2)
    if isinstance(module, nn.GroupNorm) and module.affine:
        return _norm_formula(module.num_channels, 2)
    return _generic_formula(module)


def layer_kind(module: nn.Module) -> str:
    if isinstance(module, _ConvNd):
        return CONV
    if isinstance(module, (nn.Linear, nn.Bilinear)):
        return FC
    if isinstance(module, (_NormBase, nn.GroupNorm, nn.LayerNorm, nn.LocalResponseNorm)):
        return NORM
    return OTHER


def _execution_positions(table: LayerTable, model: nn.Module) -> dict[str, tuple[int, int]]:
    """A sort key per module name: its first call in the forward pass.

    A module that never ran goes right after the last module registered before
    it that did run, which is where it would run in training mode.
    """
    first_calls = table.calls[table.calls["ran"] & ~table.calls["name"].str.contains(" (call ", regex=False)]
    ran = {name: index for index, name in enumerate(first_calls["name"])}
    positions: dict[str, tuple[int, int]] = {}
    last_ran = -1
    for registered, (name, _) in enumerate(model.named_modules()):
        if name in ran:
            last_ran = ran[name]
            positions[name] = (last_ran, 0)
        else:
            positions[name] = (last_ran, registered + 1)
    return positions


def parameter_layers(arch_id: str, table: LayerTable | None = None) -> pd.DataFrame:
    """One row per module that holds parameters itself, in execution order.

    Columns: name, type, kind, weight, bias, params, share, bytes, formula,
    stage, block, ran. ``weight`` counts every parameter that is not a bias
    (for batch norm that is the scale γ). ``table`` saves a second trace when the
    caller already has the layer table at the default size.
    """
    spec = get_spec(arch_id)
    if table is None:
        table = summarize(spec.id, InputSize(spec.default_size, spec.default_size, 1))
    model = build_meta_model(spec)
    positions = _execution_positions(table, model)
    ran_names = set(table.calls.loc[table.calls["ran"], "name"])
    rows = []
    for name, module in model.named_modules():
        own = dict(module.named_parameters(recurse=False))
        if not own:
            continue
        bias = sum(p.numel() for key, p in own.items() if key == "bias")
        total = sum(p.numel() for p in own.values())
        parts = name.split(".")
        rows.append(
            {
                "name": name,
                "type": type(module).__name__,
                "kind": layer_kind(module),
                "weight": total - bias,
                "bias": bias,
                "params": total,
                "bytes": sum(p.numel() * p.element_size() for p in own.values()),
                "formula": layer_formula(module).text,
                "stage": parts[0],
                "block": ".".join(parts[:2]) if len(parts) > 2 else "",
                "ran": name in ran_names,
                "_order": positions[name],
            }
        )
    layers = pd.DataFrame(rows).sort_values("_order", kind="stable").drop(columns="_order").reset_index(drop=True)
    layers["share"] = layers["params"] / max(int(layers["params"].sum()), 1)
    return layers


def by_kind(layers: pd.DataFrame) -> pd.DataFrame:
    """Weights and biases per kind of layer, every kind listed (zeros included) in a fixed order."""
    sums = layers.groupby("kind")[["weight", "bias", "params"]].sum().reindex(list(KINDS), fill_value=0)
    sums["layers"] = layers.groupby("kind").size().reindex(list(KINDS), fill_value=0)
    sums["share"] = sums["params"] / max(int(sums["params"].sum()), 1)
    return sums.reset_index().rename(columns={"index": "kind"})


def hierarchy(layers: pd.DataFrame) -> pd.DataFrame:
    """Nodes of a stage › block › layer tree whose values add up (for a treemap or sunburst).

    Columns: id, parent, label, params, kind (kind only on layers), path and
    parent_path (readable names for hovers). Group ids end
    in "/" so that a group can never clash with a layer of the same name.
    """
    root = "all/"
    nodes = {root: {"id": root, "parent": "", "label": "whole network", "params": 0, "kind": ""}}
    for row in layers.itertuples():
        parent = root
        groups = [row.stage] if row.stage != row.name else []
        if row.block:
            groups.append(row.block)
        for group in groups:
            node_id = group + "/"
            if node_id not in nodes:
                # "branch1x1" inside Mixed_5b's box says enough; a bare block number "0" does not.
                label = group.rsplit(".", 1)[-1]
                label = group if label.isdigit() else label
                nodes[node_id] = {"id": node_id, "parent": parent, "label": label, "params": 0, "kind": ""}
            nodes[node_id]["params"] += row.params
            parent = node_id
        nodes[root]["params"] += row.params
        # "layer1.0/" is as long as "layer1.0.", so slicing it off leaves the layer's own part.
        label = row.name[len(parent) :] if parent != root else row.name
        if label.isdigit():  # a Sequential's "0" says little on its own
            label = f"{label} · {row.type}"
        nodes[row.name] = {"id": row.name, "parent": parent, "label": label, "params": row.params, "kind": row.kind}
    tree = pd.DataFrame(list(nodes.values()))
    # Names a person reads in a hover: the dotted path, "whole network" for the root.
    tree["path"] = tree["id"].str.rstrip("/").where(tree["id"] != root, nodes[root]["label"])
    tree["parent_path"] = tree["parent"].map(dict(zip(tree["id"], tree["path"]))).fillna("")
    return tree


def to_json(arch_id: str) -> dict:
    """The breakdown as plain JSON-ready data (for the command line)."""
    layers = parameter_layers(arch_id)
    kinds = by_kind(layers)
    return {
        "architecture": get_spec(arch_id).id,
        "total": int(layers["params"].sum()),
        "by_kind": {row.kind: {"weight": int(row.weight), "bias": int(row.bias)} for row in kinds.itertuples()},
        "layers": [
            {
                "name": row.name,
                "type": row.type,
                "kind": row.kind,
                "weight": int(row.weight),
                "bias": int(row.bias),
                "formula": row.formula,
                "ran_in_eval": bool(row.ran),
            }
            for row in layers.itertuples()
        ],
    }
