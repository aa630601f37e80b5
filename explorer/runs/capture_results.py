"""What a capture keeps of one forward pass: per layer call, exact statistics and display-sized maps.

These are plain data (numpy arrays and numbers, no tensors and no modules), so a
capture can sit in a server-wide cache and be redrawn any number of times without
the network running again. ``explorer.runs.reduction`` makes them; the feature-map
figures read them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DISPLAY_SIDE = 64  # the most pixels a side a kept map has (larger outputs are averaged in blocks)
KEPT_CHANNELS = 64  # the first ones and the strongest ones are kept: all the page's grid can show
MAX_VECTOR = 65_536  # values kept of a 1-D output


@dataclass(frozen=True)
class LayerStats:
    """Exact numbers for one layer's whole output (first image of the batch)."""

    minimum: float
    maximum: float
    mean: float
    zero_share: float  # share of values that are exactly 0
    dead_channels: int | None  # channels that are 0 everywhere (None for 1-D outputs)
    channels: int


@dataclass(frozen=True)
class LayerOutput:
    """One module call of the forward pass, reduced for display."""

    index: int
    name: str  # dotted name as in named_modules(), "(call n)" for repeated calls
    type: str
    depth: int
    shape: tuple[int, ...]  # the full output shape, batch first
    stats: LayerStats | None
    channel_means: np.ndarray | None = None  # (C,) float32, every channel, full resolution
    maps: np.ndarray | None = None  # (K, h, w) uint8, quantised per channel
    map_channels: np.ndarray | None = None  # (K,) which channel each kept map is
    map_low: np.ndarray | None = None  # (K,) float32: value of q = 0
    map_high: np.ndarray | None = None  # (K,) float32: value of q = 255
    pool_factor: int = 1  # maps were averaged over pool_factor × pool_factor blocks
    vector: np.ndarray | None = None  # 1-D outputs, float32

    @property
    def kind(self) -> str:
        if self.maps is not None:
            return "maps"
        return "vector" if self.vector is not None else "other"

    @property
    def shape_text(self) -> str:
        return "×".join(str(n) for n in self.shape[1:]) if len(self.shape) > 1 else "—"

    def channel_maps(self, channels: Sequence[int]) -> np.ndarray:
        """Float32 maps (n, h, w) of the given channel numbers, which must be kept ones."""
        rows = np.searchsorted(self.map_channels, channels)
        if not np.array_equal(self.map_channels[rows], np.asarray(channels)):
            raise KeyError("a requested channel was not kept")
        scale = (self.map_high[rows] - self.map_low[rows]) / 255
        return self.map_low[rows, None, None] + self.maps[rows].astype(np.float32) * scale[:, None, None]

    def ordered_channels(self, order: str, count: int) -> np.ndarray:
        """The first ``count`` channels by index, or the ``count`` strongest by mean, strongest first."""
        count = min(count, KEPT_CHANNELS, len(self.channel_means))
        if order == "strongest":
            return np.argsort(-self.channel_means, kind="stable")[:count]
        return np.arange(count)


@dataclass(frozen=True)
class Capture:
    """Every layer call of one forward pass, plus the network's final output."""

    layers: tuple[LayerOutput, ...]
    logits: np.ndarray  # the model's output for the first image, float32

    @property
    def nbytes(self) -> int:
        """Bytes of array data kept (arrays shared between entries count once)."""
        seen: dict[int, int] = {}
        for layer in self.layers:
            for array in (layer.channel_means, layer.maps, layer.map_channels, layer.map_low,
                          layer.map_high, layer.vector):
                if array is not None:
                    seen[id(array)] = array.nbytes
        return sum(seen.values()) + self.logits.nbytes
