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

__all__ = ["Attribution", "METHODS", "PUBLISHED", "Published", "RUNNING", "scaled"]

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
class Published:
    """A method's published form in one line (y: the class score, A: the layer's maps, g = ∂y/∂A) and its paper."""

    form: str
    paper: str


# Written without Markdown's special characters, so a page can print them as they are.
PUBLISHED = {
    "gradcam": Published(
        "map = ReLU(Σₖ wₖ·Aₖ), wₖ = the mean over positions of gₖ",
        "Selvaraju et al., Grad-CAM, ICCV 2017"),
    "gradcampp": Published(
        "map = ReLU(Σₖ wₖ·Aₖ), wₖ = Σᵢⱼ α·ReLU(gₖ), α = g² / (2g² + Σ over positions of Aₖ · g³)",
        "Chattopadhyay et al., Grad-CAM++, WACV 2018, eq. 19"),
    "layercam": Published(
        "map = ReLU(Σₖ ReLU(gₖ)·Aₖ), each position weighted by its own positive gradient",
        "Jiang et al., LayerCAM, IEEE Transactions on Image Processing 2021"),
    "scorecam": Published(
        "map = ReLU(Σₖ wₖ·Aₖ), w = softmax over channels of y on the picture masked by each Aₖ "
        "(scaled to 0…1, enlarged to the picture)",
        "Wang et al., Score-CAM, CVPR Workshops 2020, Algorithm 1"),
    "saliency": Published(
        "map = |∂y/∂pixel|, the largest over the colour channels",
        "Simonyan, Vedaldi & Zisserman, ICLR Workshop 2014"),
    "smoothgrad": Published(
        "map = the mean of |∂y/∂pixel| over 16 copies of the picture plus Gaussian noise (σ = 15 % of its range)",
        "Smilkov et al., SmoothGrad, 2017 (arXiv:1706.03825)"),
}


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
