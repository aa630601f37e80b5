"""A gallery picture of renders: for each channel its render, its three best dataset crops and its two numbers.

Pure Pillow, so the command line can write it (``microscope --gallery FILE``) and a
note can show it: one tile per channel, the render scaled up with square pixels, the
crops beside it, and under them "render A · best example B" so the picture never
claims more than the numbers do.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

TILE = 128  # pixels of the scaled-up render
CROP = 40  # pixels of each scaled-up example crop
CROPS = 3
MARGIN = 8
TEXT = 34  # room for two lines of caption
COLUMNS = 4


@dataclass(frozen=True)
class Tile:
    channel: int
    render: np.ndarray  # H×W×C uint8
    activation: float
    dataset_best: float
    crops: tuple[np.ndarray, ...]  # the best examples' crops, best first


def _picture(pixels: np.ndarray, side: int) -> Image.Image:
    array = pixels[..., 0] if pixels.ndim == 3 and pixels.shape[-1] == 1 else pixels
    image = Image.fromarray(np.ascontiguousarray(array)).convert("RGB")
    scale = side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.NEAREST)  # square pixels: nothing invented between them


def gallery(tiles: list[Tile], title: str) -> bytes:
    """The gallery as PNG bytes."""
    font = ImageFont.load_default(size=12)
    width = TILE + MARGIN + CROP + 2 * MARGIN
    height = TILE + TEXT + MARGIN
    rows = -(-len(tiles) // COLUMNS)
    canvas = Image.new("RGB", (COLUMNS * width + MARGIN, rows * height + 2 * MARGIN + 18), "white")
    draw = ImageDraw.Draw(canvas)
    draw.text((MARGIN, MARGIN), title, fill="black", font=font)
    for index, tile in enumerate(tiles):
        left = MARGIN + (index % COLUMNS) * width
        top = 2 * MARGIN + 18 + (index // COLUMNS) * height
        canvas.paste(_picture(tile.render, TILE), (left, top))
        for n, crop in enumerate(tile.crops[:CROPS]):
            canvas.paste(_picture(crop, CROP), (left + TILE + MARGIN, top + n * (CROP + 4)))
        verdict = "" if tile.activation > tile.dataset_best else "  (below the examples)"
        draw.text((left, top + TILE + 3), f"channel {tile.channel}{verdict}", fill="black", font=font)
        draw.text((left, top + TILE + 17), f"render {tile.activation:.2f} · best example {tile.dataset_best:.2f}",
                  fill="black", font=font)
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return buffer.getvalue()
