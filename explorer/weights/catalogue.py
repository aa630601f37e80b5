"""Which weights a network can run with, and what each choice means, from metadata alone.

Choices, by name (the same names in the sidebar, the URL's ``?weights=`` and the
command line's ``--weights``):

- ``random``: the builder's own random initialisation; always there.
- ``imagenet`` / ``imagenet_v2``: torchvision's ``IMAGENET1K_V1`` / ``IMAGENET1K_V2``
  weights, for every torchvision network (V2 only where torchvision has it).
- ``digits``: LeNet-5 and the lab's toy networks trained on handwritten digits
  (``explorer.weights.digit_checkpoints``, committed checkpoints).
- ``upload``: a state dict a user uploads (see ``explorer.weights.uploads``).

For each choice this module answers, in one place, what the rest of the app asks
about it: its label, whether it is trained, its class names, its preprocessing
(normalisation and resize/crop, as torchvision's ``Weights`` record gives them for
ImageNet), and a sentence on what it is worth. torchvision's own weights enum is
the record for the ImageNet choices; nothing here opens a file or the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from explorer.core.errors import UserError
from explorer.core.registry import ArchSpec
from explorer.weights import digit_checkpoints

if TYPE_CHECKING:  # torchvision costs seconds to import; the first page needs none of it
    from torchvision.models import WeightsEnum
    from torchvision.transforms import InterpolationMode

RANDOM, IMAGENET, IMAGENET_V2, DIGITS, UPLOAD = "random", "imagenet", "imagenet_v2", "digits", "upload"
LABELS = {
    RANDOM: "Random initialisation",
    IMAGENET: "ImageNet (torchvision V1)",
    IMAGENET_V2: "ImageNet (torchvision V2)",
    DIGITS: "Trained on handwritten digits",
    UPLOAD: "Upload a state dict",
}
TORCHVISION_MEMBERS = {IMAGENET: "IMAGENET1K_V1", IMAGENET_V2: "IMAGENET1K_V2"}

# Used for three-channel networks that ship no weights and hence no preprocessing of their own.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# torchvision's presets resize to 256 before cropping 224: keep that margin at any size.
RESIZE_PER_CROP = 256 / 224

# torchvision builds these with ``transform_input=True`` when it loads ImageNet weights: the
# model's first operation turns ImageNet-normalised pixels into (p - 0.5) / 0.5, the scaling its
# original training used. The app keeps one module tree per architecture (the registry's, with
# ``transform_input=False``, so hooks and private views see the same layers whatever the
# weights), and applies that same scaling in the preprocessing instead: the numbers reaching
# the first convolution are the same.
_SCALED_TO_PLUS_MINUS_ONE = frozenset({"inception_v3"})


class WeightsUnavailable(UserError):
    """Weights that were asked for cannot be used; the caller falls back to random weights."""


def choices(spec: ArchSpec, *, upload: bool = True) -> list[str]:
    """The weights ``spec`` can run with, random first (``upload`` adds the upload choice)."""
    found = [RANDOM]
    if spec.weights is not None:
        found += [choice for choice, member in TORCHVISION_MEMBERS.items() if member in spec.weights.__members__]
    if spec.id in digit_checkpoints.DIGITS_WEIGHTS_ARCHS:
        found.append(DIGITS)
    return found + ([UPLOAD] if upload else [])


def check_choice(spec: ArchSpec, choice: str) -> str:
    """``choice`` if ``spec`` has it, else a ``UserError`` naming what it has."""
    if choice not in choices(spec):
        name = LABELS.get(choice, repr(str(choice)[:40]))
        raise UserError(
            f"{spec.name} has no {name} weights; choose one of: {', '.join(choices(spec, upload=False))}, "
            "or a state dict file of your own."
        )
    return choice


def torchvision_weights(spec: ArchSpec, choice: str) -> WeightsEnum | None:
    """The torchvision weights enum member behind an ImageNet choice (None for the others)."""
    if choice not in TORCHVISION_MEMBERS or spec.weights is None:
        return None
    return spec.weights[TORCHVISION_MEMBERS[check_choice(spec, choice)]]


def class_names(spec: ArchSpec, choice: str = RANDOM) -> list[str]:
    """The class each of the network's outputs stands for with these weights.

    ImageNet weights name their own categories; a torchvision network with other weights
    keeps V1's (the usual order of its classes); the digit networks' classes are 0–9.
    """
    member = torchvision_weights(spec, choice)
    if member is None and spec.weights is not None:
        member = spec.weights.IMAGENET1K_V1
    if member is not None:
        return list(member.meta["categories"])
    return [str(d) for d in range(spec.num_classes)]


def is_trained(choice: str) -> bool:
    """Whether predictions mean anything (an upload is trusted to be trained)."""
    return choice != RANDOM


# -- preprocessing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preprocessing:
    """How a picture becomes the numbers these weights expect: resize, centre crop, normalise."""

    resize_per_crop: float  # the shorter side is resized to this times the crop, then the crop is cut out
    mean: tuple[float, ...]
    std: tuple[float, ...]
    interpolation: InterpolationMode
    source: str  # where the numbers come from, in words


def _normalisation(spec: ArchSpec, choice: str, member: WeightsEnum) -> tuple[tuple, tuple, str]:
    """Mean, standard deviation and a description of the normalisation for ``member``'s preset."""
    preset = member.transforms()
    source = f"torchvision's own preprocessing for the {member.name} weights"
    if spec.id in _SCALED_TO_PLUS_MINUS_ONE and choice in TORCHVISION_MEMBERS:
        return (0.5, 0.5, 0.5), (0.5, 0.5, 0.5), (
            f"the scaling to −1…1 that {spec.name}'s {member.name} weights were trained with "
            "(torchvision's transform_input)")
    return tuple(preset.mean), tuple(preset.std), source


def preprocessing(spec: ArchSpec, choice: str = RANDOM) -> Preprocessing:
    """The preprocessing of ``spec`` with ``choice``: the weights' own preset where torchvision ships one."""
    from torchvision.transforms import InterpolationMode

    if spec.weights is not None:
        # The chosen ImageNet weights' own preset; random or uploaded weights follow V1's.
        member = torchvision_weights(spec, choice) or spec.weights.IMAGENET1K_V1
        preset = member.transforms()
        # The preset's resize/crop ratio, carried over to any chosen size (256 for 224,
        # 342 for 299, 232 for ResNet-50's V2), so the crop keeps the share of the picture
        # the weights saw.
        mean, std, source = _normalisation(spec, choice, member)
        return Preprocessing(preset.resize_size[0] / preset.crop_size[0], mean, std, preset.interpolation, source)
    if spec.in_channels == 3:
        return Preprocessing(RESIZE_PER_CROP, IMAGENET_MEAN, IMAGENET_STD, InterpolationMode.BILINEAR,
                             "the usual ImageNet preprocessing")
    # Digit networks get no margin: a square digit fills the input exactly, stroke for stroke.
    return Preprocessing(1.0, (0.0,), (1.0,), InterpolationMode.BILINEAR, "digit preprocessing")


# -- what the weights are worth, in words -----------------------------------------------------------


def imagenet_sentence(spec: ArchSpec, choice: str) -> str:
    member = torchvision_weights(spec, choice)
    metrics = member.meta["_metrics"]["ImageNet-1K"]
    return (
        f"{spec.name} with torchvision's {member.name} weights, trained on ImageNet's "
        f"{len(member.meta['categories']):,} classes: {metrics['acc@1']:.1f}% top-1 and {metrics['acc@5']:.1f}% "
        "top-5 on ImageNet's validation images (torchvision's figures)."
    )


def digits_sentence(spec: ArchSpec) -> str:
    report = digit_checkpoints.digits_report(spec.id)
    held_out = report.get("held_out_set") or f"{report['test_size']:,} digits kept out of training"
    return (
        f"{spec.name} with weights trained on {report['dataset']}: "
        f"{report['held_out_accuracy']:.1%} correct on {held_out}."
    )
