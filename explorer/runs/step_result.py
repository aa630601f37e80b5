"""What one optimiser step did, as plain numbers: the result a training page and the command line show."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.core.errors import UserError


@dataclass(frozen=True)
class StepResult:
    """What one optimiser step did, as plain numbers (numpy arrays are indexed like ``layers``)."""

    step: int  # steps this copy has taken since it was made or reset, this one included
    optimizer: str
    learning_rate: float
    target: int
    loss_before: float  # cross-entropy of the picture's main output, dropout off
    loss_after: float
    objective: float  # what backward() started from: mean over the batch (+ Inception's 0.4 × auxiliary loss)
    probs_before: np.ndarray  # softmax over all classes
    probs_after: np.ndarray
    layers: tuple[str, ...]  # dotted names of modules that own parameters
    layer_types: tuple[str, ...]
    grad_norms: np.ndarray  # ‖∂loss/∂w‖ over each layer's own parameters (weight and bias together)
    weight_norms: np.ndarray  # ‖w‖ before the step
    update_norms: np.ndarray  # ‖Δw‖
    first_conv: str | None
    filters_before: np.ndarray | None  # out × in × kh × kw, float32, at most MAX_FILTERS filters
    filters_after: np.ndarray | None

    @property
    def update_ratios(self) -> np.ndarray:
        """‖Δw‖/‖w‖ per layer (0 where a layer's weights are all zero)."""
        return np.divide(self.update_norms, self.weight_norms, out=np.zeros_like(self.update_norms),
                         where=self.weight_norms > 0)

    @property
    def filters_change(self) -> np.ndarray | None:
        return None if self.filters_before is None else self.filters_after - self.filters_before

    def top_classes(self, k: int = 5) -> list[int]:
        """The k most probable classes before and after the step, and the target, without repeats."""
        order = list(np.argsort(-self.probs_before)[:k]) + list(np.argsort(-self.probs_after)[:k])
        chosen = list(dict.fromkeys(int(i) for i in order))
        if self.target not in chosen:
            chosen.append(self.target)
        return chosen

    def to_json(self, class_names: list[str] | None = None) -> dict:
        names = class_names or [str(i) for i in range(len(self.probs_before))]
        return {
            "step": self.step,
            "loss_before": self.loss_before,
            "loss_after": self.loss_after,
            "grad_norms": dict(zip(self.layers, map(float, self.grad_norms))),
            "update_ratios": dict(zip(self.layers, map(float, self.update_ratios))),
            "probabilities": {
                names[i]: {"before": float(self.probs_before[i]), "after": float(self.probs_after[i])}
                for i in self.top_classes()
            },
        }


class Diverged(UserError):
    """The loss became NaN or infinite; ``results`` holds the steps that were kept."""

    def __init__(self, sentence: str, results: list[StepResult]) -> None:
        super().__init__(sentence)
        self.results = results
