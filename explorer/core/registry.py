"""Every architecture of the lab, oldest first, as plain data plus one builder each.

This is the single place that knows which networks exist. Pages, the command line
and the tests loop over ``ARCHITECTURES``; adding a network is one entry here.

Networks that torchvision keeps are built by torchvision's own builders (never
re-typed here), and their size limits and default input come from torchvision's
weights metadata, so nothing is typed in twice.

torchvision is imported only when one of its networks is built or its metadata
is first read: importing it costs seconds (it pulls in torch._dynamo), and the
first page a visitor sees (Convolution by hand, with LeNet-5 in the sidebar)
needs neither.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
from torch import nn

from explorer.core import session_specs
from explorer.core.errors import UserError
from explorer.models import LeNet5, ToyConvNet, ToyDenseNet

if TYPE_CHECKING:
    from torchvision.models import WeightsEnum


@dataclass(frozen=True)
class Metadata:
    """Input sizes, classes and weights of one architecture."""

    default_size: int
    min_size: int
    num_classes: int
    weights: type[WeightsEnum] | None = None


@dataclass(frozen=True)
class ArchSpec:
    """What the app needs to know about one architecture before building it."""

    id: str
    name: str
    family: str
    year: int | None
    paper: str
    paper_url: str | None
    builder: Callable[[], nn.Module] = field(repr=False)
    in_channels: int
    # Given here, or a function that reads it from torchvision on first use.
    metadata: Metadata | Callable[[], Metadata] = field(repr=False)
    max_size: int | None = None
    # Why a network has a largest input, in words a student can follow.
    size_reason: str | None = None
    note: str | None = None

    @functools.cached_property
    def _metadata(self) -> Metadata:
        return self.metadata if isinstance(self.metadata, Metadata) else self.metadata()

    @property
    def default_size(self) -> int:
        return self._metadata.default_size

    @property
    def min_size(self) -> int:
        return self._metadata.min_size

    @property
    def num_classes(self) -> int:
        return self._metadata.num_classes

    @property
    def weights(self) -> type[WeightsEnum] | None:
        return self._metadata.weights

    def build(self, device: str | torch.device = "cpu") -> nn.Module:
        """A freshly initialised model (random weights) in eval mode on ``device``."""
        return self.builder().to(device).eval()

    @property
    def label(self) -> str:
        return f"{self.family} › {self.name}"


def _torchvision_metadata(arch_id: str) -> Metadata:
    import torchvision

    weights = torchvision.models.get_model_weights(arch_id)
    meta = weights.IMAGENET1K_V1.meta
    return Metadata(
        default_size=weights.IMAGENET1K_V1.transforms().crop_size[0],
        min_size=min(meta["min_size"]),
        num_classes=len(meta["categories"]),
        weights=weights,
    )


def _torchvision_build(arch_id: str, **builder_kwargs) -> nn.Module:
    import torchvision

    return torchvision.models.get_model(arch_id, weights=None, **builder_kwargs)


def _torchvision(
    arch_id: str,
    name: str,
    family: str,
    year: int,
    paper: str,
    paper_url: str,
    note: str | None = None,
    **builder_kwargs,
) -> ArchSpec:
    return ArchSpec(
        id=arch_id,
        name=name,
        family=family,
        year=year,
        paper=paper,
        paper_url=paper_url,
        builder=functools.partial(_torchvision_build, arch_id, **builder_kwargs),
        in_channels=3,
        metadata=functools.partial(_torchvision_metadata, arch_id),
        note=note,
    )


_VGG_PAPER = "Very Deep Convolutional Networks for Large-Scale Image Recognition (Simonyan & Zisserman)"
_VGG_URL = "https://arxiv.org/abs/1409.1556"
_RESNET_PAPER = "Deep Residual Learning for Image Recognition (He et al.)"
_RESNET_URL = "https://arxiv.org/abs/1512.03385"
_VGG_BN_NOTE = (
    "The batch-norm variant adds BatchNorm after every convolution, an idea from 2015 "
    "(Ioffe & Szegedy) that the original VGG did not have."
)


def _vgg(depth: int, batch_norm: bool) -> ArchSpec:
    suffix = "_bn" if batch_norm else ""
    return _torchvision(
        f"vgg{depth}{suffix}",
        f"VGG-{depth}" + (" with batch norm" if batch_norm else ""),
        "VGG",
        2014,
        _VGG_PAPER,
        _VGG_URL,
        note=_VGG_BN_NOTE if batch_norm else None,
    )


def _resnet(depth: int) -> ArchSpec:
    return _torchvision(f"resnet{depth}", f"ResNet-{depth}", "ResNet", 2015, _RESNET_PAPER, _RESNET_URL)


def _lab_toy(arch_id: str, name: str, builder: Callable[[], nn.Module], max_size: int, size_reason: str) -> ArchSpec:
    return ArchSpec(
        id=arch_id,
        name=name,
        family="Lab toy networks",
        year=None,
        paper="The lab's 5×5 scoreboard example",
        paper_url=None,
        builder=builder,
        in_channels=1,
        metadata=Metadata(default_size=5, min_size=5, num_classes=10),
        max_size=max_size,
        size_reason=size_reason,
    )


ARCHITECTURES: tuple[ArchSpec, ...] = (
    _lab_toy(
        "toy_dense",
        "Toy dense network",
        ToyDenseNet,
        max_size=5,
        size_reason="The toy dense network wires each of exactly 25 pixels to the classes, so it takes 5×5 inputs only",
    ),
    _lab_toy(
        "toy_conv",
        "Toy conv network",
        ToyConvNet,
        max_size=6,
        size_reason=(
            "The toy conv network's fully-connected layer expects exactly 4×2×2 = 16 inputs, "
            "so it takes 5–6 pixels only"
        ),
    ),
    ArchSpec(
        id="lenet5",
        name="LeNet-5",
        family="LeNet",
        year=1998,
        paper="Gradient-Based Learning Applied to Document Recognition (LeCun, Bottou, Bengio & Haffner)",
        paper_url="http://yann.lecun.com/exdb/publis/pdf/lecun-98.pdf",
        builder=LeNet5,
        in_channels=1,
        metadata=Metadata(default_size=32, min_size=32, num_classes=10),
        max_size=35,
        size_reason=(
            "LeNet-5's first fully-connected layer expects exactly 16×5×5 inputs, "
            "so it takes 32–35 pixels only"
        ),
        note="Modern reading of the 1998 network: ReLU and max pooling instead of tanh and subsampling.",
    ),
    _torchvision(
        "alexnet",
        "AlexNet",
        "AlexNet",
        2012,
        "ImageNet Classification with Deep Convolutional Neural Networks (Krizhevsky, Sutskever & Hinton)",
        "https://papers.nips.cc/paper/4824-imagenet-classification-with-deep-convolutional-neural-networks",
        note=(
            "torchvision builds the single-GPU variant from 'One weird trick for parallelizing "
            "convolutional neural networks' (Krizhevsky, 2014), with 64-192-384-256-256 filters."
        ),
    ),
    *(_vgg(depth, batch_norm) for depth in (11, 13, 16, 19) for batch_norm in (False, True)),
    _torchvision(
        "inception_v3",
        "Inception v3",
        "Inception",
        2015,
        "Rethinking the Inception Architecture for Computer Vision (Szegedy et al.)",
        "https://arxiv.org/abs/1512.00567",
        note=(
            "The auxiliary classifier (AuxLogits) runs only in training mode: the layer table "
            "lists it with its parameters but without an output shape."
        ),
        init_weights=True,
    ),
    *(_resnet(depth) for depth in (18, 34, 50, 101, 152)),
    _torchvision(
        "resnext50_32x4d",
        "ResNeXt-50 32×4d",
        "ResNeXt",
        2016,
        "Aggregated Residual Transformations for Deep Neural Networks (Xie et al.)",
        "https://arxiv.org/abs/1611.05431",
    ),
    _torchvision(
        "resnext101_32x8d",
        "ResNeXt-101 32×8d",
        "ResNeXt",
        2016,
        "Aggregated Residual Transformations for Deep Neural Networks (Xie et al.)",
        "https://arxiv.org/abs/1611.05431",
    ),
)


def _index(specs: tuple[ArchSpec, ...]) -> dict[str, ArchSpec]:
    by_id: dict[str, ArchSpec] = {}
    for spec in specs:
        if spec.id in by_id:
            raise ValueError(f"Architecture id {spec.id!r} is registered twice")
        by_id[spec.id] = spec
    return by_id


_BY_ID = _index(ARCHITECTURES)
ARCH_IDS: tuple[str, ...] = tuple(_BY_ID)


def get_spec(arch_id: str) -> ArchSpec:
    """The spec for ``arch_id``, or a ``UserError`` that lists what exists."""
    try:
        return _BY_ID[arch_id]
    except (KeyError, TypeError):
        if (kept := session_specs.find(arch_id)) is not None:  # a student's own design
            return kept
        raise UserError(
            f"There is no architecture called {str(arch_id)[:40]!r}; choose one of: {', '.join(ARCH_IDS)}."
        ) from None


def families() -> list[str]:
    """Family names in the lab's order (oldest first)."""
    return list(dict.fromkeys(spec.family for spec in ARCHITECTURES))
