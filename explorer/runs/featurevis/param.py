"""The image a render optimises: Fourier coefficients scaled by 1/frequency, decorrelated colour, a sigmoid.

Pixels optimised directly turn into high-frequency noise, because every frequency is
as easy to change as any other. Storing the picture as its 2-D Fourier coefficients,
each multiplied by 1/frequency, makes low frequencies as cheap to move as the rest
(Lucid's ``param/spatial.py``, ``fft_image``). Colour gets the same treatment: the three
channels are kept in a decorrelated space and mixed back with the square root of
ImageNet's colour correlation (Lucid's ``param/color.py``), then a sigmoid keeps each
value inside 0…1. One-channel networks get one grey channel and no colour mixing.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

# Lucid's ``color_correlation_svd_sqrt``: the square root of ImageNet's RGB correlation, from an SVD.
COLOR_CORRELATION_SVD_SQRT = torch.tensor([[0.26, 0.09, 0.02],
                                           [0.27, 0.00, -0.05],
                                           [0.27, -0.09, 0.03]])
# Scaled so the largest column has length 1, as Lucid does before mixing.
COLOR_MIX = COLOR_CORRELATION_SVD_SQRT / COLOR_CORRELATION_SVD_SQRT.norm(dim=0).max()
INITIAL_SPREAD = 0.01  # standard deviation of the random starting coefficients (Lucid's ``sd``)
OUTPUT_SCALE = 4.0  # Lucid divides the inverse transform by 4 so the start sits near sigmoid(0) = grey


def frequencies(height: int, width: int) -> torch.Tensor:
    """|f| of every coefficient ``torch.fft.rfft2`` keeps for a height×width picture (cycles per pixel)."""
    rows = torch.from_numpy(np.fft.fftfreq(height)).float()[:, None]
    columns = torch.from_numpy(np.fft.rfftfreq(width)).float()[None, :]
    return torch.sqrt(rows * rows + columns * columns)


def spectrum_scale(height: int, width: int, decay_power: float = 1.0) -> torch.Tensor:
    """1/frequency (the constant term treated like the lowest real frequency), times √(h·w)."""
    floor = 1.0 / max(height, width)
    return (1.0 / frequencies(height, width).clamp(min=floor) ** decay_power) * float(np.sqrt(height * width))


def decorrelated_to_rgb(image: torch.Tensor) -> torch.Tensor:
    """N×3×H×W in the decorrelated colour space → the same in RGB (each pixel multiplied by COLOR_MIX)."""
    return torch.einsum("nchw,dc->ndhw", image, COLOR_MIX.to(image))


def rgb_to_decorrelated(image: torch.Tensor) -> torch.Tensor:
    """The inverse of ``decorrelated_to_rgb``."""
    return torch.einsum("nchw,dc->ndhw", image, torch.linalg.inv(COLOR_MIX).to(image))


class FourierImage(nn.Module):
    """``batch`` pictures of ``channels`` × ``size`` × ``size``, stored as scaled Fourier coefficients.

    Calling it returns pictures with values in 0…1, ready to be normalised for a network.
    """

    def __init__(self, size: int, channels: int, batch: int = 1, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.size, self.channels = size, channels
        self.register_buffer("scale", spectrum_scale(size, size))
        shape = (batch, channels, *self.scale.shape, 2)  # real and imaginary parts as a last axis of two
        self.coefficients = nn.Parameter(INITIAL_SPREAD * torch.randn(shape, generator=generator))

    def spatial(self) -> torch.Tensor:
        """The pictures before colour mixing and the sigmoid (unbounded values)."""
        spectrum = torch.view_as_complex(self.coefficients) * self.scale
        return torch.fft.irfft2(spectrum, s=(self.size, self.size), norm="backward") / OUTPUT_SCALE

    def forward(self) -> torch.Tensor:
        image = self.spatial()
        if self.channels == 3:
            image = decorrelated_to_rgb(image)
        return torch.sigmoid(image)

    @torch.no_grad()
    def set_spatial(self, image: torch.Tensor) -> None:
        """Store ``image`` (what ``spatial`` should return) as coefficients: the parameterisation inverted."""
        spectrum = torch.fft.rfft2(image * OUTPUT_SCALE, norm="backward") / self.scale
        self.coefficients.copy_(torch.view_as_real(spectrum))
