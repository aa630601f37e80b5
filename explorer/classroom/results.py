"""A teacher's results (for example the last training step) as bytes a class can share, and back.

Numbers, strings, ``None`` and lists of them go as JSON; numpy arrays as an ``.npz``
archive read with ``allow_pickle=False``. Nothing is ever unpickled, so bytes read from
a shared store cannot run code, whoever wrote them.
"""

from __future__ import annotations

import io
import json

import numpy as np

_PLAIN = "__plain__"


def pack(fields: dict[str, object]) -> bytes:
    """``fields`` (names to arrays, numbers, strings, None, or tuples and lists of those) as bytes."""
    arrays = {name: value for name, value in fields.items() if isinstance(value, np.ndarray)}
    if any(value.dtype == object for value in arrays.values()):
        raise TypeError("only numeric arrays can be shared")
    plain = {name: list(value) if isinstance(value, tuple) else value
             for name, value in fields.items() if name not in arrays}
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays, **{_PLAIN: np.frombuffer(json.dumps(plain).encode(), dtype=np.uint8)})
    return buffer.getvalue()


def unpack(data: bytes) -> dict[str, object]:
    """The fields ``pack`` wrote (lists stay lists; a dataclass taking tuples may need ``tuple(...)``)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        fields = {name: archive[name] for name in archive.files if name != _PLAIN}
        fields.update(json.loads(archive[_PLAIN].tobytes().decode()))
    return fields
