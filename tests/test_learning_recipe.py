"""The learning run's light augmentation and one-cycle schedule, and the scikit-learn baselines on the same split."""

from __future__ import annotations

import pytest
import torch

from explorer.core.errors import UserError
from explorer.core.registry import get_spec
from explorer.inputs.digit_sets import DigitData
from explorer.models import LeNet5
from explorer.runs.augment import random_shift
from explorer.runs.learning import DigitRun


def test_each_picture_is_moved_by_at_most_the_shift():
    x = torch.arange(2 * 1 * 12 * 12, dtype=torch.float32).reshape(2, 1, 12, 12)
    x = x.repeat(8, 1, 1, 1)
    moved = random_shift(x, 2, torch.Generator().manual_seed(0))
    assert moved.shape == x.shape
    found = set()
    for original, picture in zip(x, moved):
        # Find the offset by which the middle of the picture matches the original (distinct values: only one can).
        matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                   if torch.equal(picture[:, 2:10, 2:10], original[:, 2 - dy:10 - dy, 2 - dx:10 - dx])]
        assert len(matches) == 1
        found.add(matches[0])
    assert len(found) > 1  # not the same offset for every picture
    assert torch.equal(random_shift(x, 0, torch.Generator()), x)


def _tiny_run(**settings) -> DigitRun:
    generator = torch.Generator().manual_seed(0)
    data = DigitData(torch.rand(64, 1, 32, 32, generator=generator), torch.arange(64) % 10,
                     torch.rand(20, 1, 32, 32, generator=generator), torch.arange(20) % 10, 64, 0)
    torch.manual_seed(0)
    return DigitRun(get_spec("lenet5"), LeNet5().eval(), 32, lambda: data, batch=16, **settings)


def test_one_cycle_warms_up_to_the_rate_then_cools_down():
    run = _tiny_run(optimizer="adam", learning_rate=0.01, schedule="one-cycle", shift=2)
    run.plan(5)  # 4 batches an epoch: 20 in all
    rates: list[float] = []

    def note() -> bool:  # called before each batch: the rate the batch before it used
        rates.append(run.optimizer.param_groups[0]["lr"])
        return True

    run.train_for(120.0, note)
    rates = rates[1:] + [run.optimizer.param_groups[0]["lr"]]
    assert run.snapshot().batches_done == 20 and len(rates) == 20
    peak = rates.index(max(rates))
    assert rates[0] == pytest.approx(0.01 / 25)  # OneCycleLR's default start: a 25th of the peak
    assert max(rates) == pytest.approx(0.01, rel=0.05) and 3 <= peak <= 8
    assert rates[-1] < 0.01 / 1000
    assert all(a <= b for a, b in zip(rates[:peak], rates[1:peak + 1]))
    assert all(a >= b for a, b in zip(rates[peak:], rates[peak + 1:]))


def test_the_shift_is_at_most_an_eighth_of_the_side():
    assert _tiny_run(shift=3).shift == 3  # 32 // 8 = 4
    generator = torch.Generator().manual_seed(0)
    data = DigitData(torch.rand(8, 1, 5, 5, generator=generator), torch.arange(8), torch.rand(4, 1, 5, 5), torch.arange(4),
                     8, 0)
    toy = DigitRun(get_spec("toy_conv"), get_spec("toy_conv").build(), 5, lambda: data, batch=4, shift=3)
    assert toy.shift == 0  # 5 // 8


def test_constant_schedule_keeps_the_rate():
    run = _tiny_run(learning_rate=0.002)
    run.plan(1)
    run.train_for(60.0)
    assert run.optimizer.param_groups[0]["lr"] == 0.002


def test_bad_recipe_settings_get_a_sentence():
    with pytest.raises(UserError, match="schedule must be one of"):
        _tiny_run(schedule="cosine")
    with pytest.raises(UserError, match="shift in pixels must be a whole number from 0 to 4"):
        _tiny_run(shift=9)


def test_baselines_on_the_fixed_split():
    from explorer.runs.baselines import baseline_accuracies

    found = baseline_accuracies()
    # Measured independently with scikit-learn on the same split (FACTS.md, 2026-12-07): 345 and 356 of 360.
    assert found == {"logistic_regression": pytest.approx(345 / 360), "svm": pytest.approx(356 / 360)}


def test_new_settings_change_the_schedule_and_shift_for_the_batches_to_come():
    run = _tiny_run(learning_rate=0.002)
    run.configure("adam", 0.002, "one-cycle", 2)
    assert (run.schedule, run.shift) == ("one-cycle", 2)
    run.configure("adam", 0.002)  # left out: kept
    assert (run.schedule, run.shift) == ("one-cycle", 2)
    with pytest.raises(UserError, match="schedule must be one of"):
        run.configure("adam", 0.002, "cosine", 2)
    assert (run.schedule, run.shift) == ("one-cycle", 2)  # a refused setting changes nothing
