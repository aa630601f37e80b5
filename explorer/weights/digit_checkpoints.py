"""The digit-trained weights that ship with the app, and what they scored.

- LeNet-5 learnt scikit-learn's 1,797 scanned digits (8×8 pixels, 17 grey levels),
  plus digits drawn by program the way a student draws on the canvas
  (``explorer.inputs.drawings``), with a fixed stratified 80/20 split of the scans
  (``explorer.inputs.scans``).
- The two toy networks learnt the lab's ten 5×5 scoreboard digits with added noise.

The checkpoints (state dicts, read like any upload with ``torch.load(weights_only=True)``:
no pickled code can run) and a small JSON report for each live in ``checkpoints/``
beside this module and are written by ``scripts/train_digits.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from explorer.core.errors import UserError
from explorer.core.registry import get_spec
from explorer.weights.uploads import read

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
_FILE_STEMS = {"lenet5": "lenet5_digits", "toy_dense": "toy_dense_scoreboard", "toy_conv": "toy_conv_scoreboard"}
DIGITS_WEIGHTS_ARCHS: frozenset[str] = frozenset(_FILE_STEMS)


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
    return read(checkpoint_path(arch_id).read_bytes(), limit=None)


def digits_report(arch_id: str) -> dict:
    """What training recorded next to the checkpoint: held-out accuracy, split sizes, seed, epochs..."""
    return json.loads(report_path(arch_id).read_text(encoding="utf-8"))


def digits_model(arch_id: str) -> torch.nn.Module:
    """A fresh model of ``arch_id`` with the digit-trained weights loaded (strictly), in eval mode."""
    model = get_spec(arch_id).build("cpu")
    model.load_state_dict(digits_state_dict(arch_id), strict=True)
    return model.eval()
