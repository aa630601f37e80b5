"""Interventions: switch off channels of a layer, or bypass a residual block, and see what changes downstream.

The picture goes through a private view once as a batch of two: row 0 with the
changes, row 1 untouched. Batch norm in eval mode treats each row on its own, so row 1
is exactly the ordinary pass, and every layer's change is measured on full-resolution
outputs, side by side in one pass: ‖changed − untouched‖ / ‖untouched‖.

- Switching off channels sets them to zero in the layer's output (all channels when
  none are named); the layers after it see the zeros.
- Bypassing a residual block (torchvision's BasicBlock and Bottleneck, in ResNets and
  ResNeXts) drops its residual branch: the block passes on only what its shortcut
  carries, through the block's final ReLU (for a block without downsampling that is its
  input itself). Veit, Wilber & Belongie (2016) showed that most single blocks can go.

The shared model is never touched: the hooks live on the view and are removed in ``finally``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.resnet import BasicBlock, Bottleneck

from explorer.analysis.summary import LayerTable
from explorer.core.errors import UserError
from explorer.core.registry import ArchSpec
from explorer.runs.attribution import RUNNING
from explorer.runs.capture import _Recorder, record
from explorer.runs.layer_choice import check_once, split_call
from explorer.runs.capture_results import Capture
from explorer.runs.reduction import reduce, reduce_output
from explorer.runs.private_views import lent_view

RESIDUAL_BLOCKS = ("BasicBlock", "Bottleneck")
_CHANNELS = re.compile(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?")


@dataclass(frozen=True)
class Plan:
    """What to change: (layer, channels) pairs to switch off, and residual blocks to bypass."""

    ablations: tuple[tuple[str, tuple[int, ...]], ...] = ()
    bypasses: tuple[str, ...] = ()

    def describe(self) -> list[str]:
        switched = [f"{layer}: {compact(channels)} switched off" for layer, channels in self.ablations]
        return switched + [f"{block} bypassed (residual branch off)" for block in self.bypasses]

    def __bool__(self) -> bool:
        return bool(self.ablations or self.bypasses)


def compact(channels: tuple[int, ...]) -> str:
    """0,3,8-15 for (0, 3, 8, 9, …, 15)."""
    parts, run = [], []
    for channel in channels:
        if run and channel == run[-1] + 1:
            run.append(channel)
            continue
        if run:
            parts.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
        run = [channel]
    if run:
        parts.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
    return ",".join(parts)


def parse_channels(text: str | None, count: int, layer: str) -> tuple[int, ...]:
    """"0,3,8-15" as channel numbers below ``count``; empty or None means every channel."""
    if text is None or not text.strip():
        return tuple(range(count))
    chosen: set[int] = set()
    for part in text.split(","):
        match = _CHANNELS.fullmatch(part)
        if not match or (match[2] is not None and int(match[2]) < int(match[1])):
            raise UserError(f"Channels are numbers and ranges such as 0,3,8-15 (low end first); "
                            f"{part.strip()[:20]!r} is not one.")
        low, high = int(match[1]), int(match[2] or match[1])
        if high >= count:
            raise UserError(f"{layer} has channels 0 to {count - 1}; {high} is not one of them.")
        chosen.update(range(low, high + 1))
    return tuple(sorted(chosen))


def parse_ablation(spec: ArchSpec, table: LayerTable, text: str) -> tuple[str, tuple[int, ...]]:
    """"LAYER[:CHANNELS]" (the command line's --ablate) as (layer, channels), checked against the table."""
    layer, _, channels = text.partition(":")
    name, dims = check_once(spec, table, layer.strip())
    return name, parse_channels(channels, dims[1], name)


def check_bypass(spec: ArchSpec, table: LayerTable, block: str) -> str:
    """``block`` if it is a residual block of this network, else a ``UserError`` listing those it has."""
    blocks = list(table.calls.loc[table.calls["type"].isin(RESIDUAL_BLOCKS), "name"])
    if block in blocks:
        return block
    if not blocks:
        raise UserError(f"{spec.name} has no residual blocks (no shortcuts), so there is nothing to bypass.")
    kinds = dict(zip(table.calls["name"], table.calls["type"]))
    what = f"{block[:60]} is a {kinds[block]}, not a residual block" if block in kinds else \
        f"{spec.name} has no layer called {block[:60]!r}"
    raise UserError(f"{what}; the residual blocks of {spec.name} are {blocks[0]}, {blocks[1]}, … {blocks[-1]}.")


@dataclass(frozen=True)
class Intervention:
    """The same picture with and without the plan: both passes reduced, and each call's change."""

    plan: Plan
    untouched: Capture
    changed: Capture
    changes: tuple[float | None, ...]  # per layer call: ‖changed − untouched‖ / ‖untouched‖ (None: no tensor)

    @property
    def first_touched(self) -> int:
        """Index of the first call whose output the plan changed (later calls can only follow)."""
        names = {layer for layer, _ in self.plan.ablations} | set(self.plan.bypasses)
        return min(layer.index for layer in self.untouched.layers if layer.name in names)


def _zero_in_first_row(channels: tuple[int, ...]):
    index = torch.tensor(channels)

    def hook(_module, _args, output):
        output = output.clone()
        output[0, index.to(output.device)] = 0
        return output
    return hook


def _bypass_in_first_row(block: nn.Module, handles: list) -> None:
    """Row 0 of the block's output becomes ReLU(shortcut), read off the block's own downsample call."""
    kept = {}
    if block.downsample is not None:
        handles.append(block.downsample.register_forward_hook(lambda _m, _a, out: kept.update(shortcut=out.clone())))

    def hook(_module, args, output):
        shortcut = kept.pop("shortcut", args[0])
        output = output.clone()
        output[0] = F.relu(shortcut[0])
        return output
    handles.append(block.register_forward_hook(hook))


class _BothRows(_Recorder):
    """Keeps row 0 (the changed pass) as a capture does, and beside it row 1 and the change between them."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__(model, reduce_now=True)
        self.untouched: dict[int, dict] = {}
        self.change: dict[int, float] = {}

    def hook(self, module, args, output) -> None:
        self.last_call = None
        super().hook(module, args, output)
        index = self.last_call
        if index is None or not isinstance(output, torch.Tensor) or output.shape[0] != 2:
            return
        changed, untouched = output[0].detach(), output[1].detach()
        base = float(torch.linalg.vector_norm(untouched))  # float32 is plenty for a share of a norm
        moved = float(torch.linalg.vector_norm(changed - untouched))
        self.change[index] = moved / base if base > 0 else float(moved > 0)
        self.untouched[index] = reduce_output(output[1].detach())


def intervene(spec: ArchSpec, model: nn.Module, tensor: torch.Tensor, plan: Plan) -> Intervention:
    """Run the picture with ``plan`` and without it, on a private view of ``model``."""
    device = next(model.parameters()).device
    with RUNNING, lent_view(spec, model) as view:
        handles: list = []
        try:
            for layer, channels in plan.ablations:
                handles.append(view.get_submodule(split_call(layer)[0]).register_forward_hook(_zero_in_first_row(channels)))
            for block in plan.bypasses:
                module = view.get_submodule(block)
                if not isinstance(module, (BasicBlock, Bottleneck)):
                    raise UserError(f"{block} is not a residual block.")
                _bypass_in_first_row(module, handles)
            recorder = _BothRows(view)
            x = tensor[:1].to(device)
            calls, output = record(view, torch.cat([x, x]), recorder=recorder)
        finally:
            for handle in handles:
                handle.remove()
    one_row = [[name, kind, depth, (1, *shape[1:]) if shape else shape, kept] for name, kind, depth, shape, kept in calls]
    untouched_calls = [[*call[:4], recorder.untouched.get(i)] for i, call in enumerate(one_row)]
    changes = tuple(recorder.change.get(i) for i in range(len(calls)))
    return Intervention(plan, reduce(untouched_calls, output[1:]), reduce(one_row, output), changes)
