"""Server-wide caches that every page shares, and the checks made before a page really runs a model.

Cached objects here are shared by every user of the server and are read-only: a
page that wants to train or hook a model takes its own copy (or a private view).
Cache keys are plain values (an architecture id, a size, a weights name), never
modules or tensors, and every cache is bounded.
"""

from __future__ import annotations

import streamlit as st
import torch

from explorer.analysis.memory_estimate import memory_refusal
from explorer.analysis.source import architecture_source
from explorer.analysis.summary import LayerTable, summarize
from explorer.core import memory
from explorer.core.shape_only import build_meta_model
from explorer.core.registry import get_spec
from explorer.core.sizes import InputSize, size_problem
from explorer.weights import catalogue, loading


@st.cache_data(max_entries=64, show_spinner="Tracing the network's layers…")
def cached_layer_table(arch_id: str, height: int, width: int, batch: int) -> LayerTable:
    """The layer table for one architecture and size, computed once per server."""
    return summarize(arch_id, InputSize(height, width, batch))


@st.cache_data(max_entries=32, show_spinner=False)
def cached_model_text(arch_id: str) -> tuple[str, list[tuple[str, str]]]:
    """The model as PyTorch prints it and its source code, worked out once per architecture."""
    spec = get_spec(arch_id)
    model = build_meta_model(spec)
    return repr(model), architecture_source(spec, model)


# Four entries: the largest (VGG-19 with batch norm) holds 550 MB of weights whether random or
# trained, so the worst case stays near 2.2 GB however many sessions ask.
@st.cache_resource(max_entries=4, show_spinner="Loading the network's weights…")
def shared_model(arch_id: str, device: str, weights: str = catalogue.RANDOM) -> torch.nn.Module:
    """One eval-mode model per architecture, device and weights (random, ImageNet, digits), shared read-only.

    Gradients are switched off so that nothing can train it by accident; a page
    that trains takes ``copy.deepcopy`` of it and switches them back on.
    """
    # A new entry is about to push the oldest model out; the pages freed by the last
    # eviction are given back first, or the server's memory ratchets up (explorer/core/memory.py).
    memory.release_freed_memory()
    return loading.build(get_spec(arch_id), weights, device).requires_grad_(False)


def stop_if(problem: str | None) -> None:
    """Show ``problem`` as the page's one sentence and end this run; do nothing when it is None."""
    if problem:
        st.error(problem)
        st.stop()


def run_problem(selection, batch: int = 1) -> str | None:
    """Why the selected network cannot really run on ``batch`` pictures of the selected size, or None.

    Checked before any work: the size limits first, then the memory estimate of the
    shape-only layer table (cheap, and cached for the layer-table page too).
    """
    spec, size = selection.spec, InputSize(selection.size.height, selection.size.width, batch)
    problem = size_problem(spec, size)
    if problem:
        return problem
    # Keywords: a cheaper cache key (ui/caches).
    table = cached_layer_table(arch_id=spec.id, height=size.height, width=size.width, batch=size.batch)
    return memory_refusal(spec, size, table.totals)
