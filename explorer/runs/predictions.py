"""From a network's output to what a person reads: probabilities and the most likely classes."""

from __future__ import annotations

import numpy as np

from explorer.core.registry import ArchSpec
from explorer.weights.catalogue import class_names

def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits.astype(np.float64) - logits.max())
    return shifted / shifted.sum()


def top_classes(spec: ArchSpec, logits: np.ndarray, k: int = 5,
                names: list[str] | None = None) -> list[tuple[str, float]]:
    """The ``k`` most probable classes as (name, probability), most probable first.

    ``names`` are the loaded weights' class names (default: those of ``spec``'s usual weights).
    """
    probabilities = softmax(logits)
    names = names or class_names(spec)
    best = np.argsort(-probabilities, kind="stable")[:k]
    return [(names[i], float(probabilities[i])) for i in best]
