"""State dicts a user uploads: read safely, compared with the network, loaded only when they fit.

A ``.pt``/``.pth`` file is a pickle, and unpickling can run any code the file
names. So uploads are read with ``torch.load(..., weights_only=True)`` only: its
restricted unpickler builds tensors, numbers, strings and plain containers and
refuses everything else, before any of it runs. Nothing here ever falls back to a
full unpickle.

A state dict is used only when it fits exactly (every key present, nothing extra,
every shape equal): a partial fit would run a network that is part trained, part
random, and its predictions would look meaningful while being noise. When it does
not fit, ``StateDictMismatch`` carries one sentence and a small table of the keys
that differ.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pandas as pd
import torch
from torch import nn

from explorer.core.errors import UserError
from explorer.core.limits import UPLOAD_BYTES, UPLOAD_MIB
from explorer.core.shape_only import build_meta_model, holding
from explorer.core.registry import ArchSpec

# Training scripts often save {"state_dict": ...} (PyTorch Lightning, many tutorials) or {"model": ...}.
_WRAPPERS = ("state_dict", "model", "model_state_dict")
_TABLE_ROWS = 12


class StateDictMismatch(UserError):
    """The uploaded state dict does not fit the network; ``table`` lists the keys that differ."""

    def __init__(self, sentence: str, table: pd.DataFrame) -> None:
        super().__init__(sentence)
        self.table = table


def too_large_sentence(size: int) -> str:
    return (
        f"This file is {size / 1024**2:.1f} MB, more than the {UPLOAD_MIB} MB limit for uploaded weights; "
        "ImageNet weights of most networks here are larger, so choose the ImageNet weights in the sidebar instead."
    )


def read(data: bytes, limit: int | None = UPLOAD_BYTES) -> dict[str, torch.Tensor]:
    """The tensors of an uploaded state dict (or one wrapped in {"state_dict": ...} / {"model": ...}).

    ``limit`` is the upload limit in bytes (the command line, reading a local file, passes None). The
    server's upload limit keeps what a session holds small; ImageNet weights of every network here but
    LeNet-5 and the toys are larger (ResNet-18's are 45 MB, VGG-16's 528 MB): they come through the
    ImageNet choice instead.
    """
    if not data:
        raise UserError("The file is empty; upload a file saved with torch.save(model.state_dict(), path).")
    if limit is not None and len(data) > limit:
        raise UserError(too_large_sentence(len(data)))
    try:
        loaded = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except Exception as error:  # untrusted bytes: every way of failing is the same answer
        raise UserError(
            "This file is not plain PyTorch weights, or it contains code, which is never run; "
            "save the weights with torch.save(model.state_dict(), path) and upload that file."
        ) from error
    for wrapper in _WRAPPERS:
        if isinstance(loaded, dict) and isinstance(loaded.get(wrapper), dict):
            loaded = loaded[wrapper]
            break
    if not isinstance(loaded, dict) or not loaded:
        raise UserError("This file holds no state dict (a mapping from layer names to tensors).")
    tensors = {key: value for key, value in loaded.items() if isinstance(key, str) and isinstance(value, torch.Tensor)}
    if len(tensors) != len(loaded):
        raise UserError("This file holds other things besides named tensors, so it is not a state dict.")
    return tensors


@dataclass(frozen=True)
class Fit:
    missing: list[str]
    unexpected: list[str]
    mismatched: list[tuple[str, tuple, tuple]]  # key, shape in the file, shape the network needs

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)


def compare(spec: ArchSpec, state: dict[str, torch.Tensor]) -> Fit:
    """How ``state``'s keys and shapes compare with ``spec``'s network (on the meta device: free)."""
    expected = {key: tuple(t.shape) for key, t in build_meta_model(spec).state_dict().items()}
    given = {key: tuple(t.shape) for key, t in state.items()}
    return Fit(
        missing=[key for key in expected if key not in given],
        unexpected=[key for key in given if key not in expected],
        mismatched=[(key, given[key], expected[key]) for key in expected if key in given and given[key] != expected[key]],
    )


def _shape(shape: tuple) -> str:
    return "×".join(map(str, shape)) or "scalar"


def mismatch(spec: ArchSpec, fit: Fit) -> StateDictMismatch:
    """One sentence and a table (at most a dozen rows) for a state dict that does not fit."""
    parts = []
    if fit.missing:
        parts.append(f"{len(fit.missing)} of {spec.name}'s tensors are missing")
    if fit.unexpected:
        parts.append(f"{len(fit.unexpected)} tensors in the file have no place in it")
    if fit.mismatched:
        parts.append(f"{len(fit.mismatched)} have the wrong shape")
    sentence = (
        f"These weights do not fit {spec.name}: {', '.join(parts)}; they were not loaded, so it keeps random weights."
    )
    # Two narrow columns: the table is shown in the sidebar, beside the upload.
    rows = (
        [(key, f"shape {_shape(got)}, needs {_shape(need)}") for key, got, need in fit.mismatched]
        + [(key, "missing") for key in fit.missing]
        + [(key, f"not in {spec.name}") for key in fit.unexpected]
    )
    if len(rows) > _TABLE_ROWS:
        rows = rows[:_TABLE_ROWS] + [(f"… and {len(rows) - _TABLE_ROWS} more", "")]
    return StateDictMismatch(sentence, pd.DataFrame(rows, columns=["key", "problem"]))


def load(spec: ArchSpec, data: bytes, device: str = "cpu", limit: int | None = UPLOAD_BYTES) -> nn.Module:
    """``spec``'s network holding the uploaded weights, or ``UserError``/``StateDictMismatch``."""
    state = read(data, limit)
    fit = compare(spec, state)
    if not fit.ok:
        raise mismatch(spec, fit)
    # Float tensors take the network's own dtype: a half-precision file would otherwise make a
    # half-precision network that the float32 input cannot pass through.
    expected = build_meta_model(spec).state_dict()
    state = {key: value.to(expected[key].dtype) if value.is_floating_point() else value for key, value in state.items()}
    if not all(bool(torch.isfinite(value).all()) for value in state.values() if value.is_floating_point()):
        raise UserError("These weights contain NaN or infinite numbers, so they were not loaded.")
    return holding(spec, state).to(device).eval()
