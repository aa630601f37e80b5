"""What a class activation map or a saliency map leaves behind: plain data a page can cache and draw.

Both answer "where did the network look for this class?": a CAM at one layer's own
resolution, a saliency map at the input's. Values are scaled to 0…1 (the largest is 1),
since only where, not how much, can be compared between pictures and methods.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from explorer.runs.capture import _RUNNING  # one bound for every pass that keeps activations alive

__all__ = ["Attribution", "METHODS", "RUNNING", "scaled"]

RUNNING = _RUNNING
METHODS = {
    "gradcam": "Grad-CAM",
    "gradcampp": "Grad-CAM++",
    "layercam": "LayerCAM",
    "scorecam": "Score-CAM",
    "saliency": "Saliency (input gradient)",
    "smoothgrad": "SmoothGrad",
}
ON_THE_INPUT = ("saliency", "smoothgrad")  # methods that need no layer: they map the input pixels


@dataclass(frozen=True)
class Attribution:
    """One map for one class: at ``layer``'s resolution, or the input's (``layer`` None)."""

    method: str
    layer: str | None
    target: int
    logits: np.ndarray  # the untouched pass's output for the picture, float32
    map: np.ndarray  # (h, w) float32 in 0…1

    @property
    def predicted(self) -> int:
        return int(np.argmax(self.logits))

    def to_json(self, input_size: tuple[int, int]) -> dict:
        return {
            "method": self.method,
            "layer": self.layer,
            "target": self.target,
            "predicted": self.predicted,
            "input_size": list(input_size),
            "map_size": list(self.map.shape),
            "map": [[round(float(v), 4) for v in row] for row in self.map],
        }


def scaled(values: torch.Tensor | np.ndarray) -> np.ndarray:
    """Float32 values divided by their largest (all zeros stay zeros)."""
    array = values.detach().float().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values, np.float32)
    top = float(array.max()) if array.size else 0.0
    return (array / top if top > 0 else np.zeros_like(array)).astype(np.float32)
