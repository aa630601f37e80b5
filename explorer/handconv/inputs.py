"""What the "Convolution by hand" page convolves: scoreboard digits, photo patches and filter presets.

Everything here is a small numpy array that a person can check by eye. The
scoreboard digits (``explorer.inputs.scoreboard``) are 5×5 lit/unlit patterns,
placed in the middle of a grid of any size. Photo patches come
from the sample photos that ship inside scikit-image, shrunk so that a 12×12
patch still shows an edge or a corner rather than noise.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from explorer.core.errors import UserError
from explorer.inputs.scoreboard import DIGIT_SIDE, DIGITS

MAX_GRID = 12  # the largest input side the page offers: 144 windows is already a long step-through
FILTER_PRESETS = ("ones", "vertical edge", "horizontal edge", "blur", "sharpen", "random")

# Sample photos inside scikit-image's wheel (no download): name shown -> loader name.
PHOTOS = {"cameraman": "camera", "cat": "chelsea", "coffee": "coffee", "astronaut": "astronaut", "rocket": "rocket"}
PHOTO_SIDE = 48  # photos are shrunk to 48×48 so that a 12×12 patch covers a quarter of the picture


def digit_grid(digit: int | None, rows: int = DIGIT_SIDE, cols: int = DIGIT_SIDE) -> np.ndarray:
    """A rows×cols grid of zeros with a scoreboard digit in the middle (``None``: a blank grid)."""
    check_grid_size(rows, cols)
    grid = np.zeros((rows, cols))
    if digit is None:
        return grid
    if rows < DIGIT_SIDE or cols < DIGIT_SIDE:
        raise UserError(f"A scoreboard digit needs a grid of at least {DIGIT_SIDE}×{DIGIT_SIDE} cells.")
    top, left = (rows - DIGIT_SIDE) // 2, (cols - DIGIT_SIDE) // 2
    grid[top : top + DIGIT_SIDE, left : left + DIGIT_SIDE] = DIGITS[digit]
    return grid


def check_grid_size(rows: int, cols: int) -> None:
    if not (1 <= rows <= MAX_GRID and 1 <= cols <= MAX_GRID):
        raise UserError(f"The input grid can be 1 to {MAX_GRID} cells high and wide.")


def resize_keeping_centre(grid: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """``grid`` on a rows×cols canvas, centred, cropped or padded with zeros.

    Used when the user changes the grid size: the cells they already toggled stay where they are
    relative to the middle instead of being thrown away.
    """
    check_grid_size(rows, cols)
    out = np.zeros((rows, cols))
    old_rows, old_cols = grid.shape
    copy_rows, copy_cols = min(rows, old_rows), min(cols, old_cols)
    src_top, src_left = (old_rows - copy_rows) // 2, (old_cols - copy_cols) // 2
    dst_top, dst_left = (rows - copy_rows) // 2, (cols - copy_cols) // 2
    out[dst_top : dst_top + copy_rows, dst_left : dst_left + copy_cols] = grid[
        src_top : src_top + copy_rows, src_left : src_left + copy_cols
    ]
    return out


@lru_cache(maxsize=len(PHOTOS))
def photo_thumbnail(name: str) -> np.ndarray:
    """A sample photo as PHOTO_SIDE×PHOTO_SIDE grey levels in [0, 1] (centre square, box-filtered)."""
    if name not in PHOTOS:
        raise UserError(f"There is no sample photo called {name!r}; choose one of {', '.join(PHOTOS)}.")
    import skimage.data  # imported here: only this input needs it, and it costs about a second
    from PIL import Image

    pixels = getattr(skimage.data, PHOTOS[name])()
    image = Image.fromarray(pixels).convert("L")
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    square = image.crop((left, top, left + side, top + side)).resize((PHOTO_SIDE, PHOTO_SIDE), Image.Resampling.BOX)
    thumb = np.asarray(square, dtype=float) / 255.0
    thumb.setflags(write=False)  # cached: callers must not change it
    return thumb


def photo_patch(name: str, top: int, left: int, rows: int, cols: int) -> np.ndarray:
    """A rows×cols patch of a shrunk sample photo, grey levels rounded to one decimal.

    Rounding keeps the written-out arithmetic short ("0.3·1") while the sums stay exact.
    """
    check_grid_size(rows, cols)
    thumb = photo_thumbnail(name)
    if not (0 <= top <= PHOTO_SIDE - rows and 0 <= left <= PHOTO_SIDE - cols):
        raise UserError(f"The patch must lie inside the {PHOTO_SIDE}×{PHOTO_SIDE} photo.")
    return np.round(thumb[top : top + rows, left : left + cols], 1)


def filter_preset(name: str, size: int, seed: int = 0) -> np.ndarray:
    """A size×size filter: one of FILTER_PRESETS."""
    if not 1 <= size <= MAX_GRID:
        raise UserError(f"The filter can be 1 to {MAX_GRID} cells wide.")
    half = size // 2
    if name == "ones":
        return np.ones((size, size))
    if name in ("vertical edge", "horizontal edge"):
        # Left half +1, right half −1 (a middle column stays 0): bright-to-dark from left to right
        # gives a large positive answer, a flat area gives 0.
        edge = np.zeros((size, size))
        edge[:, :half] = 1.0
        edge[:, size - half :] = -1.0
        if size == 1:
            edge[:] = 1.0
        return edge if name == "vertical edge" else edge.T.copy()
    if name == "blur":
        return np.full((size, size), 1.0 / size**2)
    if name == "sharpen":
        # −1 on the cross through the centre, and a centre weight that makes the filter sum to 1,
        # so a flat area keeps its value and differences get amplified (3×3: the textbook 0/−1/5).
        centre = (size - 1) // 2
        sharp = np.zeros((size, size))
        sharp[centre, :] = -1.0
        sharp[:, centre] = -1.0
        sharp[centre, centre] = 0.0
        sharp[centre, centre] = 1.0 - sharp.sum()
        return sharp
    if name == "random":
        rng = np.random.default_rng(seed)
        return np.round(rng.normal(0.0, 1.0, (size, size)), 1)  # one decimal keeps the arithmetic readable
    raise UserError(f"There is no filter preset called {name!r}; choose one of {', '.join(FILTER_PRESETS)}.")
