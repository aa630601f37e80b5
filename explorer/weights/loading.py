"""A network holding the weights of one choice: random, ImageNet (from the hub cache) or digits.

Uploaded state dicts take their own path (``explorer.weights.uploads``): they are
checked key by key against the network before anything is loaded.
"""

from __future__ import annotations

import torch
from torch import nn

from explorer.core.errors import UserError
from explorer.core.shape_only import holding
from explorer.core.registry import ArchSpec
from explorer.weights import digit_checkpoints, hub
from explorer.weights.catalogue import DIGITS, LABELS, RANDOM, TORCHVISION_MEMBERS, WeightsUnavailable, check_choice


# "Random initialisation" is one network, not a new one per process: every server and replica behind a load
# balancer draws the same weights, so a class sees the teacher's maps, and a network built again after the
# server's model cache let it go matches the captures made of it before.
RANDOM_SEED = 0


def build(spec: ArchSpec, choice: str, device: str = "cpu") -> nn.Module:
    """``spec``'s network in eval mode with the ``random`` (always the same), ImageNet or ``digits`` weights."""
    check_choice(spec, choice)
    if choice == RANDOM:
        with torch.random.fork_rng(devices=[]):  # the caller's random numbers go on as if nothing was drawn
            torch.random.default_generator.manual_seed(RANDOM_SEED)
            return spec.build(device)  # initialised on the CPU, then moved
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
