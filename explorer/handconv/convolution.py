"""A 2-D convolution worked out by hand, one window at a time, and checked against PyTorch.

For every position of the filter this module lists the input cells it reads, the
products and their sum, written out the way a student would on paper
("0·1 + 1·1 + 1·1 + 0·1 = 2 → output (0, 0)"). The same input and filter then go
through ``torch.nn.functional.conv2d``; if the two disagree that is a bug here, and
``HandArithmeticMismatch`` is raised rather than showing a wrong number.

Like PyTorch, the filter is not flipped (strictly, a cross-correlation). One input
channel, one filter. Pooling and ReLU live in pooling.py, the parameter count in counting.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from explorer.core.errors import UserError

# Hand sums and torch's float64 sums may differ in the last bits because they add in a different order.
TOLERANCE = 1e-9


class HandArithmeticMismatch(AssertionError):
    """The hand-written arithmetic disagrees with PyTorch: a bug in this module, never the user's doing."""


def fmt(value: float) -> str:
    """A number as a person writes it: 2, 0.5, 0.11, −1 (two decimals at most, a real minus sign)."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text.replace("-", "−")


def fmt_factor(value: float) -> str:
    """A number inside a product: negatives get brackets, 1·(−1)."""
    text = fmt(value)
    return f"({text})" if text.startswith("−") else text


@dataclass(frozen=True)
class ConvSettings:
    stride: int = 1
    padding: int = 0
    dilation: int = 1
    bias: float = 0.0


@dataclass(frozen=True)
class Window:
    """One position of a filter or pooling window: the cells it reads and the number it writes."""

    out_row: int
    out_col: int
    cells: tuple[tuple[int, int], ...]  # (row, col) in the padded input, filter cells row by row
    inputs: tuple[float, ...]
    value: float
    text: str


@dataclass(frozen=True)
class ConvWalk:
    """A whole convolution: every window in order, the feature map, and PyTorch's answer for it."""

    image: np.ndarray
    padded: np.ndarray
    kernel: np.ndarray
    settings: ConvSettings
    windows: tuple[Window, ...]
    output: np.ndarray  # assembled from the hand-written sums
    torch_output: np.ndarray  # F.conv2d on the same numbers
    height_formula: str
    width_formula: str

    @property
    def max_difference(self) -> float:
        return float(np.abs(self.output - self.torch_output).max())


def conv_output_size(n: int, k: int, stride: int, padding: int, dilation: int) -> int:
    """⌊(n + 2p − d(k − 1) − 1)/s⌋ + 1, PyTorch's rule for one side of a convolution's output."""
    return (n + 2 * padding - dilation * (k - 1) - 1) // stride + 1


def conv_size_formula(side: str, n: int, k: int, stride: int, padding: int, dilation: int) -> str:
    """The size rule with this side's numbers filled in, ending in the answer."""
    inner = n + 2 * padding - dilation * (k - 1) - 1
    return (
        f"⌊({side} + 2p − d(k − 1) − 1)/s⌋ + 1"
        f" = ⌊({n} + 2·{padding} − {dilation}·({k} − 1) − 1)/{stride}⌋ + 1"
        f" = ⌊{inner}/{stride}⌋ + 1 = {conv_output_size(n, k, stride, padding, dilation)}"
    )


def check_numbers(grid: np.ndarray, what: str) -> np.ndarray:
    """``grid`` as a float array, or one sentence naming the first empty or non-numeric cell."""
    try:
        values = np.asarray(grid, dtype=float)
    except (TypeError, ValueError):
        raise UserError(f"Every {what} cell needs a number.") from None
    if values.ndim != 2 or values.size == 0:
        raise UserError(f"The {what} must be a grid with at least one cell.")
    bad = np.argwhere(~np.isfinite(values))
    if len(bad):
        row, col = bad[0]
        raise UserError(f"Every {what} cell needs a number; cell ({row}, {col}) is empty.")
    return values


def conv_problem(image_shape: tuple[int, int], k: int, settings: ConvSettings) -> str | None:
    """One sentence if these settings cannot produce a feature map, else ``None``."""
    if settings.stride < 1 or settings.dilation < 1 or settings.padding < 0:
        return "Stride and dilation must be at least 1, and padding cannot be negative."
    span = settings.dilation * (k - 1) + 1
    for side, n in zip(("high", "wide"), image_shape):
        if span > n + 2 * settings.padding:
            spread = f" (a {k}×{k} kernel spread out by dilation {settings.dilation})" if settings.dilation > 1 else ""
            return (
                f"The filter is {span} cells {side}{spread} but the padded input is only "
                f"{n + 2 * settings.padding} cells {side}; use a smaller kernel or dilation, or more padding."
            )
    return None


def convolve_by_hand(image: np.ndarray, kernel: np.ndarray, settings: ConvSettings = ConvSettings()) -> ConvWalk:
    """Every window of the convolution, written out, with PyTorch's result alongside.

    Raises ``UserError`` for settings that leave no room for the filter, and
    ``HandArithmeticMismatch`` if the hand sums disagree with ``F.conv2d``.
    """
    image = check_numbers(image, "input")
    kernel = check_numbers(kernel, "filter")
    if kernel.shape[0] != kernel.shape[1]:
        raise UserError("The filter must be square.")
    k = kernel.shape[0]
    problem = conv_problem(image.shape, k, settings)
    if problem:
        raise UserError(problem)
    s, p, d = settings.stride, settings.padding, settings.dilation
    padded = np.pad(image, p)
    out_h = conv_output_size(image.shape[0], k, s, p, d)
    out_w = conv_output_size(image.shape[1], k, s, p, d)
    weights = kernel.ravel().tolist()
    windows = []
    output = np.zeros((out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            cells = tuple((i * s + a * d, j * s + b * d) for a in range(k) for b in range(k))
            inputs = tuple(float(padded[r, c]) for r, c in cells)
            value = sum(x * w for x, w in zip(inputs, weights)) + settings.bias
            output[i, j] = value
            windows.append(Window(i, j, cells, inputs, value, _conv_text(inputs, weights, settings.bias, value, i, j)))
    torch_output = _torch_conv(image, kernel, settings)
    walk = ConvWalk(
        image=image,
        padded=padded,
        kernel=kernel,
        settings=settings,
        windows=tuple(windows),
        output=output,
        torch_output=torch_output,
        height_formula=conv_size_formula("H", image.shape[0], k, s, p, d),
        width_formula=conv_size_formula("W", image.shape[1], k, s, p, d),
    )
    check_against_torch(output, torch_output, "conv2d")
    return walk


def _conv_text(inputs, weights, bias: float, value: float, row: int, col: int) -> str:
    terms = " + ".join(f"{fmt_factor(x)}·{fmt_factor(w)}" for x, w in zip(inputs, weights))
    if bias:
        terms += f" + {fmt_factor(bias)} (bias)"
    return f"{terms} = {fmt(value)} → output ({row}, {col})"


def _torch_conv(image: np.ndarray, kernel: np.ndarray, settings: ConvSettings) -> np.ndarray:
    # float64 so that the only possible disagreement with the hand sums is a real bug, not rounding.
    x = torch.tensor(image, dtype=torch.float64)[None, None]
    w = torch.tensor(kernel, dtype=torch.float64)[None, None]
    b = torch.tensor([settings.bias], dtype=torch.float64)
    y = F.conv2d(x, w, b, stride=settings.stride, padding=settings.padding, dilation=settings.dilation)
    return y[0, 0].numpy()


def check_against_torch(hand: np.ndarray, reference: np.ndarray, what: str) -> None:
    """Raise ``HandArithmeticMismatch`` unless the hand-made map equals PyTorch's, shape and values."""
    if hand.shape != reference.shape:
        raise HandArithmeticMismatch(f"{what}: hand shape {hand.shape} but torch gives {reference.shape}")
    if hand.size and not np.allclose(hand, reference, rtol=0, atol=TOLERANCE):
        worst = np.unravel_index(np.abs(hand - reference).argmax(), hand.shape)
        raise HandArithmeticMismatch(f"{what}: hand {hand[worst]} but torch {reference[worst]} at {worst}")

