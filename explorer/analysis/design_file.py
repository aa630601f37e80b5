"""Reading a design file (or any JSON a user hands over) strictly: a valid ``Design``, or one plain sentence.

The format is ``explorer.models.design``'s: ``{"input": [C, H, W], "classes": K,
"layers": [{"type": ..., setting: number, ...}, ...]}``. Missing settings take their
defaults (stride 1, padding 0, a pooling stride equal to its kernel). Keys beyond
these are allowed and ignored, except ``name``: a layer's own label, kept as plain
data and refused unless it is short and made of letters, digits, spaces and a few
marks, so that no link can smuggle markup or code through it.

Whether the layers fit together (shapes, the classes at the end, the size limits)
is ``explorer.analysis.design_rows``'s question; this module checks each value alone.
"""

from __future__ import annotations

import json
import re

from explorer.core.errors import UserError
from explorer.core.sizes import MAX_SIDE
from explorer.models.design import LAYER_TYPES, POOL_STRIDE, REQUIRED, SETTINGS, Design, Layer

MAX_FILE_BYTES = 100 * 1024
MAX_LAYERS = 64
MAX_CHANNELS = 1024
MAX_CLASSES = 1000
INPUT_CHANNELS = (1, 3)
MAX_NAME = 40
_NAME = re.compile(r"[A-Za-z0-9 _.()\-]*")
# The whole-number settings and the values each may take.
_RANGES: dict[str, tuple[int, int]] = {
    "out": (1, MAX_CHANNELS), "kernel": (1, MAX_SIDE), "stride": (1, 64), "padding": (0, 64),
    "dilation": (1, 16), "groups": (1, MAX_CHANNELS),
}


def _shown(value: object) -> str:
    """A user's value in a sentence: numbers as they are, anything else by its kind only."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        text = f"{value:g}" if isinstance(value, float) else f"{value:,}"
        return text if len(text) <= 20 else text[:20] + "…"
    return {str: "some text", list: "a list", dict: "an object", bool: "true or false"}.get(type(value), "nothing")


def whole_number(value: object, what: str, low: int, high: int) -> int:
    """``value`` if it is a whole number (2 or 2.0) from ``low`` to ``high``, or a ``UserError`` naming ``what``."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise UserError(f"{what} must be a whole number from {low:,} to {high:,}; got {_shown(value)}.")
    return value


def _layer_name(raw: object, where: str) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str) or len(raw) > MAX_NAME or not _NAME.fullmatch(raw):
        raise UserError(f"{where}'s name may have at most {MAX_NAME} letters, digits, spaces and the marks "
                        f"- _ . ( ); rename it or leave the name out.")
    return raw


def _layer(raw: object, row: int) -> Layer:
    where = f"Layer {row}"
    if not isinstance(raw, dict):
        raise UserError(f"{where} must be an object such as {{\"type\": \"relu\"}}; got {_shown(raw)}.")
    kind = raw.get("type")
    if kind not in SETTINGS:
        named = f" {kind!r}" if isinstance(kind, str) and re.fullmatch(r"[a-z0-9_]{1,20}", kind) else ""
        raise UserError(f"{where} has an unknown type{named}; the types are {', '.join(LAYER_TYPES)}.")
    where = f"Layer {row} ({kind})"
    settings: dict[str, int | float] = {}
    for key, default in SETTINGS[kind].items():
        value = raw.get(key, default)
        if value is REQUIRED:
            raise UserError(f"{where} needs a value for {key}.")
        if key not in raw and default == POOL_STRIDE:
            value = settings["kernel"]
        if key == "p":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
                raise UserError(f"{where}: the dropout probability p must be a number from 0 up to (not including) "
                                f"1; got {_shown(value)}.")
            settings[key] = float(value)
        else:
            low, high = _RANGES[key]
            settings[key] = whole_number(value, f"{where}: the {key}", low, high)
    return Layer(kind, tuple(settings.items()), _layer_name(raw.get("name"), where))


def parse_design(data: object) -> Design:
    """A ``Design`` from JSON-ready data (a dict as ``json.loads`` gives it), or one sentence."""
    if not isinstance(data, dict):
        raise UserError("A design must be a JSON object with input, classes and layers; got "
                        f"{_shown(data)}.")
    raw_input = data.get("input")
    if not isinstance(raw_input, list) or len(raw_input) != 3:
        raise UserError("The design's input must be three whole numbers: channels, height and width, "
                        "such as [1, 32, 32].")
    channels = whole_number(raw_input[0], "The input's channels", 1, 3)
    if channels not in INPUT_CHANNELS:
        raise UserError("The input must have 1 channel (grey, like the digits) or 3 (a colour picture); got 2.")
    sides = tuple(whole_number(side, "The input's height and width", 1, MAX_SIDE) for side in raw_input[1:])
    classes = whole_number(data.get("classes"), "The number of classes", 1, MAX_CLASSES)
    raw_layers = data.get("layers", [])
    if not isinstance(raw_layers, list):
        raise UserError(f"The design's layers must be a list; got {_shown(raw_layers)}.")
    if len(raw_layers) > MAX_LAYERS:
        raise UserError(f"A design may have at most {MAX_LAYERS} layers; this one has {len(raw_layers):,}.")
    layers = tuple(_layer(raw, row) for row, raw in enumerate(raw_layers, start=1))
    return Design((channels, *sides), classes, layers)


def read_design(raw: bytes | str) -> Design:
    """A design from the bytes of an uploaded file (at most 100 kB of JSON text)."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if len(data) > MAX_FILE_BYTES:
        raise UserError(f"The design file is {len(data) / 1024:,.0f} kB; a design file may be at most "
                        f"{MAX_FILE_BYTES // 1024} kB.")
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):  # bad UTF-8, bad JSON, a number of 5,000 digits
        raise UserError("The design file is not JSON text; save the design from the app or write it as "
                        "in the example.") from None
    return parse_design(parsed)


def design_text(design: Design) -> str:
    """The design file's text (what the app downloads and ``read_design`` reads back)."""
    return json.dumps(design.to_json(), indent=1)
