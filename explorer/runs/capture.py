"""One forward pass that keeps every layer's output, reduced to what a page can show.

``capture(model, x)`` puts a forward hook on every submodule, and a pre-hook on each
that has submodules of its own, and runs the model once. Each module *call* becomes one
``LayerOutput``, in the order the calls start (the order torchinfo's layer table uses),
so a module called twice (ResNet's shared ``relu``) gives two entries.

Each hook reduces a large output the moment it appears (``explorer.runs.reduction``),
and copies a small one into a buffer reduced in batches after the pass
(``explorer.runs.deferred``); a batch norm whose input was kept with every map only
counts its zeros, and the rest is made from its input's (``explorer.runs.affine``).
(``record`` can keep full copies instead, for tests that compare them with forwards
written out by hand.)

A container whose output is the very tensor its last child returned, unchanged
(the tensor object and its in-place version counter both match), shares that
child's arrays instead of keeping a second copy.

The page never hooks the server's shared model: ``run_on_image`` borrows a private
view of it (``explorer.runs.private_views``) and hooks only that. Handles are removed and
every module's train/eval mode is restored in ``finally``, also when the forward
pass fails.
"""

from __future__ import annotations

import os
import threading
import time
import weakref

import torch
from torch import nn

from explorer.core.registry import ArchSpec
from explorer.runs.capture_results import Capture
from explorer.runs.affine import Affine
from explorer.runs.deferred import Deferred, Slot
from explorer.runs.reduction import count_nonzero, keeps_every_map, reduce, reduce_output
from explorer.runs.private_views import lent_view

# Forward passes with every output alive are the app's biggest memory spikes; at most
# this many run at once however many students press the button together.
_RUNNING = threading.BoundedSemaphore(2)
# For benchmarks and load tests: a file that gets one line per forward pass (benchmarks/bench_browser.py
# reads it to show that switching layers runs none).
PASS_LOG = os.environ.get("EXPLORER_PASS_LOG")


class _Recorder:
    """Hook state for one capture: the calls in start order and what is kept of each output."""

    def __init__(self, model: nn.Module, reduce_now: bool, defer: bool = False) -> None:
        self.reduce_now = reduce_now
        # With ``defer``, small outputs are copied and reduced in batches after the pass (``reduce(..., deferred)``).
        self.deferred = Deferred() if defer else None
        # Read once here, for the names, the hooks and the modes: a walk of the tree costs 27 µs (ResNet-18).
        named = [(name, m) for name, m in model.named_modules() if name]
        self.modules = [m for _, m in named]
        self.names = {id(m): (name, type(m).__name__, name.count(".") + 1) for name, m in named}
        # A module without submodules calls no hooked module, so it starts just before its forward hook
        # fires: it needs no pre-hook (ResNet-18: 52 of 67 modules; about 0.4 ms less per capture, measured
        # in separate processes, within this machine's noise).
        self.leaves = {id(m) for m in self.modules if next(m.children(), None) is None}
        self.last_call: int | None = None  # the index of the call whose forward hook ran last
        self.thread = threading.get_ident()
        self.calls: list[list] = []  # [name, type, depth, shape, copy of the output], in call-start order
        self.open: list[int] = []
        self.times_called: dict[int, int] = {}
        self.seen: dict[int, tuple[weakref.ref, int, torch.Tensor]] = {}

    def pre_hook(self, module: nn.Module, args) -> None:
        if threading.get_ident() != self.thread:  # another thread's forward: not ours to record
            return
        nth = self.times_called[id(module)] = self.times_called.get(id(module), 0) + 1
        name, kind, depth = self.names[id(module)]
        self.open.append(len(self.calls))
        self.calls.append([name if nth == 1 else f"{name} (call {nth})", kind, depth, (), None])

    def hook(self, module: nn.Module, args, output) -> None:
        if threading.get_ident() != self.thread:
            return
        if id(module) in self.leaves:
            self.pre_hook(module, args)
        self.last_call = self.open.pop()
        call = self.calls[self.last_call]
        if isinstance(output, torch.Tensor):
            call[3] = tuple(output.shape)
            call[4] = self._keep(output, module, args)  # the object itself: its identity is the sharing key

    def _kept_whole(self, tensor) -> object | None:
        """What was kept of ``tensor``, unchanged since, where that keeps every channel's map; else None."""
        earlier = self.seen.get(id(tensor)) if isinstance(tensor, torch.Tensor) and tensor.dim() == 4 else None
        if not earlier or earlier[0]() is not tensor or earlier[1] != tensor._version:
            return None
        kept = earlier[2]
        every = isinstance(kept, Slot) or (isinstance(kept, dict) and "maps" in kept)
        return kept if every and keeps_every_map(tensor.shape[1]) else None

    def _keep(self, output: torch.Tensor, module: nn.Module | None = None, args=()) -> object:
        """The first image's output, reduced or copied now: later in-place operations must not reach it.

        Reducing here reads the output while it is still in the cache, and needs no
        full-size copy; reducing later from copies reads every output from memory again.
        """
        earlier = self.seen.get(id(output))
        # The same tensor object, unchanged since (same in-place version): reuse what was kept.
        if earlier and earlier[0]() is output and earlier[1] == output._version:
            return earlier[2]
        first = (output[0] if output.dim() > 1 else output).detach()
        source = self._kept_whole(args[0]) if self.reduce_now and args and Affine.applies(module) else None
        if not self.reduce_now:
            kept = first.clone()
        elif source is not None:  # a batch norm of an output kept whole: only its zeros are counted here
            kept = Affine(source, module, int(count_nonzero(first)))
        else:
            kept = self.deferred.add(first) if self.deferred is not None else None
            kept = kept or reduce_output(first, stats_later=True)
        self.seen[id(output)] = (weakref.ref(output), output._version, kept)
        return kept


def record(model: nn.Module, x: torch.Tensor, reduce_now: bool = False,
           recorder: _Recorder | None = None) -> tuple[list[list], torch.Tensor]:
    """Run ``model`` once in eval mode with hooks; every call with a full copy of its output
    (or, with ``reduce_now``, with its reduction, made inside the hook).

    The model must not be run by other threads meanwhile (hook a ``private_view``). A
    ``recorder`` made for ``model`` may keep more (explorer.runs.interventions keeps two rows).
    Hooks already on the model run before these, so they see what those hooks changed.
    """
    recorder = recorder or _Recorder(model, reduce_now)
    # Switching modes only where one differs: the views are in eval mode already, and eval() plus
    # restoring every flag cost 0.22 ms per ResNet-18 capture.
    modes = [(module, module.training) for module in (model, *recorder.modules)]
    handles = []
    try:
        for module in recorder.modules:
            if id(module) not in recorder.leaves:
                handles.append(module.register_forward_pre_hook(recorder.pre_hook))
            handles.append(module.register_forward_hook(recorder.hook))
        if any(training for _, training in modes):
            model.eval()
        with torch.no_grad():
            output = model(x)
    finally:
        for handle in handles:
            handle.remove()
        for module, training in modes:
            if module.training != training:
                module.training = training
    return recorder.calls, output


def capture(model: nn.Module, x: torch.Tensor) -> Capture:
    """Run ``model`` on ``x`` once in eval mode and keep every module call's output, reduced."""
    if PASS_LOG:
        with open(PASS_LOG, "a") as log:
            log.write(f"{time.time():.3f} {type(model).__name__} {tuple(x.shape)}\n")
    with _RUNNING:
        recorder = _Recorder(model, reduce_now=True, defer=True)
        calls, output = record(model, x, recorder=recorder)
        return reduce(calls, output, recorder.deferred)


def run_on_image(spec: ArchSpec, model: nn.Module, tensor: torch.Tensor) -> Capture:
    """Capture ``tensor`` through a private view of ``model`` (which may be shared)."""
    device = next(model.parameters()).device
    with lent_view(spec, model) as view:
        return capture(view, tensor.to(device))
