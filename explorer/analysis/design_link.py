"""A design in the address bar: "v1." and the design's compact JSON, zlib-compressed, in URL-safe base64.

Settings at their defaults are left out of the link (stride 1, padding 0, a pooling
stride equal to its kernel), so LeNet-5 fits in about 150 characters. Reading a
link back goes through the same strict check as an uploaded file, after refusing,
each in one sentence, a link that is cut short or damaged, one from a newer version
of the app, and one that would unpack to more than a design file may hold.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib

from explorer.analysis.design_file import MAX_FILE_BYTES, read_design
from explorer.core.errors import UserError
from explorer.models.design import POOL_STRIDE, SETTINGS, Design

VERSION = 1
PREFIX = f"v{VERSION}."
MAX_LINK = 8000
_VERSIONED = re.compile(r"v(\d{1,6})\.")


def _compact_layer(layer) -> dict:
    settings = dict(layer.settings)
    kept = {"type": layer.type}
    for key, value in settings.items():
        default = SETTINGS[layer.type][key]
        if default == POOL_STRIDE:
            default = settings["kernel"]
        if value != default:
            kept[key] = value
    if layer.name:
        kept["name"] = layer.name
    return kept


def encode(design: Design) -> str:
    """The text for the address bar's ``design=`` parameter."""
    data = {"input": list(design.input), "classes": design.classes,
            "layers": [_compact_layer(layer) for layer in design.layers]}
    packed = zlib.compress(json.dumps(data, separators=(",", ":")).encode(), 9)
    return PREFIX + base64.urlsafe_b64encode(packed).decode().rstrip("=")


def decode(link: str) -> Design:
    """The design a link carries, or one sentence saying why the link cannot be opened."""
    text = str(link).strip()
    if len(text) > MAX_LINK:
        raise UserError(f"This design link is {len(text):,} characters long; a design link has at most {MAX_LINK:,}.")
    version = _VERSIONED.match(text)
    if version is None:
        raise UserError("This is not a design link: it should start with v1. and come from the app's address bar.")
    if int(version.group(1)) != VERSION:
        raise UserError(f"This design link was made by a newer version of the app (v{int(version.group(1))}); "
                        f"this one reads v{VERSION} links only.")
    body = text[version.end():]
    try:
        packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        unpacker = zlib.decompressobj()
        raw = unpacker.decompress(packed, MAX_FILE_BYTES + 1)
        whole = unpacker.eof
    except (binascii.Error, ValueError, zlib.error):
        whole, raw = False, b""
    if len(raw) > MAX_FILE_BYTES:
        raise UserError(f"This design link unpacks to more than {MAX_FILE_BYTES // 1024} kB; a design is smaller.")
    if not whole:
        raise UserError("This design link is cut short or damaged; copy the whole address again.")
    return read_design(raw)
