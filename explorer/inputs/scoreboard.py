"""The lab's 5×5 "scoreboard" digits: lit and unlit cells, the input of its two toy networks.

The zero is the ring the lab starts from; the others are drawn in the same rounded
style. The "Convolution by hand" page convolves them, and the feature-map and
training pages offer them as samples.
"""

from __future__ import annotations

import numpy as np

DIGIT_SIDE = 5

_DIGIT_ROWS = {
    0: ("01110", "10001", "10001", "10001", "01110"),
    1: ("00100", "01100", "00100", "00100", "01110"),
    2: ("01110", "10001", "00110", "01000", "11111"),
    3: ("11110", "00001", "01110", "00001", "11110"),
    4: ("10010", "10010", "11111", "00010", "00010"),
    5: ("11111", "10000", "11110", "00001", "11110"),
    6: ("01110", "10000", "11110", "10001", "01110"),
    7: ("11111", "00001", "00010", "00100", "00100"),
    8: ("01110", "10001", "01110", "10001", "01110"),
    9: ("01110", "10001", "01111", "00001", "01110"),
}
DIGITS = {digit: np.array([[int(c) for c in row] for row in rows], dtype=float) for digit, rows in _DIGIT_ROWS.items()}


def scoreboard_pixels(digit: str) -> np.ndarray:
    """The 5×5 scoreboard digit as 0/255 uint8 (lit cells bright)."""
    return (DIGITS[int(digit)] * 255).astype(np.uint8)
