"""Reducing a layer's output the moment it appears: exact statistics, a few channels, display-sized, uint8.

A captured output is reduced inside its hook, before any later in-place operation
(AlexNet's ``ReLU(inplace=True)``, ResNet's ``out += identity``) can overwrite it,
and while it is still in the processor's cache, so no full-size copy is made; small
outputs are copied and reduced in batches after the pass instead (``explorer.runs.deferred``),
and a batch norm's is made from its input's (``explorer.runs.affine``).
What is kept:

- exact statistics of the whole output (min, max, mean, exact zeros, dead channels,
  each channel's mean);
- feature maps for at most ``2 × KEPT_CHANNELS`` channels (all of them up to that many,
  else the first ones and the strongest ones), averaged over blocks of a whole factor to
  at most ``DISPLAY_SIDE`` pixels a side, and stored as uint8 with each channel's own min
  and max to read the values back;
- 1-D outputs (fully-connected layers) as float32 vectors.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import torch
import torch.nn.functional as F

from explorer.runs.affine import Affine
from explorer.runs.capture_results import DISPLAY_SIDE, KEPT_CHANNELS, MAX_VECTOR, Capture, LayerOutput, LayerStats


def _chosen(means: np.ndarray) -> np.ndarray:
    """Which channels' maps are kept, per image of a stack (``means`` is images × channels), as a mask: all,
    or the first ones and the strongest ones as a stable sort takes them (as ``LayerOutput.ordered_channels``
    does), so every channel the page can ask for is kept, ties included. For large stacks a partition finds
    each image's ``KEPT_CHANNELS``-th strongest mean, ties with it taken in channel order as the sort would:
    0.027 ms against 0.108 for 14×512 means (the sort is quicker below ~2,000 means, and alone orders NaN).
    """
    count, channels = means.shape
    kept = np.zeros((count, channels), dtype=bool)
    kept[:, :KEPT_CHANNELS] = True
    if channels <= KEPT_CHANNELS:
        return kept
    negated = -means
    if means.size < 2048 or np.isnan(negated).any():
        strongest = np.argsort(negated, axis=1, kind="stable")[:, :KEPT_CHANNELS]
        kept[np.arange(count)[:, None], strongest] = True
        return kept
    bar = np.partition(negated, KEPT_CHANNELS - 1, axis=1)[:, KEPT_CHANNELS - 1:KEPT_CHANNELS]
    above, tied = negated < bar, negated == bar
    room = KEPT_CHANNELS - np.count_nonzero(above, axis=1)[:, None]
    kept |= above | (tied & (np.cumsum(tied, axis=1) <= room))
    return kept


def _stats(low: np.ndarray, high: np.ndarray, means: np.ndarray, nonzero: np.ndarray, size: int) -> list[LayerStats]:
    """Each image's exact statistics from its channels' (images × channels arrays), a few numpy calls for
    the whole stack: finishing the layers one by one cost 1.0 ms per ResNet-18 capture, now 0.2 ms."""
    count, channels = low.shape
    # np.add.reduce / n is what ndarray.mean does for float32: the same bits, 1.4 µs against 2.9.
    minimum, maximum = np.minimum.reduce(low, axis=1).tolist(), np.maximum.reduce(high, axis=1).tolist()
    mean = (np.add.reduce(means, axis=1) / channels).tolist()
    dead, values = np.count_nonzero((low == 0) & (high == 0), axis=1).tolist(), channels * size
    return [LayerStats(minimum[i], maximum[i], mean[i], 1 - float(nonzero[i]) / values, dead[i], channels)
            for i in range(count)]


def keeps_every_map(channels: int) -> bool:
    """Whether an output of this many channels keeps every channel's map (``reduce_maps``)."""
    return channels <= 2 * KEPT_CHANNELS


def reduce_maps(stack: torch.Tensor, stats_later: bool = False, scratch: bool = False) -> list[dict]:
    """Statistics and display maps of N outputs of one shape (N×C×H×W), in one go: each step runs once for
    the whole stack, so a network's many small outputs (ResNet's 7×7 and 14×14 layers) do not each pay the
    fixed cost of a dozen tensor operations. Per-channel arithmetic is done in numpy (1 µs a call against
    torch's 3–5 µs, the same float32 bits). With ``stats_later`` (one output, in its hook) the statistics
    are left to ``_finish``: just after a layer has run each numpy call costs several times what it does
    after the pass (ResNet-18 and AlexNet captures: about 1 ms less each, side by side). A ``scratch`` stack
    (a deferred copy) may be overwritten: its maps are quantised in place."""
    count, channels, height, width = stack.shape
    flat = stack.reshape(count * channels, height * width).float()
    # amin/amax/sum along rows: 0.2 ms on the CPU against 2.4 ms for aminmax(dim=...) (64×112×112). Along
    # some row widths under 64 amin and amax crawl (7×7 maps: 0.2 ms each for 14×512×49, sum 0.04); rows
    # widened to 64 with copies of their first values, which changes neither, take 0.21 ms for both.
    wide = torch.cat([flat, flat[:, :64 - flat.shape[1]]], 1) if 32 <= flat.shape[1] < 64 and len(flat) > 1024 else flat
    low, high = wide.amin(dim=1).cpu().numpy(), wide.amax(dim=1).cpu().numpy()
    factor, every = -(-max(height, width) // DISPLAY_SIDE), keeps_every_map(channels)
    # Where every channel's map is kept and whole blocks cover it, a channel's sum is its block sums' sum: one
    # pass fewer over the output (64×112×112 in a hook: 0.1 ms of about 1).
    summed = _block_sums(flat.reshape(-1, height, width), factor) if (
        every and factor > 1 and height % factor == 0 and width % factor == 0) else None
    sums = flat.sum(dim=1) if summed is None else summed.sum(dim=(1, 2))
    means = sums.cpu().numpy() / flat.shape[1]  # numpy's float32 division: torch's bits
    by_image, nonzero = (count, channels), _nonzero(flat.reshape(count, -1))
    stats = [(low, high, nonzero, height * width)] if stats_later and count == 1 else _stats(
        low.reshape(by_image), high.reshape(by_image), means.reshape(by_image), nonzero, height * width)
    # Every channel is kept up to 2 × KEPT_CHANNELS: the first and the strongest 64 of 128 are most of them
    # (3/4 in ResNet-18), and selecting them cost more than quantising the rest (its 28×28 batches: 0.5 ms
    # for _chosen and index_select in a capture, against 0.12 ms more quantising).
    if every:
        maps, lo, hi, owned = flat, low, high, scratch
        chosen, sizes = [np.arange(channels) for _ in range(count)], [channels] * count
    else:
        kept = _chosen(means.reshape(by_image))
        rows, sizes = np.flatnonzero(kept), kept.sum(axis=1).tolist()
        chosen = np.split(rows % channels, np.cumsum(sizes)[:-1])
        lo, hi, owned = low[rows], high[rows], True
        maps = flat.index_select(0, torch.from_numpy(rows).to(flat.device))
    maps = maps.reshape(-1, height, width)
    if factor > 1:
        maps, owned = (_block_sums(maps, factor) if summed is None else summed), True
    quantised = _quantised(maps, lo, hi, owned, factor * factor)
    ends = list(itertools.accumulate(sizes))
    return [{
        "stats": stats[i], "means": means[i * channels:(i + 1) * channels], "maps": quantised[end - n:end],
        "chosen": chosen[i], "map_low": lo[end - n:end], "map_high": hi[end - n:end], "factor": factor,
    } for i, (n, end) in enumerate(zip(sizes, ends))]


def _nonzero(rows: torch.Tensor) -> np.ndarray:
    """How many values of each row are not exactly 0. On the CPU numpy's ``count_nonzero(a != 0)``, row by row,
    reads the values once into a bool array it counts with vector instructions: 0.04 ms for 64×56×56 against
    0.14 ms for ``sign().abs_().sum()`` (1.2 ms for ``torch.count_nonzero``); along an axis is slower again."""
    if rows.device.type != "cpu":
        return rows.ne(0).sum(dim=1).cpu().numpy()
    return np.array([np.count_nonzero(row != 0) for row in rows.numpy()])


def count_nonzero(output: torch.Tensor) -> int:
    """How many values of ``output`` are not exactly 0."""
    return int(_nonzero(output.reshape(1, -1).float())[0])


def _quantised(maps: torch.Tensor, lo: np.ndarray, hi: np.ndarray, owned: bool, values: int) -> np.ndarray:
    """uint8 maps, ``(mean − lo) · 255 / (hi − lo)`` rounded to the nearest, from sums of ``values`` values.

    Shifting before scaling keeps a channel with a small range far from 0 exact, where ``x · scale + bias``
    would cancel. Where ``lo − ½ step`` is itself exact enough in float32 (off by under 1/4096 step: every
    channel whose ``|lo|`` is under 4096 steps), the rounding is folded into the shift and done by the cast's
    truncation, and the block means' division into the scale: 64×56×56 0.051 ms against 0.075 with
    ``round_``. A flat channel (max = min) gets scale 0: every value reads back as its min.
    """
    span = hi - lo  # 1/inf = 0, without numpy's divide-by-zero warning:
    scale = 1 / np.where(span > 0, span, np.inf) * 255
    folded = bool(np.all(np.abs(lo) * scale < 4096))
    shift = (lo - np.divide(0.5, scale, out=np.zeros_like(scale), where=scale > 0) if folded else lo) * values
    shift_t, scale_t = (torch.from_numpy(a.reshape(-1, 1, 1)).to(maps.device) for a in (shift, scale / values))
    # In place where the maps are our own (selected, summed or a scratch copy): no full-size temporaries.
    shifted = (maps.sub_(shift_t) if owned else maps - shift_t).mul_(scale_t)
    shifted = shifted if folded else shifted.round_()
    # To uint8 through numpy on the CPU: 0.04 ms against torch's 0.3 (64×56×56).
    return shifted.numpy().astype(np.uint8) if shifted.device.type == "cpu" else shifted.to(torch.uint8).cpu().numpy()


def _block_sums(maps: torch.Tensor, factor: int) -> torch.Tensor:
    """Sums over factor×factor blocks; rows and columns that do not fill a whole block are dropped.

    For small factors, adding strided slices is several times faster on the CPU than avg_pool2d, and summing
    the rows of each block first, then the columns, reads the map once instead of factor times (64×112×112
    at factor 2: 0.38 ms, against 0.98 ms for the factor² slices summed together and 1.4 ms for avg_pool2d;
    the common cases are 112 → 56, 224 → 56, 149 → 49). Torch adds the rows (0.05 ms against numpy's 0.10)
    and numpy the columns' stride-2 slices (0.056 ms against torch's 0.08–0.10), in the same order.
    """
    if factor > 4:
        return F.avg_pool2d(maps, factor, divisor_override=1)
    height, width = (maps.shape[1] // factor) * factor, (maps.shape[2] // factor) * factor
    rows = maps[:, 0:height:factor, :width] + maps[:, 1:height:factor, :width]
    for i in range(2, factor):
        rows += maps[:, i:height:factor, :width]
    cpu = rows.device.type == "cpu"
    rows = rows.numpy() if cpu else rows
    total = rows[:, :, 0::factor] + rows[:, :, 1::factor]
    for j in range(2, factor):
        total += rows[:, :, j::factor]
    return torch.from_numpy(total) if cpu else total


def _reduce_vector(x: torch.Tensor) -> dict:
    """A 1-D output's first ``MAX_VECTOR`` values, copied; when that is the whole output its statistics are
    taken from the copy after the pass: in the hook, just after a Linear layer streamed its weights through
    the cache, each small torch call costs 5–20 times as much (AlexNet's six vectors: 0.77 ms per capture)."""
    flat = x.reshape(-1).float()
    stats = {} if flat.numel() <= MAX_VECTOR else _vector_stats(flat)
    return {"vector": flat[:MAX_VECTOR].clone(), "size": flat.numel(), **stats}


def _vector_stats(flat: torch.Tensor) -> dict:
    return {"aminmax": (flat.min(), flat.max()), "mean": flat.mean(), "nonzero": count_nonzero(flat)}


def _finish(index: int, name: str, kind: str, depth: int, shape: tuple, raw: dict | None) -> LayerOutput:
    if raw is None:
        return LayerOutput(index, name, kind, depth, shape, None)
    if "maps" in raw:  # numpy arrays, and the statistics or what they are made of (``reduce_maps``)
        stats = raw["stats"]
        if not isinstance(stats, LayerStats):  # one output's low, high, nonzero and size, left for now
            stats = _stats(stats[0][None], stats[1][None], raw["means"][None], *stats[2:])[0]
        return LayerOutput(
            index, name, kind, depth, shape, stats, channel_means=raw["means"], maps=raw["maps"],
            map_channels=raw["chosen"], map_low=raw["map_low"], map_high=raw["map_high"],
            pool_factor=raw["factor"], vector=None,
        )
    if "mean" not in raw:  # the whole output, copied
        raw = {**raw, **_vector_stats(raw["vector"])}
    raw = {k: v.cpu().numpy() if isinstance(v, torch.Tensor) else v for k, v in raw.items()}
    low, high = raw["aminmax"]
    stats = LayerStats(float(low), float(high), float(raw["mean"]), 1 - float(raw["nonzero"]) / raw["size"],
                       None, raw["size"])
    return LayerOutput(index, name, kind, depth, shape, stats, vector=raw["vector"])


def reduce_output(copy: torch.Tensor, stats_later: bool = False) -> dict:
    return reduce_maps(copy[None], stats_later)[0] if copy.dim() == 3 else _reduce_vector(copy)


def _layer_of(copy, call: tuple, done: dict[int, LayerOutput], batched: dict) -> LayerOutput:
    """The ``LayerOutput`` of one call (index, name, type, depth, shape) from what it kept, reduced once per copy."""
    twin = done.get(id(copy)) if copy is not None else None
    if twin is not None:
        return dataclasses.replace(twin, index=call[0], name=call[1], type=call[2], depth=call[3])
    if isinstance(copy, Affine):  # a batch norm: from its input's layer (a container holding it may come first)
        layer = copy.layer(_layer_of(copy.source, call, done, batched), *call)
    else:
        if copy is None or isinstance(copy, dict):
            raw = copy
        else:
            raw = reduce_output(copy) if isinstance(copy, torch.Tensor) else batched[copy]
        layer = _finish(*call, raw)
    if copy is not None:
        done[id(copy)] = layer
    return layer


def reduce(calls: list[list], output, deferred=None) -> Capture:
    """Shrink recorded calls to statistics and display-sized maps, freeing each full copy as it goes.

    A call may hold its output reduced already (a dict), a full copy, a slot of ``deferred``
    (``explorer.runs.deferred.Deferred``), which stands for its copy until ``reduce_all`` reduces them,
    or an ``explorer.runs.affine.Affine`` (a batch norm, made from its input's layer).
    """
    batched = deferred.reduce_all() if deferred is not None else {}
    layers = []
    done: dict[int, LayerOutput] = {}  # copies shared by several calls are reduced once
    for index, call in enumerate(calls):
        name, kind, depth, shape, copy = call
        call[4] = None
        layers.append(_layer_of(copy, (index, name, kind, depth, shape), done, batched))
    logits = output if isinstance(output, torch.Tensor) else output.logits
    return Capture(layers=tuple(layers), logits=logits[0].float().cpu().numpy())
