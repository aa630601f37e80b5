"""Sessions share the server's cached model but nothing else: training and capturing leave it bit for bit as it was.

The browser test (tests/browser/test_isolation_browser.py) runs two students against a
real server, a separate process; the model's bits can only be checked in-process, so
this AppTest does the same two things next to the cache itself.
"""

from __future__ import annotations

import hashlib
import io

import numpy as np
from PIL import Image

from ui.caches.networks import shared_model
from ui.caches.training_copies import session_trainer

ARCH, SIDE = "resnet18", "64"


def fingerprint(model) -> str:
    """A hash of every parameter and buffer (BatchNorm's running statistics included), in order."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def picture(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (72, 96, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def test_training_and_feature_maps_leave_the_shared_model_bit_identical(app_test):
    query = {"arch": ARCH, "h": SIDE, "w": SIDE}
    trainer = app_test(query=query, page="pages/training-step.py")
    model = shared_model(ARCH, "cpu")  # the cached object both sessions read
    before = fingerprint(model)

    trainer.radio(key="train_source").set_value("upload").run()
    trainer.file_uploader(key="train_upload").set_value(("mine.png", picture(1), "image/png")).run()
    trainer.radio(key="train_optimizer").set_value("adam").run()
    trainer.button(key="train_one").click().run()  # one Adam step on the private copy
    assert not trainer.exception and not trainer.error
    private = session_trainer(trainer.session_state).model
    assert fingerprint(private) != before, "the private copy did train"

    viewer = app_test(query=query, page="pages/feature-maps.py")
    viewer.radio(key="fm_source").set_value("upload").run()
    viewer.file_uploader(key="fm_upload").set_value(("yours.png", picture(2), "image/png")).run()
    assert not viewer.exception and not viewer.error

    assert shared_model(ARCH, "cpu") is model
    assert fingerprint(model) == before
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules()), "no hook left behind"
    # Neither session holds the other's state.
    assert "train_owner" not in viewer.session_state and "train_picture" not in viewer.session_state
    assert "fm_previous" not in trainer.session_state
