"""A network holding the weights of one choice: random, ImageNet (from the hub cache) or digits.

Uploaded state dicts take their own path (``explorer.weights.uploads``): they are
checked key by key against the network before anything is loaded.
"""

from __future__ import annotations

from torch import nn

from explorer.core.errors import UserError
from explorer.core.shape_only import holding
from explorer.core.registry import ArchSpec
from explorer.weights import digit_checkpoints, hub
from explorer.weights.catalogue import DIGITS, LABELS, RANDOM, TORCHVISION_MEMBERS, WeightsUnavailable, check_choice


def build(spec: ArchSpec, choice: str, device: str = "cpu") -> nn.Module:
    """``spec``'s network in eval mode with the ``random``, ImageNet or ``digits`` weights."""
    check_choice(spec, choice)
    if choice == RANDOM:
        return spec.build(device)
    if choice == DIGITS:
        try:
            state = digit_checkpoints.digits_state_dict(spec.id)
        except (UserError, OSError) as error:  # a checkpoint missing from a broken install
            raise WeightsUnavailable(
                f"The digit-trained weights of {spec.name} could not be read, so it keeps random weights."
            ) from error
    elif choice in TORCHVISION_MEMBERS:
        state = hub.load_cached(spec, choice)
    else:
        raise UserError("Uploaded weights are read with explorer.weights.uploads, not built by name.")
    try:
        # Shape-only first: no time spent on a random initialisation that would be thrown away.
        return holding(spec, state).to(device).eval()
    except (RuntimeError, ValueError) as error:  # e.g. a cached file of another architecture
        raise WeightsUnavailable(
            f"The {LABELS[choice]} weights do not fit {spec.name}'s layers, so it keeps random weights."
        ) from error
