"""The server-wide caches behind "What a channel looks for": corpus scans, dataset examples, time estimates.

A corpus scan runs every corpus picture up to one layer (the 1,797 digit scans, or the
photos) and is worth keeping for the whole class: it is kept per network, weights, layer
and corpus, a few at a time. The renders themselves live in the library's bounded disk
cache (``explorer.runs.featurevis.cache``), made anew for each run so that its folder
follows ``CNN_EXPLORER_MICROSCOPE_CACHE`` as it is now.
"""

from __future__ import annotations

import streamlit as st

from explorer.runs.featurevis import microscope, service
from explorer.runs.featurevis.cache import RenderCache
from explorer.runs.featurevis.render import Recipe


def render_cache() -> RenderCache:
    return RenderCache()


# A scan keeps two numbers per picture and channel: 1,797 scans × 16 channels is 0.3 MB; Imagenette × 512 is 24 MB.
@st.cache_resource(max_entries=6, show_spinner=False)
def corpus_scan(arch_id: str, device: str, weights_key: str, layer: str, corpus_id: str, _spec, _model, _weights,
                _corpus):
    """Every corpus picture's best unit of every channel of ``layer`` (once per network, weights, layer, corpus)."""
    return microscope.scan_corpus(_spec, _model, _weights, layer, _corpus)


@st.cache_resource(max_entries=256, show_spinner=False)
def channel_examples(arch_id: str, device: str, weights_key: str, layer: str, corpus_id: str, channel: int,
                     _spec, _weights, _found):
    """The nine best examples of one channel, cropped (kept as arrays, never pickled)."""
    from explorer.runs.featurevis.examples import top_examples

    field = microscope.layer_field(_spec, layer, _found.side)
    return top_examples(_spec, _weights, _found, channel, field)


@st.cache_data(max_entries=64, ttl=3600, show_spinner=False)
def estimate_seconds(arch_id: str, device: str, weights_key: str, layer: str, size: int, steps: int,
                     _spec, _model, _weights) -> float:
    """How long one render of ``steps`` steps takes on this server, timed once per layer and recipe size."""
    return service.estimate_seconds(_spec, _model, _weights, layer, Recipe(steps=steps, size=size))


@st.cache_data(max_entries=32, show_spinner=False)
def strengths(arch_id: str, device: str, weights_key: str, layer: str, digest: str, _model, _tensor) -> list[float]:
    """Each channel's mean activation on the current picture (once per picture and layer)."""
    return microscope.channel_strengths(_model, layer, _tensor)
