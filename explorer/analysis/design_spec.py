"""A student's design as an architecture ("Your network"), so that every page and command works on it.

``design_spec`` gives an ``ArchSpec`` whose id is "design-" plus a short hash of the
network (its input, classes and layers; a layer's own name does not change the
network, so it is left out). The spec is remembered by id
(``explorer.core.session_specs``), never added to ``ARCHITECTURES``: functions that
take an id (the layer table, parameters, the digit sets, the learning run) find it,
and no other student's list shows it.

Its input is the design's own size and nothing else (``min_size == max_size``), as
for LeNet-5: a flatten before a linear layer fixes it. Designs whose height and
width differ are refused here, since every page runs square pictures.
"""

from __future__ import annotations

import functools
import hashlib
import json

from explorer.analysis.design_rows import require_whole
from explorer.core import session_specs
from explorer.core.errors import UserError
from explorer.core.registry import ArchSpec, Metadata
from explorer.models.design import Design, DesignNet

PREFIX = "design-"
TITLE = "Your network"


def design_id(design: Design) -> str:
    """"design-" and 12 hex digits of SHA-256 over the network's compact JSON (names left out)."""
    network = {"input": list(design.input), "classes": design.classes,
               "layers": [{"type": layer.type, **dict(layer.settings)} for layer in design.layers]}
    text = json.dumps(network, sort_keys=True, separators=(",", ":"))
    return PREFIX + hashlib.sha256(text.encode()).hexdigest()[:12]


def design_spec(design: Design) -> ArchSpec:
    """The design as an architecture, remembered by id; refused in a sentence if it cannot be built."""
    require_whole(design)
    channels, height, width = design.input
    if height != width:
        raise UserError(f"Your network reads {height}×{width} pictures; the pages run square pictures, "
                        f"so make its height equal its width.")
    spec = ArchSpec(
        id=design_id(design),
        name=TITLE,
        family=TITLE,
        year=None,
        paper="Designed here, layer by layer",
        paper_url=None,
        builder=functools.partial(DesignNet, design),
        in_channels=channels,
        metadata=Metadata(default_size=height, min_size=height, num_classes=design.classes),
        max_size=height,
        size_reason=f"Your network reads {height}×{height} pictures only (its layers were designed for that size)",
    )
    session_specs.keep(spec.id, spec)
    return spec
