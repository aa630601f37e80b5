"""Pictures held out from a training step, to show what a step on one picture does to all the others.

A step that fits one picture can wreck the network for every other one; the loss of
the picture alone cannot show it. So the training step is also scored, before and
after, on a fixed set of other pictures the step never sees:

- digit-trained LeNet-5 (or any one-channel digit network with trained weights):
  100 held-out scans, ten of each digit (``explorer.inputs.digit_sets``);
- the toy networks: the 250 scoreboard digits with one cell flipped, their own test;
- ImageNet weights: the bundled sample photos whose ImageNet class is well defined
  (``KNOWN_CLASSES``), other than the one being trained on, and only those that the
  weights get right before training (a photo already wrong cannot be wrecked);
- random weights: nothing, and a sentence that says why.

A photo's class can be any one of a few neighbouring ImageNet classes (a tabby is also
a "tiger cat"), so a prediction counts as right if it is any of them, and the loss is
``-log`` of their summed probability.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from explorer.core.registry import ArchSpec
from explorer.inputs import digit_inputs, digit_sets, images, samples
from explorer.weights import catalogue

# The bundled photos with a well-defined ImageNet class, and the classes that count as right.
# Left out: the astronaut (ImageNet has no class for people), the motorcycle (ImageNet has only
# "moped" and "motor scooter"), the cameraman, the temple and the dahlia (no class fits well).
KNOWN_CLASSES = {
    "chelsea": ("tabby", "tiger cat", "Egyptian cat"),
    "coffee": ("espresso", "cup", "coffee mug"),
    "rocket": ("missile", "projectile"),  # ImageNet's "missile" pictures are mostly rockets like this one
}


@dataclass(frozen=True)
class HeldOut:
    """Pictures as the network receives them, and for each the classes that count as right."""

    inputs: torch.Tensor  # N×C×H×W
    right: torch.Tensor  # N×classes, True where a class counts as right
    what: str  # "100 held-out scans (ten of each digit)"


@dataclass(frozen=True)
class Score:
    loss: float
    accuracy: float
    correct: int
    count: int

    def to_json(self) -> dict:
        return {"loss": self.loss, "accuracy": self.accuracy}


def _one_hot(labels: torch.Tensor, classes: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(labels, classes).bool()


@torch.no_grad()
def score(model: nn.Module, held: HeldOut) -> Score:
    """Loss and accuracy of ``model`` (in eval mode, as it predicts) on the held-out pictures.

    The model's mode is put back afterwards; pass a private copy, never a shared model.
    """
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        logits = model(held.inputs.to(device)).float().cpu()
    finally:
        model.train(was_training)
    right = held.right[:, : logits.shape[1]]
    log_p = torch.log_softmax(logits, dim=1)
    loss = -torch.logsumexp(log_p.masked_fill(~right, float("-inf")), dim=1)
    correct = int(right[torch.arange(len(logits)), logits.argmax(dim=1)].sum())
    return Score(float(loss.mean()), correct / len(logits), correct, len(logits))


def _digit_set(spec: ArchSpec, weights: str, height: int, width: int) -> HeldOut | None:
    if spec.in_channels != 1 or spec.num_classes != 10 or height != width:
        return None
    if spec.max_size is not None and spec.max_size < digit_sets.DIGIT_SIDE:  # the toys
        inputs, labels = digit_inputs.scoreboard_flips(spec.id, height)
        return HeldOut(inputs, _one_hot(labels, 10), f"the {len(labels)} scoreboard digits with one cell flipped")
    inputs, labels = digit_sets.step_held_out_scans(spec.id, height, weights)
    return HeldOut(inputs, _one_hot(labels, 10),
                   f"{len(labels)} held-out scans, {len(labels) // 10} of each digit, that it never trained on")


def _photo_set(spec: ArchSpec, weights: str, height: int, width: int, source: nn.Module,
               exclude: str | None) -> HeldOut | None:
    names = catalogue.class_names(spec, weights)
    keys = [key for key in KNOWN_CLASSES if key != exclude]
    inputs = torch.cat([images.prepare(images.load_image(samples.sample_bytes(key)), spec, height, width,
                                       weights).tensor for key in keys])
    right = torch.zeros(len(keys), len(names), dtype=torch.bool)
    for row, key in enumerate(keys):
        right[row, [names.index(name) for name in KNOWN_CLASSES[key]]] = True
    with torch.no_grad():
        predicted = source(inputs.to(next(source.parameters()).device)).argmax(dim=1).cpu()
    kept = right[torch.arange(len(keys)), predicted]
    if not kept.any():
        return None
    labels = [samples.get_sample(key).label.lower() for key, keep in zip(keys, kept) if keep]
    return HeldOut(inputs[kept], right[kept], f"{len(labels)} sample photo{'s' if len(labels) > 1 else ''} "
                   f"({', '.join(labels)}) that these weights classify correctly before training")


def held_out_set(spec: ArchSpec, weights: str, height: int, width: int, source: nn.Module,
                 exclude: str | None = None) -> HeldOut | str:
    """The held-out pictures for a step on ``spec`` with ``weights``, or the sentence why there are none.

    ``source`` is the read-only starting model (eval mode); ``exclude`` the sample being trained on.
    """
    if weights == catalogue.RANDOM:
        return ("With random weights the network has learnt nothing yet, so there is nothing to hold out against: "
                "every other picture is a guess before the step and after it.")
    if spec.num_classes == 10:
        found = _digit_set(spec, weights, height, width)
        return found or "There is no held-out set of digits at this input size."
    found = _photo_set(spec, weights, height, width, source, exclude)
    return found or ("None of the sample photos with a known ImageNet class is classified correctly by these weights "
                     "before training, so there is nothing to hold out against.")
