"""One forward pass that keeps every layer's output, reduced to what a page can show.

``capture(model, x)`` puts a pre-hook and a forward hook on every submodule and
runs the model once. Each module *call* becomes one ``LayerOutput``, in the
order the calls start (the order torchinfo's layer table uses), so a module
called twice (ResNet's shared ``relu``) gives two entries.

Each hook reduces the output the moment it appears, before any later in-place
operation (AlexNet's ``ReLU(inplace=True)``, ResNet's ``out += identity``) can
overwrite it, and while it is still in the processor's cache: no full-size copy
is made. (``record`` can keep full copies instead, for tests that compare them
with forwards written out by hand.) What is kept:

- exact statistics of the whole output (min, max, mean, exact zeros, dead channels,
  each channel's mean);
- feature maps for at most ``2 × KEPT_CHANNELS`` channels (the first ones and the
  strongest ones, which is all the page's grid can show), averaged over blocks of a
  whole factor to at most ``DISPLAY_SIDE`` pixels a side, and stored as uint8 with
  each channel's own min and max to read the values back;
- 1-D outputs (fully-connected layers) as float32 vectors.

A container whose output is the very tensor its last child returned, unchanged
(the tensor object and its in-place version counter both match), shares that
child's arrays instead of keeping a second copy.

Hooks on a model change it for every thread that runs it, so the page never
hooks the server's shared model: ``private_view`` gives a separate module tree
that shares the shared model's weight tensors (no copy of the weights), and only
that tree is hooked. Building a view costs a shape-only model (about as much as
a small forward pass), so a few views per shared model are kept for reuse, each
lent to one capture at a time. Handles are removed and every module's
train/eval mode is restored in ``finally``, also when the forward pass fails.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from explorer.registry import ArchSpec
from explorer.summary import build_meta_model

DISPLAY_SIDE = 64
KEPT_CHANNELS = 64
MAX_VECTOR = 65_536
# Forward passes with every output alive are the app's biggest memory spikes; at most
# this many run at once however many students press the button together.
_RUNNING = threading.BoundedSemaphore(2)
# For benchmarks and load tests: a file that gets one line per forward pass (benchmarks/bench_browser.py
# reads it to show that switching layers runs none).
PASS_LOG = os.environ.get("EXPLORER_PASS_LOG")


@dataclass(frozen=True)
class LayerStats:
    """Exact numbers for one layer's whole output (first image of the batch)."""

    minimum: float
    maximum: float
    mean: float
    zero_share: float  # share of values that are exactly 0
    dead_channels: int | None  # channels that are 0 everywhere (None for 1-D outputs)
    channels: int


@dataclass(frozen=True)
class LayerOutput:
    """One module call of the forward pass, reduced for display."""

    index: int
    name: str  # dotted name as in named_modules(), "(call n)" for repeated calls
    type: str
    depth: int
    shape: tuple[int, ...]  # the full output shape, batch first
    stats: LayerStats | None
    channel_means: np.ndarray | None = None  # (C,) float32, every channel, full resolution
    maps: np.ndarray | None = None  # (K, h, w) uint8, quantised per channel
    map_channels: np.ndarray | None = None  # (K,) which channel each kept map is
    map_low: np.ndarray | None = None  # (K,) float32: value of q = 0
    map_high: np.ndarray | None = None  # (K,) float32: value of q = 255
    pool_factor: int = 1  # maps were averaged over pool_factor × pool_factor blocks
    vector: np.ndarray | None = None  # 1-D outputs, float32

    @property
    def kind(self) -> str:
        if self.maps is not None:
            return "maps"
        return "vector" if self.vector is not None else "other"

    @property
    def shape_text(self) -> str:
        return "×".join(str(n) for n in self.shape[1:]) if len(self.shape) > 1 else "—"

    def channel_maps(self, channels: Sequence[int]) -> np.ndarray:
        """Float32 maps (n, h, w) of the given channel numbers, which must be kept ones."""
        rows = np.searchsorted(self.map_channels, channels)
        if not np.array_equal(self.map_channels[rows], np.asarray(channels)):
            raise KeyError("a requested channel was not kept")
        scale = (self.map_high[rows] - self.map_low[rows]) / 255
        return self.map_low[rows, None, None] + self.maps[rows].astype(np.float32) * scale[:, None, None]

    def ordered_channels(self, order: str, count: int) -> np.ndarray:
        """The first ``count`` channels by index, or the ``count`` strongest by mean, strongest first."""
        count = min(count, KEPT_CHANNELS, len(self.channel_means))
        if order == "strongest":
            return np.argsort(-self.channel_means, kind="stable")[:count]
        return np.arange(count)


@dataclass(frozen=True)
class Capture:
    """Every layer call of one forward pass, plus the network's final output."""

    layers: tuple[LayerOutput, ...]
    logits: np.ndarray  # the model's output for the first image, float32

    @property
    def nbytes(self) -> int:
        """Bytes of array data kept (arrays shared between entries count once)."""
        seen: dict[int, int] = {}
        for layer in self.layers:
            for array in (layer.channel_means, layer.maps, layer.map_channels, layer.map_low,
                          layer.map_high, layer.vector):
                if array is not None:
                    seen[id(array)] = array.nbytes
        return sum(seen.values()) + self.logits.nbytes


def _reduce_maps(x: torch.Tensor) -> dict:
    """Statistics and display maps of one C×H×W output (runs after the pass, on the copy)."""
    channels = x.shape[0]
    flat = x.reshape(channels, -1).float()
    # amin/amax/sum along rows, and sign().abs() for non-zeros, are several times faster on
    # the CPU than aminmax(dim=...) and count_nonzero (measured: 0.1 and 0.3 ms against
    # 2.8 and 4.4 ms for 64×112×112). Only the layer's total of non-zeros is needed.
    low, high = flat.amin(dim=1), flat.amax(dim=1)
    means = flat.sum(dim=1) / flat.shape[1]
    nonzero = flat.sign().abs_().sum()
    if channels <= KEPT_CHANNELS:  # every channel is kept: no selection to make
        chosen, maps, lo, hi = np.arange(channels), x.float(), low, high
    else:
        first = torch.arange(KEPT_CHANNELS, device=x.device)
        chosen = torch.cat([first, torch.topk(means, KEPT_CHANNELS).indices]).unique()
        maps, lo, hi = x.index_select(0, chosen).float(), low.index_select(0, chosen), high.index_select(0, chosen)
    factor = -(-max(x.shape[1:]) // DISPLAY_SIDE)
    if factor > 1:
        maps = _block_means(maps, factor)
    # A flat channel (max = min) gets scale 0, so every value reads back as its min.
    span = hi - lo
    scale = torch.where(span > 0, 255 / span, torch.zeros_like(span))
    quantised = _to_uint8(((maps - lo[:, None, None]) * scale[:, None, None]).round_())
    return {
        "low": low, "high": high, "means": means, "nonzero": nonzero,
        "maps": quantised, "chosen": chosen, "map_low": lo, "map_high": hi, "factor": factor,
    }


def _to_uint8(values: torch.Tensor) -> torch.Tensor:
    """Whole numbers 0–255 as uint8: on the CPU through numpy, whose conversion is vectorised
    (measured 0.04 ms against torch's 0.3 ms for 64×56×56); on a GPU where they are."""
    if values.device.type != "cpu":
        return values.to(torch.uint8)
    return torch.from_numpy(values.numpy().astype(np.uint8))


def _block_means(maps: torch.Tensor, factor: int) -> torch.Tensor:
    """Means over factor×factor blocks; rows and columns that do not fill a whole block are dropped.

    For small factors, adding strided slices is several times faster on the CPU than
    avg_pool2d (measured: 0.4 ms against 3.5 ms for 64×112×112), and these are the
    common cases (112 → 56, 224 → 56, 149 → 49).
    """
    if factor > 4:
        return F.avg_pool2d(maps, factor)
    height, width = (maps.shape[1] // factor) * factor, (maps.shape[2] // factor) * factor
    total = sum(maps[:, i:height:factor, j:width:factor] for i in range(factor) for j in range(factor))
    return total / factor**2


def _reduce_vector(x: torch.Tensor) -> dict:
    flat = x.reshape(-1).float()
    return {"vector": flat[:MAX_VECTOR].clone(), "aminmax": (flat.min(), flat.max()), "mean": flat.mean(),
            "nonzero": flat.sign().abs_().sum(), "size": flat.numel()}


def _to_numpy(raw: dict) -> dict:
    return {k: v.cpu().numpy() if isinstance(v, torch.Tensor) else v for k, v in raw.items()}


def _finish(index: int, name: str, kind: str, depth: int, shape: tuple, raw: dict | None) -> LayerOutput:
    if raw is None:
        return LayerOutput(index, name, kind, depth, shape, None)
    raw = _to_numpy(raw)
    if "maps" in raw:
        channels = len(raw["means"])
        values = channels * int(np.prod(shape[2:]))
        stats = LayerStats(
            minimum=float(raw["low"].min()), maximum=float(raw["high"].max()),
            mean=float(raw["means"].mean()), zero_share=1 - float(raw["nonzero"]) / values,
            dead_channels=int(((raw["low"] == 0) & (raw["high"] == 0)).sum()), channels=channels,
        )
        return LayerOutput(
            index, name, kind, depth, shape, stats, channel_means=raw["means"], maps=raw["maps"],
            map_channels=raw["chosen"], map_low=raw["map_low"], map_high=raw["map_high"],
            pool_factor=raw["factor"], vector=None,
        )
    low, high = raw["aminmax"]
    stats = LayerStats(float(low), float(high), float(raw["mean"]), 1 - float(raw["nonzero"]) / raw["size"],
                       None, raw["size"])
    return LayerOutput(index, name, kind, depth, shape, stats, vector=raw["vector"])


class _Recorder:
    """Hook state for one capture: the calls in start order and what is kept of each output."""

    def __init__(self, model: nn.Module, reduce_now: bool) -> None:
        self.reduce_now = reduce_now
        self.names = {id(m): name for name, m in model.named_modules() if name}
        self.thread = threading.get_ident()
        self.calls: list[list] = []  # [name, type, depth, shape, copy of the output], in call-start order
        self.open: list[int] = []
        self.times_called: dict[int, int] = {}
        self.seen: dict[int, tuple[weakref.ref, int, torch.Tensor]] = {}

    def pre_hook(self, module: nn.Module, args) -> None:
        if threading.get_ident() != self.thread:  # another thread's forward: not ours to record
            return
        nth = self.times_called[id(module)] = self.times_called.get(id(module), 0) + 1
        name = self.names[id(module)]
        name = name if nth == 1 else f"{name} (call {nth})"
        self.open.append(len(self.calls))
        self.calls.append([name, type(module).__name__, name.count(".") + 1, (), None])

    def hook(self, module: nn.Module, args, output) -> None:
        if threading.get_ident() != self.thread:
            return
        call = self.calls[self.open.pop()]
        if isinstance(output, torch.Tensor):
            call[3] = tuple(output.shape)
            call[4] = self._keep(output)  # the object itself: its identity is the sharing key

    def _keep(self, output: torch.Tensor) -> torch.Tensor | dict:
        """The first image's output, reduced or copied now: later in-place operations must not reach it.

        Reducing here reads the output while it is still in the cache, and needs no
        full-size copy; reducing later from copies reads every output from memory again.
        """
        earlier = self.seen.get(id(output))
        # The same tensor object, unchanged since (same in-place version): reuse what was kept.
        if earlier and earlier[0]() is output and earlier[1] == output._version:
            return earlier[2]
        first = (output[0] if output.dim() > 1 else output).detach()
        kept = _reduce(first) if self.reduce_now else first.clone()
        self.seen[id(output)] = (weakref.ref(output), output._version, kept)
        return kept


def _reduce(copy: torch.Tensor) -> dict:
    return _reduce_maps(copy) if copy.dim() == 3 else _reduce_vector(copy)


def record(model: nn.Module, x: torch.Tensor, reduce_now: bool = False) -> tuple[list[list], torch.Tensor]:
    """Run ``model`` once in eval mode with hooks; every call with a full copy of its output
    (or, with ``reduce_now``, with its reduction, made inside the hook).

    The model must not be run by other threads meanwhile (hook a ``private_view``).
    """
    recorder = _Recorder(model, reduce_now)
    modes = {module: module.training for module in model.modules()}
    handles = []
    try:
        for module in model.modules():
            if module is not model:
                handles.append(module.register_forward_pre_hook(recorder.pre_hook))
                handles.append(module.register_forward_hook(recorder.hook))
        model.eval()
        with torch.no_grad():
            output = model(x)
    finally:
        for handle in handles:
            handle.remove()
        for module, training in modes.items():
            module.training = training
    return recorder.calls, output


def reduce(calls: list[list], output) -> Capture:
    """Shrink recorded calls to statistics and display-sized maps, freeing each full copy as it goes."""
    layers = []
    done: dict[int, LayerOutput] = {}  # copies shared by several calls are reduced once
    for index, call in enumerate(calls):
        name, kind, depth, shape, copy = call
        call[4] = None
        twin = done.get(id(copy)) if copy is not None else None
        if twin is not None:
            layer = dataclasses.replace(twin, index=index, name=name, type=kind, depth=depth)
        else:
            raw = copy if copy is None or isinstance(copy, dict) else _reduce(copy)
            layer = _finish(index, name, kind, depth, shape, raw)
            if copy is not None:
                done[id(copy)] = layer
        layers.append(layer)
    logits = output if isinstance(output, torch.Tensor) else output.logits
    return Capture(layers=tuple(layers), logits=logits[0].float().cpu().numpy())


def capture(model: nn.Module, x: torch.Tensor) -> Capture:
    """Run ``model`` on ``x`` once in eval mode and keep every module call's output, reduced."""
    if PASS_LOG:
        with open(PASS_LOG, "a") as log:
            log.write(f"{time.time():.3f} {type(model).__name__} {tuple(x.shape)}\n")
    with _RUNNING:
        calls, output = record(model, x, reduce_now=True)
        return reduce(calls, output)


def private_view(spec: ArchSpec, model: nn.Module) -> nn.Module:
    """A separate module tree of ``spec`` whose weights are ``model``'s own tensors (not copies).

    Hooks registered on it are seen by nobody else; building it costs a shape-only
    model (milliseconds to a fraction of a second), not a copy of the weights.
    """
    view = build_meta_model(spec)
    view.load_state_dict(model.state_dict(), assign=True)
    leftovers = [name for name, t in [*view.named_parameters(), *view.named_buffers()] if t.is_meta]
    if leftovers:  # a buffer outside the state dict would still be shape-only
        raise RuntimeError(f"{spec.id}: no weights for {', '.join(leftovers[:3])}")
    return view.eval().requires_grad_(False)


def class_names(spec: ArchSpec) -> list[str]:
    """The weights' category names, or the digits for the networks without weights."""
    if spec.weights is not None:
        return list(spec.weights.IMAGENET1K_V1.meta["categories"])
    return [str(d) for d in range(spec.num_classes)]


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits.astype(np.float64) - logits.max())
    return shifted / shifted.sum()


def top_classes(spec: ArchSpec, logits: np.ndarray, k: int = 5,
                names: list[str] | None = None) -> list[tuple[str, float]]:
    """The ``k`` most probable classes as (name, probability), most probable first.

    ``names`` are the loaded weights' category names (default: ``class_names(spec)``).
    """
    probabilities = softmax(logits)
    names = names or class_names(spec)
    best = np.argsort(-probabilities, kind="stable")[:k]
    return [(names[i], float(probabilities[i])) for i in best]


_SPARE_VIEWS = 2  # per shared model: as many as captures may run at once (see _RUNNING)
_MODELS_WITH_VIEWS = 4  # shared models whose spare views are kept, most recently used last
_views: dict[tuple[str, int], tuple[weakref.ref, list[nn.Module]]] = {}
_views_lock = threading.Lock()


@contextlib.contextmanager
def _lent_view(spec: ArchSpec, model: nn.Module):
    """A private view of ``model`` that no other thread uses until it is given back.

    Spare views are kept per shared model (recognised by identity, through a weak
    reference, so a model the server's cache dropped is not mistaken for a new one
    at the same address); a view holds the model's weight tensors, so views of
    dropped models are let go and only a few models keep spares.
    """
    key = (spec.id, id(model))
    view = None
    with _views_lock:
        for stale in [k for k, (ref, _) in _views.items() if ref() is None]:
            del _views[stale]
        entry = _views.get(key)
        if entry is not None and entry[0]() is model and entry[1]:
            view = entry[1].pop()
    if view is None:
        view = private_view(spec, model)
    try:
        yield view
    finally:
        with _views_lock:
            entry = _views.pop(key, None)
            if entry is None or entry[0]() is not model:
                entry = (weakref.ref(model), [])
            if len(entry[1]) < _SPARE_VIEWS:
                entry[1].append(view)
            _views[key] = entry  # re-inserted: the most recently used model is last
            while len(_views) > _MODELS_WITH_VIEWS:
                del _views[next(iter(_views))]


def run_on_image(spec: ArchSpec, model: nn.Module, tensor: torch.Tensor) -> Capture:
    """Capture ``tensor`` through a private view of ``model`` (which may be shared)."""
    device = next(model.parameters()).device
    with _lent_view(spec, model) as view:
        return capture(view, tensor.to(device))


def to_json(spec: ArchSpec, result: Capture, k: int = 5, names: list[str] | None = None) -> dict:
    """Per layer call: name, type, shape and statistics; plus the top-k classes (for the command line)."""
    return {
        "architecture": spec.id,
        "layers": [
            {
                "name": layer.name,
                "type": layer.type,
                "shape": list(layer.shape),
                **(
                    {"min": layer.stats.minimum, "max": layer.stats.maximum, "mean": layer.stats.mean,
                     "zero_share": layer.stats.zero_share}
                    if layer.stats else {}
                ),
            }
            for layer in result.layers
        ],
        "top": [{"class": name, "probability": p} for name, p in top_classes(spec, result.logits, k, names)],
    }
