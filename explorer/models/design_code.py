"""A design as one self-contained PyTorch file: ``YourNetwork()`` builds the same network with no arguments.

The file writes out, row by row, the very (class, arguments) pairs that
``explorer.models.design.DesignNet`` is built from, inside an ``nn.Sequential``
called ``layers``: the parameter names, shapes and count are therefore the same,
and a state dict saved from the app loads into it with ``strict=True``. The two
helper classes a design may use are copied from their source here, not re-typed.

Only numbers reach the file (every name in it is generated), so nothing a user
types can become code. Checking that the design is whole and within the limits
is the caller's work (``explorer.analysis.design_rows.export_code``).
"""

from __future__ import annotations

import inspect

from explorer.models.design import Design, GlobalAvgPool, ResidualBlock, layer_calls

CLASS_NAME = "YourNetwork"
_HELPERS = {"ResidualBlock": ResidualBlock, "GlobalAvgPool": GlobalAvgPool}

_HEADER = '''"""{title}, exported from the CNN Architecture Explorer.

Needs only torch. Input: {input_text}; output: {classes} numbers (one per class).
Load weights saved from the app with:

    model = {cls}()
    model.load_state_dict(torch.load("weights.pt", weights_only=True), strict=True)
"""

import torch
from torch import nn
'''

_FOOTER = '''

if __name__ == "__main__":
    model = {cls}().eval()
    count = sum(p.numel() for p in model.parameters())
    with torch.no_grad():
        logits = model(torch.zeros(1, {input_args}))
    print(f"{{count:,}} parameters; output shape {{tuple(logits.shape)}}")
'''


def _value(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"only numbers go into exported code, not {type(value).__name__}")
    return repr(value)


def _shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(str(n) for n in shape)


def source(design: Design) -> str:
    """The text of the Python file."""
    calls = layer_calls(design)
    used = [name for name in _HELPERS if any(call[0] == name for call in calls)]
    parts = [_HEADER.format(title="Your network", input_text=_shape_text(design.input), classes=design.classes,
                            cls=CLASS_NAME)]
    parts += ["\n\n" + inspect.getsource(_HELPERS[name]) for name in used]
    rows = []
    for row, (name, kwargs, shape) in enumerate(calls):
        arguments = ", ".join(f"{key}={_value(value)}" for key, value in kwargs.items())
        rows.append(f"            {name}({arguments}),  # {row}: gives {_shape_text(shape)}")
    parts.append(
        f"\n\nclass {CLASS_NAME}(nn.Module):\n"
        f"    def __init__(self) -> None:\n"
        f"        super().__init__()\n"
        f"        self.layers = nn.Sequential(\n" + "\n".join(rows) + "\n        )\n\n"
        f"    def forward(self, x: torch.Tensor) -> torch.Tensor:\n"
        f"        return self.layers(x)\n"
    )
    parts.append(_FOOTER.format(cls=CLASS_NAME, input_args=", ".join(str(n) for n in design.input)))
    return "".join(parts)
