"""Light augmentation for the learning run: each picture of a batch moved by a few pixels in a random direction.

A scan enlarged to 32×32 that moves by up to 3 pixels is still the same digit, and a
network that sees it at slightly different places each epoch learns the stroke, not
its position. The border is filled by repeating the edge (the background of a scan),
never by zeros that the network's normalisation would read as ink or paper.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from explorer.core.sizes import parse_whole_number

MAX_SHIFT = 4


def check_shift(shift: object, side: int) -> int:
    """The shift a run may use: a whole number up to MAX_SHIFT, and at most an eighth of the picture's side.

    A few pixels of a 32×32 digit are a nudge; of a 5×5 scoreboard digit, most of it.
    """
    return min(parse_whole_number(shift, "shift in pixels", 0, MAX_SHIFT), side // 8)


def random_shift(x: torch.Tensor, pixels: int, generator: torch.Generator) -> torch.Tensor:
    """Each N×C×H×W picture moved by whole pixels, at most ``pixels`` each way (0: unchanged)."""
    if pixels <= 0:
        return x
    height, width = x.shape[-2:]
    padded = F.pad(x, (pixels, pixels, pixels, pixels), mode="replicate")
    offsets = torch.randint(0, 2 * pixels + 1, (len(x), 2), generator=generator).tolist()
    return torch.stack([padded[i, :, top:top + height, left:left + width] for i, (top, left) in enumerate(offsets)])
