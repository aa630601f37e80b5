"""Which weights a network can run with, where they come from, and how to load them.

Choices, by name (the same names in the sidebar, the URL's ``?weights=`` and the
command line's ``--weights``):

- ``random``: the builder's own random initialisation; always there.
- ``imagenet`` / ``imagenet_v2``: torchvision's ``IMAGENET1K_V1`` / ``IMAGENET1K_V2``
  weights, for every torchvision network (V2 only where torchvision has it).
- ``digits``: LeNet-5 and the lab's toy networks trained on handwritten digits
  (``explorer.digits``, committed checkpoints).
- ``upload``: a state dict a user uploads (see ``explorer.state_dicts``).

ImageNet weights live in torch.hub's cache (``$TORCH_HOME/hub/checkpoints/`` under
the file name at the end of torchvision's URL), where torchvision itself would put
them. Everything needed to *describe* a download (URL, size, hash prefix) is in
torchvision's weights metadata, so nothing here touches the network until
``download`` is called, and a file already in the cache is loaded with no network
and with ``weights_only=True`` (tensors only: no pickled code can run).
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from explorer.capture import class_names
from explorer.errors import UserError
from explorer.registry import ArchSpec
from explorer.summary import build_meta_model

if TYPE_CHECKING:  # torchvision costs seconds to import; the first page needs none of it
    from torchvision.models import WeightsEnum

RANDOM, IMAGENET, IMAGENET_V2, DIGITS, UPLOAD = "random", "imagenet", "imagenet_v2", "digits", "upload"
LABELS = {
    RANDOM: "Random initialisation",
    IMAGENET: "ImageNet (torchvision V1)",
    IMAGENET_V2: "ImageNet (torchvision V2)",
    DIGITS: "Trained on handwritten digits",
    UPLOAD: "Upload a state dict",
}
_MEMBERS = {IMAGENET: "IMAGENET1K_V1", IMAGENET_V2: "IMAGENET1K_V2"}

# Seconds a connection attempt or a single read may take before the download gives up:
# short, so an offline classroom gets its sentence at once instead of a frozen page.
TIMEOUT_S = 10
# A whole download may take this long (VGG's 550 MB on a slow line), never longer.
MAX_DOWNLOAD_S = 900
_CHUNK = 1 << 20


class WeightsUnavailable(UserError):
    """Weights that were asked for cannot be used; the caller falls back to random weights."""


def _digits():
    from explorer import digits  # imported here: it reads its checkpoints' index on import

    return digits


def choices(spec: ArchSpec, *, upload: bool = True) -> list[str]:
    """The weights ``spec`` can run with, random first (``upload`` adds the upload choice)."""
    found = [RANDOM]
    if spec.weights is not None:
        found += [choice for choice, member in _MEMBERS.items() if member in spec.weights.__members__]
    if spec.id in _digits().DIGITS_WEIGHTS_ARCHS:
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
    if choice not in _MEMBERS or spec.weights is None:
        return None
    return spec.weights[_MEMBERS[check_choice(spec, choice)]]


def category_names(spec: ArchSpec, choice: str) -> list[str]:
    """The class names the network's outputs stand for with these weights."""
    member = torchvision_weights(spec, choice)
    if member is not None:
        return list(member.meta["categories"])
    if choice == DIGITS:
        return list(_digits().digit_class_names())
    return class_names(spec)


def is_trained(choice: str) -> bool:
    """Whether predictions mean anything (an upload is trusted to be trained)."""
    return choice != RANDOM


# -- torchvision checkpoints in torch.hub's cache ---------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """One downloadable weights file, described from metadata alone."""

    url: str
    megabytes: float  # torchvision's meta["_file_size"]

    @property
    def file_name(self) -> str:
        return os.path.basename(urllib.parse.urlparse(self.url).path)

    @property
    def path(self) -> Path:
        # Read at call time: TORCH_HOME or torch.hub.set_dir may change (tests do).
        return Path(torch.hub.get_dir()) / "checkpoints" / self.file_name

    @property
    def host(self) -> str:
        return urllib.parse.urlparse(self.url).hostname or self.url

    @property
    def hash_prefix(self) -> str | None:
        # torch.hub's convention: "<name>-<first hex digits of the SHA-256>.pth".
        match = re.search(r"-([a-f0-9]+)\.", self.file_name)
        return match.group(1) if match else None

    @property
    def cached(self) -> bool:
        return self.path.is_file()


def checkpoint(spec: ArchSpec, choice: str) -> Checkpoint | None:
    member = torchvision_weights(spec, choice)
    if member is None:
        return None
    return Checkpoint(url=member.url, megabytes=float(member.meta["_file_size"]))


def needs_download(spec: ArchSpec, choice: str) -> bool:
    found = checkpoint(spec, choice)
    return found is not None and not found.cached


def _open_url(url: str, timeout: float):
    """The HTTP response for ``url`` (a seam the tests replace to simulate failures)."""
    return urllib.request.urlopen(url, timeout=timeout)


_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _lock_for(path: Path) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(str(path), threading.Lock())


def _failure(spec_name: str, reason: str) -> WeightsUnavailable:
    return WeightsUnavailable(
        f"The ImageNet weights for {spec_name} could not be downloaded ({reason}), so it keeps random weights."
    )


def _reason(error: BaseException, found: Checkpoint) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"{found.host} answered HTTP {error.code}"
    cause = error.reason if isinstance(error, urllib.error.URLError) else error
    if isinstance(cause, socket.gaierror):
        return f"this computer cannot reach {found.host}; it may be offline"
    if isinstance(cause, (TimeoutError, socket.timeout)):
        return f"{found.host} did not answer within {TIMEOUT_S} seconds"
    if isinstance(cause, ConnectionRefusedError):
        return f"{found.host} refused the connection"
    if isinstance(error, urllib.error.URLError) or isinstance(cause, ConnectionError):
        return f"the connection to {found.host} failed"
    return f"the file could not be saved in {found.path.parent}"


def download(spec: ArchSpec, found: Checkpoint,
             on_progress: Callable[[int, int | None], None] | None = None) -> Path:
    """Fetch ``found`` into torch.hub's cache; ``on_progress(bytes_done, bytes_total)`` after each piece.

    The file is written under a temporary name in the same folder and renamed only
    once complete and matching the hash prefix in its name, so a half-written or
    corrupt file never sits where torchvision (or the next run) would load it. Two
    sessions asking at once download it once. Raises ``WeightsUnavailable`` with one
    sentence on any failure.
    """
    with _lock_for(found.path):
        if found.cached:
            return found.path
        temporary = None
        try:
            found.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=found.path.parent, prefix=found.file_name + ".", suffix=".part")
            digest = hashlib.sha256()
            done, deadline = 0, time.monotonic() + MAX_DOWNLOAD_S
            with os.fdopen(handle, "wb") as out, _open_url(found.url, TIMEOUT_S) as response:
                total = int(response.headers.get("Content-Length") or 0) or None
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    if on_progress is not None:
                        on_progress(done, total)
                    if time.monotonic() > deadline:
                        raise _failure(spec.name, f"it took longer than {MAX_DOWNLOAD_S // 60} minutes")
            if total is not None and done != total:
                raise _failure(spec.name, f"the transfer stopped after {done:,} of {total:,} bytes")
            if found.hash_prefix and not digest.hexdigest().startswith(found.hash_prefix):
                raise _failure(spec.name, "the file that arrived does not match torchvision's checksum")
            os.replace(temporary, found.path)  # atomic within one folder
            temporary = None
            return found.path
        except WeightsUnavailable:
            raise
        except (OSError, ValueError) as error:  # URLError, HTTPError, timeouts, resets and disk errors are OSErrors
            raise _failure(spec.name, _reason(error, found)) from error
        finally:
            if temporary is not None:
                Path(temporary).unlink(missing_ok=True)


# -- models with weights --------------------------------------------------------------------------


def load_cached(spec: ArchSpec, choice: str) -> dict[str, torch.Tensor]:
    """The state dict of an ImageNet choice from torch.hub's cache; never touches the network."""
    found = checkpoint(spec, choice)
    if found is None:
        raise UserError(f"{LABELS.get(choice, choice)} weights are not a torchvision download.")
    if not found.cached:
        raise WeightsUnavailable(
            f"The {LABELS[choice]} weights for {spec.name} ({found.megabytes:.0f} MB) are not downloaded yet, "
            "so it keeps random weights."
        )
    try:
        return torch.load(found.path, map_location="cpu", weights_only=True)
    except Exception as error:  # a damaged file in the cache: say so, never crash
        raise WeightsUnavailable(
            f"The cached file {found.file_name} could not be read as {spec.name} weights, so it keeps random "
            "weights; delete it and download again."
        ) from error


def with_state_dict(spec: ArchSpec, state: dict[str, torch.Tensor], device: str = "cpu") -> nn.Module:
    """``spec``'s network holding exactly ``state`` (strict: every key, every shape), in eval mode."""
    model = build_meta_model(spec)  # shape-only: no time spent on a random initialisation thrown away
    model.load_state_dict(state, strict=True, assign=True)
    leftovers = [name for name, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if leftovers:
        raise RuntimeError(f"{spec.id}: no weights for {', '.join(leftovers[:3])}")
    return model.to(device).eval()


def build(spec: ArchSpec, choice: str, device: str = "cpu") -> nn.Module:
    """``spec``'s network in eval mode with the ``random``, ImageNet or ``digits`` weights."""
    check_choice(spec, choice)
    if choice == RANDOM:
        return spec.build(device)
    if choice == DIGITS:
        try:
            state = _digits().digits_state_dict(spec.id)
        except (UserError, OSError) as error:  # a checkpoint missing from a broken install
            raise WeightsUnavailable(
                f"The digit-trained weights of {spec.name} could not be read, so it keeps random weights."
            ) from error
    elif choice in _MEMBERS:
        state = load_cached(spec, choice)
    else:
        raise UserError("Uploaded weights are read with explorer.state_dicts, not built by name.")
    try:
        return with_state_dict(spec, state, device)
    except (RuntimeError, ValueError) as error:  # e.g. a cached file of another architecture
        raise WeightsUnavailable(
            f"The {LABELS[choice]} weights do not fit {spec.name}'s layers, so it keeps random weights."
        ) from error


# -- preprocessing ----------------------------------------------------------------------------------

# torchvision builds these with ``transform_input=True`` when it loads ImageNet weights: the
# model's first operation turns ImageNet-normalised pixels into (p - 0.5) / 0.5, the scaling its
# original training used. The app keeps one module tree per architecture (the registry's, with
# ``transform_input=False``, so hooks and private views see the same layers whatever the
# weights), and applies that same scaling in the preprocessing instead: the numbers reaching
# the first convolution are the same.
_SCALED_TO_PLUS_MINUS_ONE = frozenset({"inception_v3"})


def normalisation(spec: ArchSpec, choice: str, member: WeightsEnum) -> tuple[tuple, tuple, str]:
    """Mean, standard deviation and a description of the normalisation for ``member``'s preset."""
    preset = member.transforms()
    source = f"torchvision's own preprocessing for the {member.name} weights"
    if spec.id in _SCALED_TO_PLUS_MINUS_ONE and choice in _MEMBERS:
        return (0.5, 0.5, 0.5), (0.5, 0.5, 0.5), (
            f"the scaling to −1…1 that {spec.name}'s {member.name} weights were trained with "
            "(torchvision's transform_input)")
    return tuple(preset.mean), tuple(preset.std), source


# -- what the weights are worth, in words -----------------------------------------------------------


def imagenet_sentence(spec: ArchSpec, choice: str) -> str:
    member = torchvision_weights(spec, choice)
    metrics = member.meta["_metrics"]["ImageNet-1K"]
    return (
        f"{spec.name} with torchvision's {member.name} weights, trained on ImageNet's "
        f"{len(member.meta['categories']):,} classes: {metrics['acc@1']:.1f}% top-1 and {metrics['acc@5']:.1f}% "
        "top-5 on ImageNet's validation images (torchvision's figures)."
    )


def digits_report(spec: ArchSpec) -> dict:
    return _digits().digits_report(spec.id)


def digits_sentence(spec: ArchSpec) -> str:
    report = digits_report(spec)
    held_out = report.get("held_out_set") or f"{report['test_size']:,} digits kept out of training"
    return (
        f"{spec.name} with weights trained on {report['dataset']}: "
        f"{report['held_out_accuracy']:.1%} correct on {held_out}."
    )
