"""The digit pictures as batches of network inputs, made exactly the way the app makes them.

Every picture used for training or testing takes the path a picture takes in the
app: PNG bytes, ``explorer.inputs.images.load_image``, then ``prepare`` for the
network and input size. So what a network saw while it learnt is exactly what it
receives on the page (for LeNet-5: an 8×8 scan enlarged bilinearly to 32×32,
bright ink on black, values 0–1).
"""

from __future__ import annotations

import torch

from explorer.core.registry import get_spec
from explorer.inputs import images
from explorer.inputs.png import grey_png
from explorer.inputs.samples import sample_bytes
from explorer.inputs.scans import scan_png, scan_split
from explorer.inputs.scoreboard import DIGIT_SIDE, scoreboard_pixels
from explorer.weights.catalogue import RANDOM

LENET_SIDE = 32


def network_input(png: bytes, arch_id: str, side: int, weights: str = RANDOM) -> torch.Tensor:
    """The C×H×W tensor ``arch_id`` with ``weights`` receives on the page for this image file at ``side``×``side``."""
    return images.prepare(images.load_image(png), get_spec(arch_id), side, side, weights).tensor[0]


def scan_inputs(part: str, arch_id: str = "lenet5", side: int = LENET_SIDE, weights: str = RANDOM,
                indices=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs (N×C×side×side) and labels for the "train" or "test" part of the split (default: LeNet-5's).

    ``indices`` picks scans by their index in scikit-learn's set instead of a whole part.
    """
    split = scan_split()
    chosen = split[part] if indices is None else indices
    inputs = torch.stack([network_input(scan_png(split["scans"][i]), arch_id, side, weights) for i in chosen])
    return inputs, torch.as_tensor(split["labels"][chosen], dtype=torch.long)


def drawing_inputs(batch, arch_id: str = "lenet5", side: int = LENET_SIDE,
                   weights: str = RANDOM) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs for (PNG, digit) pairs from ``explorer.inputs.drawings.drawings`` (default: LeNet-5's)."""
    pairs = list(batch)
    inputs = torch.stack([network_input(png, arch_id, side, weights) for png, _ in pairs])
    return inputs, torch.tensor([digit for _, digit in pairs], dtype=torch.long)


def scoreboard_inputs(arch_id: str, side: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The app's ten "Scoreboard digit" samples as ``arch_id`` receives them at ``side``×``side``."""
    inputs = torch.stack([network_input(sample_bytes(f"scoreboard_{d}"), arch_id, side) for d in range(10)])
    return inputs, torch.arange(10)


def scoreboard_flips(arch_id: str, side: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every scoreboard digit with exactly one of its 25 cells flipped (250 pictures), as the app feeds them."""
    pictures, labels = [], []
    for digit in range(10):
        clean = scoreboard_pixels(str(digit))
        for cell in range(DIGIT_SIDE * DIGIT_SIDE):
            flipped = clean.copy().reshape(-1)
            flipped[cell] = 255 - flipped[cell]
            pictures.append(network_input(grey_png(flipped.reshape(clean.shape)), arch_id, side))
            labels.append(digit)
    return torch.stack(pictures), torch.tensor(labels)
