"""What each row of a design does, worked out as the student types: shape, parameters, multiply-adds, receptive field.

Everything here is arithmetic on shapes plus each layer built on PyTorch's meta
device (no storage, no forward pass), so one edit of a 20-layer design costs a few
milliseconds. A row that cannot work stops the shapes there with one sentence that
names it and suggests a fix; the rows before it keep their numbers. A window that
leaves pixels unseen is a warning, not a stop:
"(32 − 5) / 2 + 1 = 14.5: the last column of pixels is never used".

- Parameters come with their arithmetic, written as the Parameters page writes it
  (``explorer.analysis.parameter_counts.layer_formula``).
- Multiply-adds follow torchinfo's convention, so the totals equal the layer table's:
  a convolution's parameters times its output positions, a linear or batch-norm
  layer's parameters once.
- Receptive fields follow Araujo et al. (2019) as ``explorer.analysis.receptive_field`` does.

A page run asks for the same design's analysis three times (the rows, the session's
architecture, the exported code), so the last few analyses and code files are kept:
a design is frozen and hashable, and what comes back is immutable.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from fractions import Fraction

import torch
from torch import nn

from explorer.analysis.parameter_counts import layer_formula
from explorer.analysis.receptive_field import INPUT, Field
from explorer.core.errors import UserError
from explorer.models.design import (CLASSES, NEEDS_MAP, NEEDS_VECTOR, WINDOWS, Design, Layer, Shape, layer_call,
                                    output_shape, window_output)

MAX_PARAMS = 5_000_000
MAX_MULT_ADDS = 1_000_000_000


@dataclass(frozen=True)
class Row:
    """One layer's numbers; ``output_shape`` is None from the first row that cannot work."""

    name: str  # the module's name in the network and in the exported code: "layers.3"
    type: str
    output_shape: Shape | None
    params: int = 0
    formula: str = ""
    mult_adds: int = 0
    field: Field | None = None

    def to_json(self) -> dict:
        return {"name": self.name, "type": self.type,
                "output_shape": None if self.output_shape is None else list(self.output_shape),
                "params": self.params, "params_formula": self.formula, "mult_adds": self.mult_adds,
                "receptive_field": None if self.field is None else self.field.to_json()}


@dataclass(frozen=True)
class Analysis:
    rows: tuple[Row, ...]
    problems: tuple[str, ...]  # sentences: the design cannot be built or trained until they are fixed
    warnings: tuple[str, ...]  # sentences: it runs, but something is probably not what was meant

    @property
    def total_params(self) -> int:
        return sum(row.params for row in self.rows)

    @property
    def total_mult_adds(self) -> int:
        return sum(row.mult_adds for row in self.rows)

    def to_json(self) -> dict:
        return {"total_params": self.total_params, "total_mult_adds": self.total_mult_adds,
                "problems": list(self.problems), "warnings": list(self.warnings),
                "layers": [row.to_json() for row in self.rows]}


def shape_text(shape: Shape) -> str:
    return "×".join(str(n) for n in shape)


def _number(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{float(value):.4g}"


def _window_sum(n: int, padding: int, span: int, stride: int) -> str:
    """"(32 + 2 × 1 − 5) / 2 + 1 = 15.5", the output-size formula with the numbers in."""
    inner = f"{n} + 2 × {padding} − {span}" if padding else f"{n} − {span}"
    value = Fraction(n + 2 * padding - span, stride) + 1
    return f"({inner}) / {stride} + 1 = {_number(value)}"


def _settings(layer: Layer, key: str, default: int = 1) -> int:
    return dict(layer.settings).get(key, default)


def _window_problem(where: str, layer: Layer, shape: Shape) -> str | None:
    kernel, padding = layer["kernel"], layer["padding"]
    span = _settings(layer, "dilation") * (kernel - 1) + 1
    side = min(shape[1:])
    kernel_text = f"{kernel}×{kernel} kernel" + (f" (dilated to {span}×{span})" if span != kernel else "")
    if layer.type != "conv" and 2 * padding > kernel:
        return f"{where} pads by {padding}, but a pooling layer may pad by at most half its kernel ({kernel // 2})."
    if span > side and padding == 0:
        return (f"{where} has a {kernel_text} but its input is only {shape_text(shape[1:])}; use a kernel of at "
                f"most {side}, or add padding.")
    if window_output(side, kernel, layer["stride"], padding, _settings(layer, "dilation")) < 1:
        return (f"{where} gives an output of size 0: {_window_sum(side, padding, span, layer['stride'])}; use a "
                f"smaller kernel or more padding.")
    return None


def _fits(n: int, padding: int, span: int, stride: int) -> bool:
    return (n + 2 * padding - span) % stride == 0


def _unseen_warning(where: str, layer: Layer, shape: Shape) -> str | None:
    """Pixels at the end that no window reaches, with a setting that would reach them all."""
    kernel, stride, padding, dilation = layer["kernel"], layer["stride"], layer["padding"], _settings(layer, "dilation")
    span = dilation * (kernel - 1) + 1
    for axis, unit in ((2, "column"), (1, "row")):
        n = shape[axis]
        # The last windows stop short of the end; only what is not padding is a pixel lost.
        left = (n + 2 * padding - span) % stride - padding
        if left <= 0:
            continue
        lost = f"the last {unit} of pixels is" if left == 1 else f"the last {left} {unit}s of pixels are"
        fixes = [(f"a {k}×{k} kernel", _fits(n, padding, dilation * (k - 1) + 1, stride)) for k in (kernel + 1, kernel - 1)
                 if k >= 1]
        fixes += [(f"a padding of {p}", _fits(n, p, span, stride) and (layer.type == "conv" or 2 * p <= kernel))
                  for p in range(padding + 1, padding + stride)]
        fix = next((text for text, works in fixes if works), "a stride of 1")
        return f"{where}: {_window_sum(n, padding, span, stride)}: {lost} never used; {fix} would use them all."
    return None


def _shape_problem(where: str, layer: Layer, shape: Shape) -> str | None:
    if layer.type in NEEDS_MAP and len(shape) != 3:
        return (f"{where} needs a map of channels × height × width, but the layer before it gives "
                f"{shape[0]:,} numbers; move it before the flatten.")
    if layer.type in NEEDS_VECTOR and len(shape) != 1:
        return f"{where} gets a {shape_text(shape)} map; put a flatten (or global average pooling) before it."
    if layer.type == "conv":
        groups = layer["groups"]
        if shape[0] % groups or layer["out"] % groups:
            return (f"{where}: {groups} groups must divide both its {shape[0]} input channels and its "
                    f"{layer['out']} output channels; try groups 1.")
    if layer.type in WINDOWS:
        return _window_problem(where, layer, shape)
    return None


def _receptive_field(layer: Layer, field: Field | None, shape: Shape) -> Field | None:
    if field is None or field.stride is None:
        return field
    if layer.type in ("flatten", "gap", "linear"):
        size = tuple(int(field.size[a] + (shape[1 + a] - 1) * field.stride[a]) for a in (0, 1))
        return Field(size, None, field.start)
    if layer.type == "residual":  # the two 3×3 convolutions' field contains the 1×1 shortcut's
        field = _window_field(field, 3, layer["stride"], 1, 1)
        return _window_field(field, 3, 1, 1, 1)
    if layer.type in WINDOWS:
        return _window_field(field, layer["kernel"], layer["stride"], layer["padding"], _settings(layer, "dilation"))
    return field


def _window_field(field: Field, kernel: int, stride: int, padding: int, dilation: int) -> Field:
    size = tuple(int(field.size[a] + dilation * (kernel - 1) * field.stride[a]) for a in (0, 1))
    start = tuple(int(field.start[a] - padding * field.stride[a]) for a in (0, 1))
    return Field(size, (field.stride[0] * stride, field.stride[1] * stride), start)


def _formula(module: nn.Module, total: int) -> str:
    parts = [layer_formula(m).text.rsplit(" = ", 1)[0] for m in module.modules()
             if next(m.parameters(recurse=False), None) is not None]
    return f"{' + '.join(parts)} = {total:,}" if parts else ""


def _mult_adds(module: nn.Module, out: Shape) -> int:
    """torchinfo's count: a convolution's parameters once per output position, any other's once."""
    positions = math.prod(out[1:]) if len(out) == 3 else 1
    return sum(p.numel() * (positions if isinstance(m, nn.Conv2d) else 1)
               for m in module.modules() for p in m.parameters(recurse=False))


@functools.lru_cache(maxsize=64)
def analyse(design: Design) -> Analysis:
    """Every row's numbers, then the sentences for what does not fit (the limits included)."""
    rows, problems, warnings = [], [], []
    shape: Shape | None = tuple(design.input)
    field: Field | None = INPUT
    for row, layer in enumerate(design.layers):
        where = f"Layer {row + 1} ({layer.type})"
        problem = _shape_problem(where, layer, shape) if shape is not None else None
        if shape is None or problem:
            problems += [problem] if problem else []
            rows.append(Row(f"layers.{row}", layer.type, None))
            shape = field = None
            continue
        if layer.type in WINDOWS and (warning := _unseen_warning(where, layer, shape)):
            warnings.append(warning)
        name, kwargs = layer_call(layer, shape)
        with torch.device("meta"):
            module = CLASSES[name](**kwargs)
        out = output_shape(layer, shape)
        params = sum(p.numel() for p in module.parameters())
        field = _receptive_field(layer, field, shape)
        rows.append(Row(f"layers.{row}", layer.type, out, params, _formula(module, params), _mult_adds(module, out),
                        field))
        shape = out
    result = Analysis(tuple(rows), (), ())
    if not design.layers:
        problems.append(f"The design has no layers yet; add some, ending with a linear layer with "
                        f"{design.classes} outputs.")
    elif shape is not None and shape != (design.classes,):
        end = "a linear layer" if len(shape) == 1 else "a flatten and a linear layer"
        problems.append(f"The last layer gives {shape_text(shape)} numbers, but the design has {design.classes} "
                        f"classes; end with {end} with {design.classes} outputs.")
    if result.total_params > MAX_PARAMS:
        biggest = max(rows, key=lambda r: r.params)
        problems.append(f"The design has {result.total_params:,} parameters, over the limit of {MAX_PARAMS:,}; "
                        f"{biggest.name} holds the most ({biggest.params:,}): give it fewer channels or outputs.")
    if result.total_mult_adds > MAX_MULT_ADDS:
        problems.append(f"The design needs {result.total_mult_adds:,} multiply-adds per picture, over the limit "
                        f"of {MAX_MULT_ADDS:,}; use fewer channels, or a stride or pooling earlier on.")
    return Analysis(tuple(rows), tuple(problems), tuple(warnings))


def require_whole(design: Design) -> Analysis:
    """The analysis of a design that can be built, exported and trained, or a ``UserError`` with its first problem."""
    result = analyse(design)
    if result.problems:
        raise UserError(result.problems[0])
    return result


@functools.lru_cache(maxsize=16)
def export_code(design: Design) -> str:
    """The PyTorch file of a whole design (an empty or broken one is refused in a sentence)."""
    from explorer.models import design_code

    require_whole(design)
    return design_code.source(design)
