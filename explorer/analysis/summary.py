"""The layer table: torchinfo's summary as rows of data, with dotted names and folding.

torchinfo runs the network once with hooks and records every module call. Here
that run happens on PyTorch's "meta" device: tensors there carry shapes but no
storage, so the table for VGG-19 at 1024×1024 costs milliseconds and no memory,
and the server's shared real models are never hooked. Shape errors still surface
on meta tensors exactly as they would on real ones.

Following torchinfo's own design the result is data first (a DataFrame plus
totals); printing is left to the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch
import torchinfo
from torch import nn
from torchinfo.layer_info import LayerInfo
from torchinfo.torchinfo import clear_cached_forward_pass

from explorer.analysis import receptive_field
from explorer.core.errors import UserError
from explorer.core.shape_only import META, build_meta_model
from explorer.core.registry import get_spec
from explorer.core.sizes import InputSize, check_size

# Deep enough for every registered network (Inception v3 and the ResNets reach 3).
_ALL_DEPTHS = 64

DISPLAY_COLUMNS = [
    "name", "type", "depth", "output_shape", "kernel_size", "receptive_field", "rf_stride", "rf_start",
    "params", "param_share", "mult_adds", "trainable",
]


@dataclass(frozen=True)
class Totals:
    """Whole-model numbers, as torchinfo estimates them for one forward/backward pass."""

    total_params: int
    trainable_params: int
    total_mult_adds: int
    input_bytes: int
    forward_backward_bytes: int
    param_bytes: int

    @property
    def estimated_bytes(self) -> int:
        return self.input_bytes + self.forward_backward_bytes + self.param_bytes


@dataclass(frozen=True)
class LayerTable:
    """Every module call of one forward pass, in execution order, plus totals.

    ``calls`` keeps every call at every depth; ``fold`` derives the table a
    person sees at a chosen depth without running anything again.
    """

    arch_id: str
    input_shape: tuple[int, ...]
    totals: Totals
    calls: pd.DataFrame
    max_depth: int

    def fold(self, depth: int | None = None) -> pd.DataFrame:
        """One row per layer or block down to ``depth``.

        At every depth the params and mult_adds columns sum to the totals; rows of
        blocks that are opened up (``expanded``) carry only what is not inside them;
        ``block_params`` and ``block_mult_adds`` give every row's whole-block totals.
        """
        depth = self.max_depth if depth is None else max(1, min(depth, self.max_depth))
        rows = self.calls[self.calls["depth"] <= depth].copy()
        # A block opened up at this depth has its contents listed below it; counting
        # them on the block's row too would count them twice.
        rows["expanded"] = ~rows["is_leaf"] & (rows["depth"] < depth)
        rows["block_params"] = rows["subtree_params"]
        rows["block_mult_adds"] = rows["mult_adds"]
        rows["params"] = rows["subtree_params"].where(~rows["expanded"], rows["own_params"])
        rows["mult_adds"] = rows["mult_adds"].where(~rows["expanded"], 0)
        rows["param_share"] = rows["params"] / max(self.totals.total_params, 1)
        return rows[DISPLAY_COLUMNS + ["expanded", "block_params", "block_mult_adds"]].reset_index(drop=True)


def _shape_text(shape) -> str:
    return "×".join(str(n) for n in shape) if shape else "—"


def _kernel_text(module: nn.Module) -> str:
    kernel = getattr(module, "kernel_size", None)
    if kernel is None:
        return ""
    sides = kernel if isinstance(kernel, (tuple, list)) else (kernel, kernel)
    return "×".join(str(n) for n in sides)


def _trainable_text(params: int, trainable: int) -> str:
    if params == 0:
        return "—"
    if trainable == params:
        return "yes"
    return "no" if trainable == 0 else "partly"


def _own_params(module: nn.Module) -> tuple[int, int]:
    params = list(module.parameters(recurse=False))
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)


def _param_counts(model: nn.Module) -> dict[int, tuple[int, int, int, int]]:
    """(own parameters, own trainable ones, parameters with everything below, trainable ones with everything
    below) of every module, by module id.

    Worked out once, children before parents, rather than walking each module's subtree
    again for every row (which costs depth × parameters, a good part of a table's time).
    A parameter shared by two modules (none here do) would count in both.
    """
    counts: dict[int, tuple[int, int, int, int]] = {}

    def visit(module: nn.Module) -> tuple[int, int, int, int]:
        if id(module) not in counts:
            own, own_trainable = _own_params(module)
            params, trainable = own, own_trainable
            for child in module.children():
                _, _, child_params, child_trainable = visit(child)
                params, trainable = params + child_params, trainable + child_trainable
            counts[id(module)] = (own, own_trainable, params, trainable)
        return counts[id(module)]

    visit(model)
    return counts


def _call_rows(model: nn.Module, names: dict[int, str], layers: list[LayerInfo]) -> list[dict]:
    """One dict per module call (``names``: dotted names by module id); repeated calls carry no parameters."""
    counts = _param_counts(model)
    calls_seen: dict[int, int] = {}
    rows = []
    for layer in layers:
        if layer.depth == 0:  # the model itself; its parts are the rows
            continue
        calls_seen[layer.layer_id] = calls_seen.get(layer.layer_id, 0) + 1
        nth = calls_seen[layer.layer_id]
        name = names.get(layer.layer_id, layer.var_name)
        first_call = nth == 1
        own, _, subtree, subtree_trainable = counts[layer.layer_id] if first_call else (0, 0, 0, 0)
        rows.append(
            {
                "name": name if first_call else f"{name} (call {nth})",
                "type": layer.class_name,
                "depth": layer.depth,
                "output_shape": _shape_text(layer.output_size),
                "output_dims": list(layer.output_size),
                "kernel_size": _kernel_text(layer.module),
                "own_params": own,
                "subtree_params": subtree,
                "trainable": _trainable_text(subtree, subtree_trainable),
                "is_leaf": layer.is_leaf_layer,
                # torchinfo gives multiply-adds for leaves only; blocks sum them below.
                "mult_adds": layer.macs if layer.is_leaf_layer else 0,
                "ran": True,
            }
        )
    _sum_blocks_mult_adds(rows)
    return rows


def _sum_blocks_mult_adds(rows: list[dict]) -> None:
    """Give each block the sum of the leaf multiply-adds below it (rows are in call order)."""
    open_blocks: list[dict] = []
    for row in rows:
        while open_blocks and open_blocks[-1]["depth"] >= row["depth"]:
            open_blocks.pop()
        if row["is_leaf"]:
            for block in open_blocks:
                block["mult_adds"] += row["mult_adds"]
        else:
            open_blocks.append(row)


def _rows_for_modules_that_never_ran(named: list[tuple[str, nn.Module]], ran: set[int]) -> list[dict]:
    """Rows for parameter-holding modules the eval-mode pass skipped (Inception's AuxLogits)."""
    rows = []
    skipped_prefixes: list[str] = []
    for name, module in named:
        if not name or id(module) in ran or any(name.startswith(p + ".") for p in skipped_prefixes):
            continue
        params = sum(p.numel() for p in module.parameters())
        if params == 0:
            continue
        skipped_prefixes.append(name)
        trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
        rows.append(
            {
                "name": name,
                "type": type(module).__name__,
                "depth": name.count(".") + 1,
                "output_shape": "not run in eval mode",
                "output_dims": [],
                "kernel_size": _kernel_text(module),
                "own_params": params,
                "subtree_params": params,
                "trainable": _trainable_text(params, trainable),
                "is_leaf": True,
                "mult_adds": 0,
                "ran": False,
            }
        )
    return rows


def summarize(arch_id: str, size: InputSize) -> LayerTable:
    """The layer table of ``arch_id`` for ``size``; raises ``UserError`` for sizes it cannot take."""
    spec = get_spec(arch_id)
    check_size(spec, size)
    model = build_meta_model(spec)
    x = torch.empty(size.shape(spec), device=META)
    try:
        # One pass gives torchinfo's rows and every row's receptive field (explorer.analysis.receptive_field).
        with receptive_field.tracing(model, x) as fields:
            stats = torchinfo.summary(model, input_data=x, device=META, depth=_ALL_DEPTHS, mode="eval", verbose=0)
    except RuntimeError as error:
        raise UserError(f"{spec.name} cannot process a {size.label} input.") from error
    finally:
        # torchinfo keeps the last summarised model in a module-level cache; let it go.
        clear_cached_forward_pass()
    named = list(model.named_modules())
    rows = _call_rows(model, {id(module): name for name, module in named if name}, stats.summary_list)
    rows += _rows_for_modules_that_never_ran(named, {layer.layer_id for layer in stats.summary_list})
    for row in rows:
        row["field"] = fields.get(row["name"])
        row.update(receptive_field.texts(row["field"]))
    calls = pd.DataFrame({column: [row[column] for row in rows] for column in rows[0]})  # faster than from dicts
    params = list(model.parameters())
    totals = Totals(
        total_params=sum(p.numel() for p in params),
        trainable_params=sum(p.numel() for p in params if p.requires_grad),
        total_mult_adds=int(stats.total_mult_adds),
        input_bytes=int(stats.total_input),
        forward_backward_bytes=int(stats.total_output_bytes),
        param_bytes=int(stats.total_param_bytes),
    )
    return LayerTable(
        arch_id=spec.id,
        input_shape=size.shape(spec),
        totals=totals,
        calls=calls,
        max_depth=max(row["depth"] for row in rows),
    )


def to_json(table: LayerTable, depth: int | None = None) -> dict:
    """The table as plain JSON-ready data (the command line prints this)."""
    folded = table.fold(depth)
    by_name = table.calls.set_index("name")
    dims, fields = by_name["output_dims"], by_name["field"]
    totals = table.totals
    return {
        "architecture": table.arch_id,
        "input_size": list(table.input_shape),
        "total_params": totals.total_params,
        "trainable_params": totals.trainable_params,
        "total_mult_adds": totals.total_mult_adds,
        "estimated_memory_bytes": totals.estimated_bytes,
        "layers": [
            {
                "name": row.name,
                "type": row.type,
                "depth": int(row.depth),
                "output_shape": list(dims[row.name]),
                "kernel_size": row.kernel_size or None,
                "params": int(row.params),
                "mult_adds": int(row.mult_adds),
                "trainable": row.trainable,
                "expanded": bool(row.expanded),
                "receptive_field": fields[row.name].to_json() if fields[row.name] is not None else None,
            }
            for row in folded.itertuples()
        ],
    }
