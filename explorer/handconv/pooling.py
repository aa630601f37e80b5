"""After the convolution: pooling window by window, then ReLU, each checked against PyTorch.

Pooling is written out like the convolution ("max(2, 2, 2, 0) = 2 → output (0, 0)")
and checked against ``F.max_pool2d`` / ``F.avg_pool2d``; ReLU against ``torch.relu``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from explorer.core.errors import UserError
from explorer.handconv.convolution import Window, check_against_torch, fmt, fmt_factor

POOL_KINDS = ("max", "avg")


@dataclass(frozen=True)
class PoolSettings:
    kind: str = "max"
    kernel: int = 2
    stride: int = 2
    ceil_mode: bool = False


@dataclass(frozen=True)
class PoolWalk:
    """Every pooling window in order, the pooled map, and PyTorch's answer for it."""

    source: np.ndarray
    settings: PoolSettings
    windows: tuple[Window, ...]
    output: np.ndarray
    torch_output: np.ndarray
    height_formula: str
    width_formula: str


def pool_output_size(n: int, k: int, stride: int, ceil_mode: bool) -> int:
    """PyTorch's pooling size rule without padding: ⌊(n − k)/s⌋ + 1, or ⌈…⌉ + 1 with ``ceil_mode``.

    With ``ceil_mode`` a last window that would start past the edge is dropped, as torch does.
    """
    if not ceil_mode:
        return (n - k) // stride + 1
    out = -(-(n - k) // stride) + 1
    return out - 1 if (out - 1) * stride >= n else out


def pool_size_formula(side: str, n: int, k: int, stride: int, ceil_mode: bool) -> str:
    left, right = ("⌈", "⌉") if ceil_mode else ("⌊", "⌋")
    rounded = -(-(n - k) // stride) if ceil_mode else (n - k) // stride
    text = f"{left}({side} − k)/s{right} + 1 = {left}({n} − {k})/{stride}{right} + 1"
    text += f" = {rounded} + 1 = {rounded + 1}"
    answer = pool_output_size(n, k, stride, ceil_mode)
    if answer != rounded + 1:
        text += f", but the last window would start past the edge, so it is dropped: {answer}"
    return text


def pool_problem(map_shape: tuple[int, int], settings: PoolSettings) -> str | None:
    """One sentence if this pooling cannot run on a map of this shape, else ``None``."""
    if settings.kind not in POOL_KINDS:
        return f"Pooling is either {' or '.join(POOL_KINDS)}."
    if settings.kernel < 1 or settings.stride < 1:
        return "The pooling kernel and stride must be at least 1."
    rows, cols = map_shape
    if settings.kernel > rows or settings.kernel > cols:
        k = settings.kernel
        return (
            f"The {k}×{k} pooling window is larger than the {rows}×{cols} feature map; "
            "choose a smaller pooling kernel."
        )
    return None


def pool_by_hand(source: np.ndarray, settings: PoolSettings = PoolSettings()) -> PoolWalk:
    """Every pooling window written out, with PyTorch's pooled map alongside."""
    problem = pool_problem(source.shape, settings)
    if problem:
        raise UserError(problem)
    k, s = settings.kernel, settings.stride
    out_h = pool_output_size(source.shape[0], k, s, settings.ceil_mode)
    out_w = pool_output_size(source.shape[1], k, s, settings.ceil_mode)
    windows = []
    output = np.zeros((out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            # With ceil_mode the last window may hang over the edge; only the cells inside count.
            rows = range(i * s, min(i * s + k, source.shape[0]))
            cols = range(j * s, min(j * s + k, source.shape[1]))
            cells = tuple((r, c) for r in rows for c in cols)
            inputs = tuple(float(source[r, c]) for r, c in cells)
            listed = ", ".join(fmt(x) for x in inputs)
            if settings.kind == "max":
                value = max(inputs)
                text = f"max({listed}) = {fmt(value)} → output ({i}, {j})"
            else:
                value = sum(inputs) / len(inputs)
                total = " + ".join(fmt_factor(x) for x in inputs)
                text = f"({total})/{len(inputs)} = {fmt(value)} → output ({i}, {j})"
            output[i, j] = value
            windows.append(Window(i, j, cells, inputs, value, text))
    torch_output = _torch_pool(source, settings)
    check_against_torch(output, torch_output, f"{settings.kind}_pool2d")
    return PoolWalk(
        source=source,
        settings=settings,
        windows=tuple(windows),
        output=output,
        torch_output=torch_output,
        height_formula=pool_size_formula("H", source.shape[0], k, s, settings.ceil_mode),
        width_formula=pool_size_formula("W", source.shape[1], k, s, settings.ceil_mode),
    )


def _torch_pool(source: np.ndarray, settings: PoolSettings) -> np.ndarray:
    x = torch.tensor(source, dtype=torch.float64)[None, None]
    pool = F.max_pool2d if settings.kind == "max" else F.avg_pool2d
    return pool(x, settings.kernel, settings.stride, ceil_mode=settings.ceil_mode)[0, 0].numpy()


def relu_by_hand(grid: np.ndarray) -> tuple[np.ndarray, int]:
    """max(0, x) for every cell, checked against ``torch.relu``; also how many cells it zeroed."""
    hand = np.where(grid > 0, grid, 0.0)
    check_against_torch(hand, torch.relu(torch.tensor(grid, dtype=torch.float64)).numpy(), "relu")
    return hand, int((grid < 0).sum())
