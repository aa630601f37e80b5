"""Reducing a layer's output the moment it appears: exact statistics, a few channels, display-sized, uint8.

A captured output is reduced inside its hook, before any later in-place operation
(AlexNet's ``ReLU(inplace=True)``, ResNet's ``out += identity``) can overwrite it,
and while it is still in the processor's cache, so no full-size copy is made. What
is kept:

- exact statistics of the whole output (min, max, mean, exact zeros, dead channels,
  each channel's mean);
- feature maps for at most ``2 × KEPT_CHANNELS`` channels (the first ones and the
  strongest ones), averaged over blocks of a whole factor to at most ``DISPLAY_SIDE``
  pixels a side, and stored as uint8 with each channel's own min and max to read the
  values back;
- 1-D outputs (fully-connected layers) as float32 vectors.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F

from explorer.runs.capture_results import DISPLAY_SIDE, KEPT_CHANNELS, MAX_VECTOR, Capture, LayerOutput, LayerStats


def _reduce_maps(x: torch.Tensor) -> dict:
    """Statistics and display maps of one C×H×W output (runs after the pass, on the copy)."""
    channels = x.shape[0]
    flat = x.reshape(channels, -1).float()
    # amin/amax/sum along rows are several times faster on the CPU than aminmax(dim=...)
    # (measured: 0.2 ms against 2.4 ms for 64×112×112). Only the layer's total of non-zeros is needed.
    low, high = flat.amin(dim=1), flat.amax(dim=1)
    means = flat.sum(dim=1) / flat.shape[1]
    nonzero = _nonzero(flat)
    if channels <= KEPT_CHANNELS:  # every channel is kept: no selection to make
        chosen, maps, lo, hi = np.arange(channels), x.float(), low, high
    else:
        first = torch.arange(KEPT_CHANNELS, device=x.device)
        chosen = torch.cat([first, torch.topk(means, KEPT_CHANNELS).indices]).unique()
        maps, lo, hi = x.index_select(0, chosen).float(), low.index_select(0, chosen), high.index_select(0, chosen)
    factor = -(-max(x.shape[1:]) // DISPLAY_SIDE)
    if factor > 1:
        maps = _block_means(maps, factor)
    # A flat channel (max = min) gets scale 0, so every value reads back as its min.
    span = hi - lo
    scale = torch.where(span > 0, 255 / span, torch.zeros_like(span))
    quantised = _to_uint8(((maps - lo[:, None, None]) * scale[:, None, None]).round_())
    return {
        "low": low, "high": high, "means": means, "nonzero": nonzero,
        "maps": quantised, "chosen": chosen, "map_low": lo, "map_high": hi, "factor": factor,
    }


def _nonzero(values: torch.Tensor):
    """How many values are not exactly 0. On the CPU numpy's ``count_nonzero(a != 0)`` reads the values
    once into a bool array it counts with vector instructions: 0.04 ms for 64×56×56 against 0.14 ms for
    torch's ``sign().abs_().sum()`` (and 1.2 ms for ``torch.count_nonzero``)."""
    if values.device.type != "cpu":
        return values.sign().abs_().sum()
    return np.count_nonzero(values.numpy() != 0)


def _to_uint8(values: torch.Tensor) -> torch.Tensor:
    """Whole numbers 0–255 as uint8: on the CPU through numpy, whose conversion is vectorised
    (measured 0.04 ms against torch's 0.3 ms for 64×56×56); on a GPU where they are."""
    if values.device.type != "cpu":
        return values.to(torch.uint8)
    return torch.from_numpy(values.numpy().astype(np.uint8))


def _block_means(maps: torch.Tensor, factor: int) -> torch.Tensor:
    """Means over factor×factor blocks; rows and columns that do not fill a whole block are dropped.

    For small factors, adding strided slices is several times faster on the CPU than
    avg_pool2d (measured: 0.4 ms against 3.5 ms for 64×112×112), and these are the
    common cases (112 → 56, 224 → 56, 149 → 49).
    """
    if factor > 4:
        return F.avg_pool2d(maps, factor)
    height, width = (maps.shape[1] // factor) * factor, (maps.shape[2] // factor) * factor
    total = sum(maps[:, i:height:factor, j:width:factor] for i in range(factor) for j in range(factor))
    return total / factor**2


def _reduce_vector(x: torch.Tensor) -> dict:
    flat = x.reshape(-1).float()
    return {"vector": flat[:MAX_VECTOR].clone(), "aminmax": (flat.min(), flat.max()), "mean": flat.mean(),
            "nonzero": _nonzero(flat), "size": flat.numel()}


def _to_numpy(raw: dict) -> dict:
    return {k: v.cpu().numpy() if isinstance(v, torch.Tensor) else v for k, v in raw.items()}


def _finish(index: int, name: str, kind: str, depth: int, shape: tuple, raw: dict | None) -> LayerOutput:
    if raw is None:
        return LayerOutput(index, name, kind, depth, shape, None)
    raw = _to_numpy(raw)
    if "maps" in raw:
        channels = len(raw["means"])
        values = channels * int(np.prod(shape[2:]))
        stats = LayerStats(
            minimum=float(raw["low"].min()), maximum=float(raw["high"].max()),
            mean=float(raw["means"].mean()), zero_share=1 - float(raw["nonzero"]) / values,
            dead_channels=int(((raw["low"] == 0) & (raw["high"] == 0)).sum()), channels=channels,
        )
        return LayerOutput(
            index, name, kind, depth, shape, stats, channel_means=raw["means"], maps=raw["maps"],
            map_channels=raw["chosen"], map_low=raw["map_low"], map_high=raw["map_high"],
            pool_factor=raw["factor"], vector=None,
        )
    low, high = raw["aminmax"]
    stats = LayerStats(float(low), float(high), float(raw["mean"]), 1 - float(raw["nonzero"]) / raw["size"],
                       None, raw["size"])
    return LayerOutput(index, name, kind, depth, shape, stats, vector=raw["vector"])


def reduce_output(copy: torch.Tensor) -> dict:
    return _reduce_maps(copy) if copy.dim() == 3 else _reduce_vector(copy)


def reduce(calls: list[list], output) -> Capture:
    """Shrink recorded calls to statistics and display-sized maps, freeing each full copy as it goes."""
    layers = []
    done: dict[int, LayerOutput] = {}  # copies shared by several calls are reduced once
    for index, call in enumerate(calls):
        name, kind, depth, shape, copy = call
        call[4] = None
        twin = done.get(id(copy)) if copy is not None else None
        if twin is not None:
            layer = dataclasses.replace(twin, index=index, name=name, type=kind, depth=depth)
        else:
            raw = copy if copy is None or isinstance(copy, dict) else reduce_output(copy)
            layer = _finish(index, name, kind, depth, shape, raw)
            if copy is not None:
                done[id(copy)] = layer
        layers.append(layer)
    logits = output if isinstance(output, torch.Tensor) else output.logits
    return Capture(layers=tuple(layers), logits=logits[0].float().cpu().numpy())
