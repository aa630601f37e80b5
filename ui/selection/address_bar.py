"""The address bar as a mirror of the sidebar: a shared link opens the same view, and the view updates the link.

``read_query`` turns a link's ``?arch=&h=&w=&batch=&device=&weights=`` into starting
values (with a sentence for each part it could not use); ``selection_query`` is the
one place that writes a selection back as query values, for the address bar and for
links between pages alike. Beside the selection a link may carry what a page shows
(``VIEW_KEYS``: the layer, the diagram's depth and collapse); ``write_view`` is the one
place that puts those into the address bar, and they stay there while the
architecture stays the same.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from explorer.core import devices
from explorer.core.errors import UserError
from explorer.core.registry import get_spec
from explorer.core.sizes import InputSize, parse_input_size
from explorer.weights import catalogue
from ui.selection.record import Selection

DEFAULT_ARCH = "lenet5"
_SELECTION_KEYS = ("arch", "h", "w", "batch", "device", "weights")
# What a page shows, beside the selection: a layer (?layer=, read by every page), and the
# diagram's depth (?depth=3) and collapsing of repeated blocks (?collapse=1 or 0).
VIEW_KEYS = ("layer", "depth", "collapse")


@dataclass(frozen=True)
class Start:
    """What a link asks the sidebar to start with, after checking."""

    arch_id: str
    size: InputSize
    device: str | None  # None: the machine's default
    weights: str
    problems: tuple[str, ...]  # one sentence per part of the link that was not used


def read_query(query) -> Start:
    """The starting values a link asks for; anything unusable is replaced by a default, with a sentence."""
    problems = []
    arch_id = DEFAULT_ARCH
    if "arch" in query:
        try:
            arch_id = get_spec(query["arch"]).id
        except UserError as error:
            problems.append(f"{error} Showing {get_spec(DEFAULT_ARCH).name} instead.")
    spec = get_spec(arch_id)
    try:
        size = parse_input_size(
            query.get("h", spec.default_size), query.get("w", spec.default_size), query.get("batch", 1)
        )
    except UserError as error:
        problems.append(f"{error} Using the default size instead.")
        size = InputSize(spec.default_size, spec.default_size, 1)
    device = query.get("device") if query.get("device") in devices.available_devices() else None
    weights = query.get("weights", catalogue.RANDOM)
    if weights not in catalogue.choices(spec):
        problems.append(f"{spec.name} has no weights called {weights[:40]!r}; showing random weights instead.")
        weights = catalogue.RANDOM
    return Start(arch_id, size, device, weights, tuple(problems))


def selection_query(selection: Selection, layer: str | None = None, **view: str) -> dict[str, str]:
    """The query values that open ``selection`` (and ``layer`` and other ``VIEW_KEYS``, if given) on any page."""
    query = {
        "arch": selection.spec.id,
        "h": str(selection.size.height),
        "w": str(selection.size.width),
        "batch": str(selection.size.batch),
    }
    if selection.device != devices.default_device():
        query["device"] = selection.device
    if selection.wanted != catalogue.RANDOM:
        query["weights"] = selection.wanted
    if layer:
        query["layer"] = layer
    unknown = set(view) - set(VIEW_KEYS)
    if unknown:
        raise ValueError(f"not a view key of a link: {sorted(unknown)}")
    query.update({key: value for key, value in view.items() if value})
    return query


def mirror_to_url(selection: Selection, class_code: str | None = None, design_link: str | None = None) -> None:
    """Write the selection (the class this session is in, and its own design) into the address bar, where it differs."""
    # What a page shows (a layer picked in the diagram, its depth) stays in the URL while the
    # architecture stays the same; another network has other layers and depths.
    same = st.query_params.get("arch") in (None, selection.spec.id)
    view = {key: st.query_params[key] for key in VIEW_KEYS if same and st.query_params.get(key)}
    wanted = selection_query(selection, **view)
    if class_code:  # a class's code is public (its join link); the teacher's secret is never in a URL
        wanted["class"] = class_code
    if design_link:  # "Your network" (ui.selection.my_design), so that a link opens it
        wanted["design"] = design_link
    current = {key: st.query_params.get(key) for key in (*_SELECTION_KEYS, *VIEW_KEYS, "class", "design")}
    if {k: v for k, v in current.items() if v is not None} != wanted:
        st.query_params.from_dict(wanted)


def write_view(**values: str | None) -> None:
    """Put what a page shows into the address bar (``None`` takes a key out), where it differs."""
    for key, value in values.items():
        if key not in VIEW_KEYS:
            raise ValueError(f"not a view key of a link: {key}")
        if value is None:
            if key in st.query_params:
                del st.query_params[key]
        elif st.query_params.get(key) != value:
            st.query_params[key] = value
