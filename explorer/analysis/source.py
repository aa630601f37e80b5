"""The code behind an architecture, for students who want to read it.

Shows the builder function and every class the model is made of that lives in
torchvision or in this project (torch.nn's building blocks are left out: they
are the vocabulary, not the architecture).
"""

from __future__ import annotations

import inspect

from torch import nn

from explorer.core.registry import ArchSpec

_OWN_PACKAGES = ("torchvision.", "explorer.")


def architecture_classes(model: nn.Module) -> list[type]:
    """Classes the model is built from, outside torch.nn, in order of first use."""
    classes: dict[type, None] = {}
    for module in model.modules():
        cls = type(module)
        if cls.__module__.startswith(_OWN_PACKAGES):
            classes[cls] = None
    return list(classes)


def architecture_source(spec: ArchSpec, model: nn.Module) -> list[tuple[str, str]]:
    """(title, Python source) pairs: the builder first (for torchvision), then the classes."""
    parts: list[tuple[str, str]] = []
    if spec.weights is not None:
        import torchvision  # here, not at the top: importing it costs seconds at start-up

        builder = inspect.unwrap(torchvision.models.get_model_builder(spec.id))
        parts.append((f"{builder.__module__}.{builder.__name__}()", inspect.getsource(builder)))
    for cls in architecture_classes(model):
        parts.append((f"{cls.__module__}.{cls.__qualname__}", inspect.getsource(cls)))
    return parts
