"""Networks trained on handwritten digits: their data, their checkpoints and what they scored.

- LeNet-5 learnt scikit-learn's 1,797 scanned digits (8×8 pixels, 17 grey levels),
  plus digits drawn by program the way a student draws on the canvas
  (``explorer.drawn_digits``), with a fixed stratified 80/20 split of the scans.
- The two toy networks learnt the lab's ten 5×5 scoreboard digits with added noise.

Every picture used for training or testing takes the path a picture takes in the
app: PNG bytes, ``explorer.images.load_image``, then ``prepare`` for the network
and input size. So what a network saw while it learnt is exactly what it receives
on the page (for LeNet-5: an 8×8 scan enlarged bilinearly to 32×32, bright ink on
black, values 0–1).

The checkpoints (state dicts, ``torch.load(weights_only=True)``: no pickled code can
run) and a small JSON report for each live in ``explorer/checkpoints`` and are
written by ``scripts/train_digits.py``.
"""

from __future__ import annotations

import functools
import io
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from explorer import images
from explorer.errors import UserError
from explorer.registry import get_spec
from explorer.samples import sample_bytes

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
_FILE_STEMS = {"lenet5": "lenet5_digits", "toy_dense": "toy_dense_scoreboard", "toy_conv": "toy_conv_scoreboard"}
DIGITS_WEIGHTS_ARCHS: frozenset[str] = frozenset(_FILE_STEMS)

SPLIT_SEED = 0  # scikit-learn's train_test_split(random_state=...): the held-out scans never change
TEST_SHARE = 0.2
LENET_SIDE = 32
SCOREBOARD_SIDE = 5


def digit_class_names() -> list[str]:
    return [str(digit) for digit in range(10)]


def checkpoint_path(arch_id: str) -> Path:
    return CHECKPOINT_DIR / f"{_stem(arch_id)}.pt"


def report_path(arch_id: str) -> Path:
    return CHECKPOINT_DIR / f"{_stem(arch_id)}.json"


def _stem(arch_id: str) -> str:
    if arch_id not in _FILE_STEMS:
        raise UserError(
            f"Only {', '.join(sorted(DIGITS_WEIGHTS_ARCHS))} have weights trained on digits, not {str(arch_id)[:40]!r}."
        )
    return _FILE_STEMS[arch_id]


def digits_state_dict(arch_id: str) -> dict[str, torch.Tensor]:
    """The committed digit-trained weights of ``arch_id`` (no network needed), read like any upload."""
    from explorer.state_dicts import read  # state_dicts imports weights, which imports this module

    return read(checkpoint_path(arch_id).read_bytes(), limit=None)


def digits_report(arch_id: str) -> dict:
    """What training recorded next to the checkpoint: held-out accuracy, split sizes, seed, epochs..."""
    return json.loads(report_path(arch_id).read_text(encoding="utf-8"))


def digits_model(arch_id: str) -> torch.nn.Module:
    """A fresh model of ``arch_id`` with the digit-trained weights loaded (strictly), in eval mode."""
    model = get_spec(arch_id).build("cpu")
    model.load_state_dict(digits_state_dict(arch_id), strict=True)
    return model.eval()


# --- Inputs, made the way the app makes them -------------------------------------------------------


def network_input(png: bytes, arch_id: str, side: int) -> torch.Tensor:
    """The C×H×W tensor ``arch_id`` receives on the page for this image file at ``side``×``side``."""
    return images.prepare(images.load_image(png), get_spec(arch_id), side, side).tensor[0]


def _grey_png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8), mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def scan_png(scan: np.ndarray) -> bytes:
    """One of scikit-learn's 8×8 scans (grey levels 0–16) as the PNG the app's "Handwritten digit" samples are."""
    return _grey_png(np.rint(scan / 16 * 255))


@functools.lru_cache(maxsize=1)
def scan_split() -> dict[str, np.ndarray]:
    """Indices of the fixed stratified train/test split of scikit-learn's digits, and all labels."""
    from sklearn.datasets import load_digits  # imported here: scikit-learn takes a second to import
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    train, test = train_test_split(
        np.arange(len(digits.target)), test_size=TEST_SHARE, stratify=digits.target, random_state=SPLIT_SEED
    )
    return {"train": np.sort(train), "test": np.sort(test), "labels": digits.target, "scans": digits.images}


def first_held_out_scans() -> dict[str, np.ndarray]:
    """The first scan of each digit ("0".."9") among the held-out ones: examples LeNet-5 never trained on."""
    split = scan_split()
    test = split["test"]
    return {str(d): split["scans"][test[split["labels"][test] == d][0]] for d in range(10)}


def scan_inputs(part: str) -> tuple[torch.Tensor, torch.Tensor]:
    """LeNet-5's inputs (N×1×32×32) and labels for the "train" or "test" part of the split."""
    split = scan_split()
    chosen = split[part]
    inputs = torch.stack([network_input(scan_png(split["scans"][i]), "lenet5", LENET_SIDE) for i in chosen])
    return inputs, torch.as_tensor(split["labels"][chosen], dtype=torch.long)


def drawing_inputs(batch) -> tuple[torch.Tensor, torch.Tensor]:
    """LeNet-5's inputs for (PNG, digit) pairs from ``explorer.drawn_digits.drawings``."""
    pairs = list(batch)
    inputs = torch.stack([network_input(png, "lenet5", LENET_SIDE) for png, _ in pairs])
    return inputs, torch.tensor([digit for _, digit in pairs], dtype=torch.long)


def scoreboard_inputs(arch_id: str, side: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The app's ten "Scoreboard digit" samples as ``arch_id`` receives them at ``side``×``side``."""
    inputs = torch.stack([network_input(sample_bytes(f"scoreboard_{d}"), arch_id, side) for d in range(10)])
    return inputs, torch.arange(10)


def scoreboard_flips(arch_id: str, side: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every scoreboard digit with exactly one of its 25 cells flipped (250 pictures), as the app feeds them."""
    from explorer.samples import scoreboard_pixels

    pictures, labels = [], []
    for digit in range(10):
        clean = scoreboard_pixels(str(digit))
        for cell in range(SCOREBOARD_SIDE * SCOREBOARD_SIDE):
            flipped = clean.copy().reshape(-1)
            flipped[cell] = 255 - flipped[cell]
            pictures.append(network_input(_grey_png(flipped.reshape(clean.shape)), arch_id, side))
            labels.append(digit)
    return torch.stack(pictures), torch.tensor(labels)


@torch.no_grad()
def correct_count(model: torch.nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> int:
    """How many of ``inputs`` the model (in eval mode) assigns to their label."""
    model.eval()
    return int((model(inputs).argmax(dim=1) == labels).sum())
