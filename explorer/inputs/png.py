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
