"""Receptive fields: which input pixels one unit of each layer sees, traced from the network's real graph.

The method is that of Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional
Neural Networks" (Distill, 2019), applied per axis (rows and columns apart, since
Inception's 1×7 and 7×1 convolutions make them differ):

- ``size``: how many input pixels one unit spans (theoretical receptive field);
- ``stride``: how many input pixels apart two neighbouring units are (effective stride);
- ``start``: the input coordinate of the first pixel unit 0 sees. It is negative when
  that unit reaches past the border into the padding; Araujo et al.'s "effective
  padding" is ``-start``.

A window of kernel k, stride s, padding p and dilation d turns (size, stride, start)
into (size + (d(k−1)) × stride, stride × s, start − p × stride). Where branches meet
(ResNet's addition, Inception's concatenation) the field is the union of the branches'
fields, the largest where they are centred alike. Where positions disappear (flatten,
global pooling, a fully-connected layer) every unit sees everything the map saw, and
the stride is gone (None).

The trace runs on PyTorch's meta device like the layer table (no memory, no real
model touched): a dispatch mode sees every ATen operation the forward pass makes, so
functional calls (Inception's ``F.max_pool2d``) count as much as modules, and an
operation with no rule here stops the trace instead of guessing.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from fractions import Fraction

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode, _get_current_dispatch_mode, _pop_mode, _push_mode

aten = torch.ops.aten


@dataclass(frozen=True)
class Field:
    """The receptive field of one unit, as (rows, columns) pairs in input pixels."""

    size: tuple[int, int]
    # An int, or a Fraction after an uneven adaptive pool; None once the positions are gone (flatten, global pooling).
    stride: tuple[int | Fraction, int | Fraction] | None
    start: tuple[int, int]

    def patch(self, row: int, column: int) -> tuple[int, int, int, int]:
        """First and last input row, first and last input column that unit (row, column) sees."""
        if self.stride is None:
            return self.start[0], self.start[0] + self.size[0] - 1, self.start[1], self.start[1] + self.size[1] - 1
        top = self.start[0] + math.floor(row * self.stride[0])
        left = self.start[1] + math.floor(column * self.stride[1])
        return top, top + self.size[0] - 1, left, left + self.size[1] - 1

    def to_json(self) -> dict:
        return {"size": list(self.size), "stride": None if self.stride is None else [plain(s) for s in self.stride],
                "start": list(self.start)}


def plain(number: int | Fraction) -> int | float:
    """A whole number as an int; an uneven adaptive pool's average step as a float."""
    return int(number) if number.denominator == 1 else round(float(number), 4)


INPUT = Field((1, 1), (1, 1), (0, 0))


def _exact(number: int | Fraction) -> int | Fraction:
    """Whole steps as ints: Fraction arithmetic costs several times as much, on every layer of every table."""
    return number if type(number) is int or number.denominator != 1 else int(number)


def _pair(value, default=None) -> tuple[int, int]:
    if value is None or (isinstance(value, (list, tuple)) and len(value) == 0):
        value = default
    if isinstance(value, int):
        return value, value
    return (value[0], value[0]) if len(value) == 1 else (value[0], value[1])


def _window(field: Field, kernel, stride, padding, dilation=(1, 1)) -> Field:
    """A window slid over the map: convolution or pooling."""
    (rows, columns), (row_step, column_step), (top, left) = field.size, field.stride, field.start
    return Field((int(rows + dilation[0] * (kernel[0] - 1) * row_step),
                  int(columns + dilation[1] * (kernel[1] - 1) * column_step)),
                 (_exact(row_step * stride[0]), _exact(column_step * stride[1])),
                 (int(top - padding[0] * row_step), int(left - padding[1] * column_step)))


def _adaptive(field: Field, n: tuple[int, int], out: tuple[int, int]) -> Field:
    """Adaptive pooling: output cell i averages input cells floor(i·n/o) to ceil((i+1)·n/o) − 1."""
    kernel = [max(-(-(i + 1) * n[a] // out[a]) - (i * n[a] // out[a]) for i in range(out[a])) for a in (0, 1)]
    step = [Fraction(n[a], out[a]) for a in (0, 1)]
    axes = [(field.size[a] + (kernel[a] - 1) * field.stride[a], _exact(field.stride[a] * step[a])) for a in (0, 1)]
    return Field(tuple(int(s) for s, _ in axes), tuple(j for _, j in axes), field.start)


def _everything(field: Field, n: tuple[int, int]) -> Field:
    """Positions gone: a unit now sees what all n positions of the map saw together."""
    if field.stride is None:
        return field
    size = tuple(int(field.size[a] + (n[a] - 1) * field.stride[a]) for a in (0, 1))
    return Field(size, None, field.start)


def _union(fields: list[Field]) -> Field:
    """Where branches meet: the pixels any branch sees (the largest field, when they are centred alike)."""
    if len(fields) == 1:
        return fields[0]
    strides = {f.stride for f in fields}
    if len(strides) > 1:
        raise RuntimeError(f"branches meet with different strides {strides}; their positions do not line up")
    start = tuple(min(f.start[a] for f in fields) for a in (0, 1))
    end = tuple(max(f.start[a] + f.size[a] - 1 for f in fields) for a in (0, 1))
    return Field((end[0] - start[0] + 1, end[1] - start[1] + 1), fields[0].stride, start)


_WINDOWS = {
    # op: (index of kernel, stride, padding, dilation in args; the defaults ATen uses when they are left out)
    aten.max_pool2d_with_indices.default: (1, 2, 3, 4),
    aten.max_pool2d.default: (1, 2, 3, 4),
    aten.avg_pool2d.default: (1, 2, 3, None),
}
_ADAPTIVE = {aten._adaptive_avg_pool2d.default, aten.adaptive_max_pool2d.default}
# Operations after which positions are gone (flatten, global mean, fully-connected layers).
_FLATTENING = {
    aten.view.default, aten._unsafe_view.default, aten.reshape.default, aten.mean.dim, aten.sum.dim_IntList,
    aten.amax.default, aten.addmm.default, aten.mm.default, aten.linear.default, aten.flatten.using_ints,
}


# The tables above by id(op): an OpOverload's hash is a Python method, and the trace looks up every operation.
_WINDOWS_BY_ID = {id(op): places for op, places in _WINDOWS.items()}
_ADAPTIVE_IDS = {id(op) for op in _ADAPTIVE}
_FLATTENING_IDS = {id(op) for op in _FLATTENING}
_CONVOLUTION, _DETACH = aten.convolution.default, aten.detach.default


def _tensors(values):
    """The tensors among ``values`` and in the lists among them (``cat`` takes a list): what ATen
    operations take and return. (pytree's flatten does this for any nesting, at several times the cost.)"""
    for value in values:
        if isinstance(value, torch.Tensor):
            yield value
        elif isinstance(value, (list, tuple)):
            yield from (item for item in value if isinstance(item, torch.Tensor))


class _Tracer(TorchDispatchMode):
    """Carries a Field along with every tensor the forward pass makes (keyed by the tensor object)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[int, tuple[torch.Tensor, Field]] = {}
        self.paused = False

    def pause(self) -> None:
        """Let ATen operations bypass the trace until ``resume`` (the calls torch's ``_pop_mode_temporarily`` makes)."""
        if not self.paused and _get_current_dispatch_mode() is self:
            _pop_mode()
            self.paused = True

    def resume(self) -> None:
        if self.paused:
            _push_mode(self)
            self.paused = False

    def field_of(self, tensor) -> Field | None:
        entry = self.fields.get(id(tensor)) if isinstance(tensor, torch.Tensor) else None
        return entry[1] if entry is not None and entry[0] is tensor else None

    def mark(self, tensor: torch.Tensor, field: Field) -> None:
        self.fields[id(tensor)] = (tensor, field)  # the tensor is kept too, so its id is never reused meanwhile

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **kwargs) if kwargs else func(*args)
        if func is _DETACH:  # the root's torchinfo hook still reads shapes through ``.data``: the fast way out
            return out
        fields, tracked = self.fields, []
        # (tensor, field) of every traced input, looked up by id first: most arguments are ints or lists of them.
        for value in (*args, *kwargs.values()) if kwargs else args:
            entry = fields.get(id(value))
            if entry is not None and entry[0] is value:
                tracked.append(entry)
            elif type(value) is list or type(value) is tuple:  # ``cat`` takes a list
                tracked += [entry for item in value if (entry := fields.get(id(item))) and entry[0] is item]
        if tracked:
            outputs = [out] if isinstance(out, torch.Tensor) else list(_tensors(out))
            field = self._rule(func, args, tracked, outputs[0])
            for tensor in outputs:
                self.mark(tensor, field)
        return out

    @staticmethod
    def _rule(func, args, tracked: list[tuple[torch.Tensor, Field]], out: torch.Tensor) -> Field:
        first, field = tracked[0]
        if func is _CONVOLUTION:
            if args[6]:
                raise RuntimeError("transposed convolutions have no receptive-field rule here")
            return _window(field, tuple(args[1].shape[2:]), _pair(args[3]), _pair(args[4]), _pair(args[5]))
        places = _WINDOWS_BY_ID.get(id(func))
        if places is not None:
            k, s, p, d = places
            kernel = _pair(args[k])
            stride = _pair(args[s] if len(args) > s else None, kernel)
            padding = _pair(args[p] if len(args) > p else 0)
            dilation = _pair(args[d] if d is not None and len(args) > d else 1)
            return _window(field, kernel, stride, padding, dilation)
        if id(func) in _ADAPTIVE_IDS:
            return _adaptive(field, tuple(first.shape[-2:]), tuple(out.shape[-2:]))
        spatial = [(t, f) for t, f in tracked if f.stride is not None]
        if not spatial:  # positions already gone (a classifier's ReLU, dropout, next layer): nothing changes
            return _union([f for _, f in tracked])
        if out.dim() == 4 and all(t.dim() == 4 and t.shape[-2:] == out.shape[-2:] for t, _ in spatial):
            return _union([f for _, f in tracked])  # element by element: ReLU, batch norm, add, cat, dropout
        if id(func) in _FLATTENING_IDS:
            return _union([_everything(f, tuple(t.shape[-2:])) for t, f in tracked])
        raise RuntimeError(f"no receptive-field rule for {func}: it changes the map's positions in a way not handled")


@contextlib.contextmanager
def tracing(model: nn.Module, x: torch.Tensor):
    """While the block runs ``model`` on ``x`` once, fill the dict it yields with every call's field.

    The names are the layer table's ("layer1.0.relu (call 2)"); a call whose output is not a
    tensor gets None. The layer table runs torchinfo's own pass inside this block, so the
    fields cost no second forward pass (on the meta device, batch norm's shape rule alone is
    a Python function worth tens of milliseconds per call).
    """
    submodules = [(name, module) for name, module in model.named_modules() if name]
    names = {id(module): name for name, module in submodules}
    tracer = _Tracer()
    tracer.mark(x, INPUT)
    fields: dict[str, Field | None] = {}
    calls: dict[int, int] = {}

    def after(module, args, output) -> None:
        # A module's calls end in the order they start (none calls itself), so this counts them as the table does.
        nth = calls[id(module)] = calls.get(id(module), 0) + 1
        fields[names[id(module)] if nth == 1 else f"{names[id(module)]} (call {nth})"] = tracer.field_of(output)
        # The forward hooks registered after this one (torchinfo's) only read the output's and the inputs'
        # shapes, but each ``inputs[0].data`` they read is a ``detach`` through this Python mode: 4 per call,
        # most of the trace's cost. They run untraced; ``resume``, registered after them, traces on.
        tracer.pause()

    def resume(module, args, output) -> None:
        tracer.resume()

    def resume_after_other_hooks(root, args) -> None:
        # The root's call starts once every hook of the pass (torchinfo's) is in place: now "after" theirs is last.
        root_handle.remove()
        handles.extend(module.register_forward_hook(resume) for _, module in submodules)

    root_handle = model.register_forward_pre_hook(resume_after_other_hooks)
    handles = []
    try:
        handles += [module.register_forward_hook(after) for _, module in submodules]
        with tracer, torch.no_grad():
            try:
                yield fields
            finally:
                tracer.resume()  # an error in a hook may have left it paused
    finally:
        root_handle.remove()
        for handle in handles:
            handle.remove()


def trace(model: nn.Module, x: torch.Tensor) -> dict[str, Field | None]:
    """The field of every module call's output: ``model`` run once on ``x`` (a meta tensor, ideally)."""
    with tracing(model, x) as fields:
        model(x)
    return fields


def _side_text(pair, unit: str = "") -> str:
    values = [plain(Fraction(v)) for v in pair]
    return f"{values[0]}{unit}" if values[0] == values[1] else f"{values[0]}×{values[1]}{unit}"


def texts(field: Field | None) -> dict[str, str]:
    """The layer table's three columns for one row: "195×195", "32", "−66" ("—" where there is nothing)."""
    if field is None:
        return {"receptive_field": "—", "rf_stride": "—", "rf_start": "—"}
    start = field.start
    return {
        "receptive_field": f"{field.size[0]}×{field.size[1]}",
        "rf_stride": "—" if field.stride is None else _side_text(field.stride),
        "rf_start": (str(start[0]) if start[0] == start[1] else f"{start[0]}, {start[1]}").replace("-", "−"),
    }
