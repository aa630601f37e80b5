"""The first convolution's filters drawn as small pictures: in colour for RGB networks, grey for one-channel ones.

Each filter is stretched to its own full range (its most negative weight black, its most
positive white, across all its input channels together, so a filter's colour balance is
kept), enlarged in square blocks and laid out in a grid. Trained ImageNet filters show
edges at several angles and colour blobs; random ones show noise.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from explorer.figures.feature_maps import tiled


def first_convolution(model: nn.Module) -> tuple[str, np.ndarray] | None:
    """The name and weights (out × in × kh × kw, float32) of the first Conv2d a picture meets, or None."""
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            with torch.no_grad():
                return name, module.weight.detach().float().cpu().numpy().copy()
    return None


def filter_grid(weights: np.ndarray, tile: int | None = None, gap: int = 3, columns: int | None = None) -> np.ndarray:
    """All filters as one RGB image, each about ``tile`` pixels a side (square blocks, no smoothing);
    by default larger tiles when there are only a few filters (LeNet-5's 6, the toy's 4)."""
    count, channels, height, width = weights.shape
    tile = tile or (96 if count <= 16 else 48)
    low = weights.min(axis=(1, 2, 3), keepdims=True)
    span = weights.max(axis=(1, 2, 3), keepdims=True) - low
    scaled = np.where(span > 0, (weights - low) / np.where(span > 0, span, 1), 0.5)
    # Colour when the filter reads three channels (R, G, B); otherwise the mean over its inputs, in grey.
    shown = scaled.transpose(0, 2, 3, 1) if channels == 3 else np.repeat(scaled.mean(axis=1)[..., None], 3, axis=3)
    pixels = np.rint(shown * 255).astype(np.uint8)
    factor = max(1, tile // max(height, width))
    return tiled(pixels, columns or min(count, max(8, math.ceil(math.sqrt(count * 2)))), gap, factor)
