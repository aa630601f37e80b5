"""Small grey pictures made by program, encoded as PNG bytes.

Samples, scans and drawn digits are handed on as encoded files, so that they take
exactly the path an uploaded picture takes (``explorer.inputs.images``).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def grey_png(pixels: np.ndarray) -> bytes:
    """A 2-D array of grey levels 0–255 as the bytes of an 8-bit greyscale PNG."""
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8), mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def picture_png(pixels: np.ndarray) -> bytes:
    """An H×W×1 (grey) or H×W×3 (colour) uint8 array as the bytes of a PNG."""
    buffer = io.BytesIO()
    Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def png_pixels(data: bytes) -> np.ndarray:
    """A PNG written by ``picture_png`` back as its H×W×C uint8 array."""
    pixels = np.asarray(Image.open(io.BytesIO(data), formats=["PNG"]))
    return pixels[..., None] if pixels.ndim == 2 else pixels
