"""Grad-CAM++ as published (Chattopadhyay et al., WACV 2018, eq. 19), on torchcam's hooks.

With A the layer's activation and g = ∂y/∂A for the class score y (the paper's exponential
of the score cancels in α and only scales the weights, which the 0…1 map drops):

    α_k(i, j) = g² / (2g² + Σ_ab A_k(a, b) · g³)       (0 where that denominator is 0, as
                                                        in the authors' code)
    w_k = Σ_ij α_k(i, j) · ReLU(g_k(i, j)),      map = ReLU(Σ_k w_k A_k)

Why a subclass: torchcam 0.5.0's ``GradCAMpp._get_weights`` has two defects.
1. It divides ``alpha[idx][mask].div_(...)``: indexing with a boolean mask makes a copy,
   so the division lands on the copy and is thrown away; its "α" stays g², and the
   channel weights come out as Σ g² · ReLU(g).
2. Its denominator sums g³ · A over the positions, where the paper multiplies g³ at
   (i, j) by the sum of A.
(``SmoothGradCAMpp`` in the same file uses the same pattern.) Once torchcam computes eq. 19,
this module can go and ``explorer.runs.cams`` can use ``torchcam.methods.GradCAMpp``
again: tests/test_cam_references.py says whether it does.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchcam.methods import GradCAMpp


class GradCAMPlusPlus(GradCAMpp):
    """torchcam's Grad-CAM++ extractor with the channel weights of eq. 19."""

    def _get_weights(self, class_idx: int | list[int], scores: Tensor, **kwargs) -> list[Tensor]:
        self._backprop(scores, class_idx, **kwargs)
        weights = []
        for activation, gradient in zip(self.hook_a, self.hook_g, strict=True):
            spatial = tuple(range(2, activation.ndim))
            squared = gradient.pow(2)
            denominator = 2 * squared + activation.sum(dim=spatial, keepdim=True) * squared * gradient
            alpha = torch.where(denominator != 0, squared / torch.where(denominator != 0, denominator, 1), 0)
            weights.append((alpha * torch.relu(gradient)).sum(dim=spatial))
        return weights
