"""A render as a server gives it: from the cache at once, else after its turn in the server's queue.

The page calls ``obtain``: a cached render comes back without waiting; a missing one
joins the queue (``on_place`` hears the place while waiting), runs with its progress
callback, and is kept for the next student. ``estimate_seconds`` times a few steps so
the page can say how long a render will take before anyone starts it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable

from torch import nn

from explorer.core.registry import ArchSpec
from explorer.runs.featurevis.cache import RenderCache, render_key
from explorer.runs.featurevis.microscope import render_unit
from explorer.runs.featurevis.queue import SERVER_QUEUE, RenderQueue
from explorer.runs.featurevis.render import Recipe, Rendered

SHORT_PROBE, LONG_PROBE = 2, 10  # steps of the two timed probes
WAIT_POLL_S = 0.5  # how often a waiter hears its place again


@dataclass(frozen=True)
class Obtained:
    rendered: Rendered
    from_cache: bool
    note: str | None  # one sentence when the render could not be kept


def cached(cache: RenderCache, spec: ArchSpec, weights_key: str, layer: str, channel: int,
           recipe: Recipe) -> Rendered | None:
    """The render if it is already in the cache (what a page shows at once, and all a class follower reads)."""
    return cache.get(render_key(spec.id, weights_key, layer, channel, recipe))


def obtain(cache: RenderCache, spec: ArchSpec, model: nn.Module, weights: str, weights_key: str, layer: str,
           channel: int, recipe: Recipe, progress: Callable[[int, int, float], None] | None = None,
           on_place: Callable[[int], None] | None = None, queue: RenderQueue = SERVER_QUEUE) -> Obtained:
    """The render from the cache, or made in its turn and kept; a full queue raises one sentence."""
    key = render_key(spec.id, weights_key, layer, channel, recipe)
    found = cache.get(key)
    if found is not None:
        return Obtained(found, True, None)
    ticket = queue.join()
    try:
        while not queue.wait(ticket, timeout=WAIT_POLL_S):
            if on_place is not None:
                on_place(ticket.place)
        found = cache.get(key)  # someone ahead in the queue may have made this very render
        if found is not None:
            return Obtained(found, True, None)
        rendered = render_unit(spec, model, weights, layer, channel, recipe, progress)
    finally:
        queue.leave(ticket)
    return Obtained(rendered, False, cache.put(key, rendered))


def estimate_seconds(spec: ArchSpec, model: nn.Module, weights: str, layer: str, recipe: Recipe) -> float:
    """Wall-clock seconds ``recipe`` should take here, from short renders of two lengths (after a warm-up).

    A render has a fixed cost (a private copy of the network, the first and last pictures) besides its
    steps; dividing one short render by its steps would count that cost once per step, and overestimate
    a short recipe several times over. Two probes of different lengths separate the two parts.
    """
    render_unit(spec, model, weights, layer, 0, replace(recipe, steps=1))
    timings = {steps: [] for steps in (SHORT_PROBE, LONG_PROBE)}
    for _ in range(2):  # the quicker of two tries: a busy server only ever makes a probe slower
        for steps in timings:
            start = time.perf_counter()
            render_unit(spec, model, weights, layer, 0, replace(recipe, steps=steps))
            timings[steps].append(time.perf_counter() - start)
    short, long = min(timings[SHORT_PROBE]), min(timings[LONG_PROBE])
    per_step = (long - short) / (LONG_PROBE - SHORT_PROBE)
    if per_step <= 0:  # noise larger than the steps: count the long probe as all steps
        per_step = long / LONG_PROBE
    fixed = max(short - SHORT_PROBE * per_step, 0.0)
    return fixed + per_step * recipe.steps
