"""torchvision's weight files in torch.hub's cache: described, downloaded when asked, read safely.

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

import torch

from explorer.core.errors import UserError
from explorer.core.registry import ArchSpec
from explorer.weights.catalogue import LABELS, WeightsUnavailable, torchvision_weights

# Seconds a connection attempt or a single read may take before the download gives up:
# short, so an offline classroom gets its sentence at once instead of a frozen page.
TIMEOUT_S = 10
# A whole download may take this long (VGG's 550 MB on a slow line), never longer.
MAX_DOWNLOAD_S = 900
_CHUNK = 1 << 20


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
