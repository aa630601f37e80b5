"""The ``Selection`` record: the sidebar's current choice, as every page and panel sees it.

It lives apart from the sidebar that fills it, so that the address bar and the weights panel,
which the sidebar uses, can name it without importing the sidebar back.
"""

from __future__ import annotations

from dataclasses import dataclass

from explorer.core.registry import ArchSpec
from explorer.core.sizes import InputSize
from explorer.weights import catalogue


@dataclass(frozen=True)
class Selection:
    """The sidebar's current choice, as every page sees it."""

    spec: ArchSpec
    size: InputSize
    device: str
    weights: str = catalogue.RANDOM  # the weights the pages really run with
    wanted: str = catalogue.RANDOM  # the sidebar's choice (differs after a fallback)
    upload_digest: str | None = None  # SHA-256 of this session's uploaded state dict, if used

    @property
    def weights_key(self) -> str:
        """The weights as a cache-key part: the choice, or the upload's hash."""
        return f"upload-{self.upload_digest}" if self.weights == catalogue.UPLOAD else self.weights

    @property
    def fell_back(self) -> bool:
        return self.weights != self.wanted
