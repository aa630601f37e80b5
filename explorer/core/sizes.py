"""Which input sizes a network can take, checked before any tensor reaches torch.

A size that cannot work gets one sentence that names the limit, worded for a
student. The same checks serve the sidebar, the URL query string and the
command line, so all three refuse the same things in the same words.
"""

from __future__ import annotations

from dataclasses import dataclass

from explorer.core.errors import UserError
from explorer.core.registry import ArchSpec

# The largest side the app offers anywhere. Beyond this even the smallest network's
# activations stop being a classroom-sized request.
MAX_SIDE = 1024
MAX_BATCH = 64


@dataclass(frozen=True)
class InputSize:
    """Batch, height and width of one request; channels come from the architecture."""

    height: int
    width: int
    batch: int = 1

    def shape(self, spec: ArchSpec) -> tuple[int, int, int, int]:
        return (self.batch, spec.in_channels, self.height, self.width)

    @property
    def label(self) -> str:
        return f"{self.height}×{self.width}"


def parse_whole_number(raw: object, what: str, low: int, high: int) -> int:
    """``raw`` (text from a URL or a command line, or a number) as an int in [low, high]."""
    text = str(raw).strip()
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        shown = text if len(text) <= 20 else text[:20] + "…"
        raise UserError(f"The {what} must be a whole number from {low} to {high}; got {shown!r}.")
    return value


def parse_input_size(height: object, width: object, batch: object = 1) -> InputSize:
    """Validated numbers for the request itself, before the architecture is considered."""
    return InputSize(
        height=parse_whole_number(height, "input height", 1, MAX_SIDE),
        width=parse_whole_number(width, "input width", 1, MAX_SIDE),
        batch=parse_whole_number(batch, "batch size", 1, MAX_BATCH),
    )


def size_problem(spec: ArchSpec, size: InputSize) -> str | None:
    """The sentence explaining why ``spec`` cannot take ``size``, or None if it can."""
    smallest = min(size.height, size.width)
    largest = max(size.height, size.width)
    if spec.max_size is not None and (smallest < spec.min_size or largest > spec.max_size):
        return f"{spec.size_reason}; you chose {size.label}."
    if smallest < spec.min_size:
        return f"{spec.name} needs inputs of at least {spec.min_size}×{spec.min_size}; you chose {size.label}."
    return None


def check_size(spec: ArchSpec, size: InputSize) -> None:
    """Raise ``UserError`` with the limit's sentence if ``spec`` cannot take ``size``."""
    problem = size_problem(spec, size)
    if problem:
        raise UserError(problem)


def valid_range(spec: ArchSpec) -> str:
    """The sizes a network takes, as a short phrase for help texts."""
    if spec.max_size is None:
        return f"{spec.min_size}–{MAX_SIDE} px"
    if spec.max_size == spec.min_size:
        return f"exactly {spec.min_size} px"
    return f"{spec.min_size}–{spec.max_size} px"
