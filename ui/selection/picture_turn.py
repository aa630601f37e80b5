"""A page's turn in the server's line for a new picture, named by the picture and what it runs on.

Where it looks and Training step decode a new picture and run the network on it inside this turn
(issue 27: thirty students uploading at once), as Feature maps does around its capture; the key
is the picture's bytes before decoding, with the network, size, device and weights.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

from ui.selection.pictures import digest_of, turn_for_new_picture
from ui.selection.record import Selection


def turn_for_picture(selection: Selection, data: bytes | None) -> AbstractContextManager:
    """``turn_for_new_picture`` for these bytes on this selection; no wait before there are bytes (the
    page then asks for a picture or goes on with its last good one, which already had its turn)."""
    if data is None:
        return nullcontext()
    spec, size = selection.spec, selection.size
    return turn_for_new_picture((spec.id, size.height, size.width, selection.device, selection.weights_key,
                                 digest_of(data)))
