"""A teacher's training step shared with the class: packed to bytes and back without pickle, unchanged."""

from __future__ import annotations

import dataclasses
import io
import pickle

import numpy as np
import pytest
import torch

from explorer.classroom import results
from explorer.core.registry import get_spec
from explorer.runs import training
from explorer.runs.step_result import StepResult
from explorer.weights import loading


def test_a_real_training_step_comes_back_field_for_field():
    spec = get_spec("lenet5")
    torch.manual_seed(0)
    trainer = training.Trainer(spec, loading.build(spec, "random"))
    step = trainer.take_steps(torch.rand(1, 1, 32, 32), target=3, count=1)[-1]
    back = results.unpack(results.pack(dataclasses.asdict(step)))
    again = StepResult(**{**back, "layers": tuple(back["layers"]), "layer_types": tuple(back["layer_types"])})
    for field in dataclasses.fields(StepResult):
        mine, theirs = getattr(step, field.name), getattr(again, field.name)
        if isinstance(mine, np.ndarray):
            assert theirs.dtype == mine.dtype and np.array_equal(theirs, mine), field.name
        else:
            assert theirs == mine, field.name
    assert again.top_classes() == step.top_classes()


def test_bytes_that_would_unpickle_are_refused():
    buffer = io.BytesIO()
    np.savez(buffer, evil=np.array([object()], dtype=object), __plain__=np.frombuffer(b"{}", dtype=np.uint8))
    with pytest.raises(ValueError, match="Object arrays cannot be loaded when allow_pickle=False"):
        results.unpack(buffer.getvalue())
    with pytest.raises(ValueError, match="contains pickled"):  # numpy refuses a bare pickle before reading it
        results.unpack(pickle.dumps({"loss": 1.0}))
    with pytest.raises(TypeError):
        results.pack({"objects": np.array([object()], dtype=object)})
