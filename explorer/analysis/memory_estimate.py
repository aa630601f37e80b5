"""Whether one request fits the memory a shared server allows it, in one sentence when it does not.

The estimate is torchinfo's (input, the outputs a backward pass would keep, and the
parameters, in float32), read off the layer table, which costs no memory to make.
"""

from __future__ import annotations

from explorer.analysis.summary import Totals
from explorer.core.limits import REQUEST_MEMORY_BYTES
from explorer.core.memory import format_bytes
from explorer.core.registry import ArchSpec
from explorer.core.sizes import InputSize


def _memory_needed(spec: ArchSpec, size: InputSize, totals: Totals) -> str | None:
    if totals.estimated_bytes <= REQUEST_MEMORY_BYTES:
        return None
    batch = f"a batch of {size.batch} at " if size.batch > 1 else ""
    return (
        f"Running {spec.name} on {batch}{size.label} would need about "
        f"{format_bytes(totals.estimated_bytes)} of memory, more than the "
        f"{format_bytes(REQUEST_MEMORY_BYTES)} this app allows for one request"
    )


def memory_warning(spec: ArchSpec, size: InputSize, totals: Totals) -> str | None:
    """For the layer table, which costs no memory: the budget is exceeded, but the table is shown."""
    needed = _memory_needed(spec, size, totals)
    return needed and f"{needed}; the layer table is worked out from shapes alone, so it is still shown."


def memory_refusal(spec: ArchSpec, size: InputSize, totals: Totals) -> str | None:
    """For pages that really run the model: the sentence that refuses a request over the budget."""
    needed = _memory_needed(spec, size, totals)
    return needed and f"{needed}, so choose a smaller input size."
