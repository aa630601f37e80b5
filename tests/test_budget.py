"""The server's training-memory budget: copies that fit are made, one that does not is refused in one sentence."""

from __future__ import annotations

import logging

import pytest

from explorer.classroom import budget
from explorer.classroom.budget import BudgetFull, TrainingCopies, training_bytes

MB = 1000**2


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_copy_is_made_once_and_found_again_by_its_key():
    copies = TrainingCopies(300 * MB)
    made = []
    first = copies.put("alice", ("resnet18",), "ResNet-18", 140 * MB, lambda: made.append(1) or object())
    assert copies.get("alice", ("resnet18",)) is first
    assert copies.get("alice", ("vgg16",)) is None  # another network is another copy
    assert copies.held_bytes == 140 * MB and copies.holders() == 1 and made == [1]


def test_the_third_student_is_refused_plainly_and_gets_in_once_one_leaves():
    copies = TrainingCopies(300 * MB)
    copies.put("alice", ("r",), "ResNet-18 at 224×224", 140 * MB, object)
    copies.put("bob", ("r",), "ResNet-18 at 224×224", 140 * MB, object)
    built = []
    with pytest.raises(BudgetFull) as refused:
        copies.put("carol", ("r",), "ResNet-18 at 224×224", 140 * MB, lambda: built.append(1))
    sentence = str(refused.value)
    assert built == []  # nothing was built for a request that cannot fit
    assert "2 students hold 280.0 MB of the 300.0 MB" in sentence and "ResNet-18 at 224×224 needs about 140.0 MB" in sentence
    assert sentence.endswith(".") and "\n" not in sentence
    copies.sweep({"alice", "carol"})  # bob's browser has gone
    assert copies.put("carol", ("r",), "ResNet-18 at 224×224", 140 * MB, object) is not None
    assert copies.holders() == 2


def test_a_new_copy_lets_the_owners_old_one_go_first():
    copies = TrainingCopies(200 * MB)
    copies.put("alice", ("vgg16",), "VGG-16", 150 * MB, object)
    copies.put("alice", ("resnet18",), "ResNet-18", 150 * MB, object)  # would not fit beside the old one
    assert copies.held_bytes == 150 * MB and copies.get("alice", ("vgg16",)) is None


def test_a_failed_build_holds_nothing():
    copies = TrainingCopies(200 * MB)

    def broken():
        raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError):
        copies.put("alice", ("r",), "ResNet-18", 150 * MB, broken)
    assert copies.held_bytes == 0 and copies.holders() == 0


def test_a_closed_tab_is_freed_after_the_grace_but_a_blip_keeps_the_copy():
    clock = Clock()
    copies = TrainingCopies(500 * MB, clock=clock)
    copies.put("alice", ("r",), "ResNet-18", 140 * MB, object)
    assert copies.sweep(set(), grace_s=45) == []  # just disconnected: kept
    clock.now = 30
    assert copies.sweep({"alice"}, grace_s=45) == []  # back again: the clock restarts
    clock.now = 60
    assert copies.sweep(set(), grace_s=45) == []
    clock.now = 106
    assert copies.sweep(set(), grace_s=45) == ["alice"]
    assert copies.held_bytes == 0


def test_under_pressure_an_idle_copy_is_put_away_and_its_owner_told_once():
    clock = Clock()
    copies = TrainingCopies(300 * MB, idle_s=600, clock=clock)
    copies.put("alice", ("r",), "VGG-16 at 224×224", 200 * MB, object)
    clock.now = 100
    copies.put("bob", ("r",), "ResNet-18", 90 * MB, object)
    clock.now = 500  # alice idle 500 s: not yet long enough
    with pytest.raises(BudgetFull):
        copies.put("carol", ("r",), "ResNet-18", 90 * MB, object)
    clock.now = 700  # alice idle 700 s, bob 600 s: putting alice's away is enough
    copies.put("carol", ("r",), "ResNet-18", 90 * MB, object)
    assert copies.get("alice", ("r",)) is None and copies.get("bob", ("r",)) is not None
    notice = copies.put_away_notice("alice")
    assert notice.startswith("Your training copy of VGG-16 at 224×224 was put away after 12 idle minutes")
    assert "Reset" in notice and copies.put_away_notice("alice") is None


def test_idle_copies_are_not_put_away_for_a_request_that_still_would_not_fit():
    clock = Clock()
    copies = TrainingCopies(300 * MB, idle_s=10, clock=clock)
    copies.put("alice", ("r",), "ResNet-18", 100 * MB, object)
    clock.now = 100
    with pytest.raises(BudgetFull):
        copies.put("bob", ("r",), "VGG-19", 400 * MB, object)
    assert copies.get("alice", ("r",)) is not None


def test_training_bytes_counts_weights_gradients_last_finite_and_optimiser_state():
    # ResNet-18: 11,689,512 float32 parameters, 46.8 MB; SGD keeps three copies of them (about 0.14 GB).
    weights = 11_689_512 * 4
    assert training_bytes(weights, "sgd") == 3 * weights and round(training_bytes(weights, "sgd") / 1e9, 2) == 0.14
    assert training_bytes(weights, "momentum") == 4 * weights
    assert training_bytes(weights, "adam", activation_bytes=10) == 5 * weights + 10


@pytest.mark.parametrize("raw", ["abc", "-2", "0", "nan", "inf", ""])
def test_a_budget_setting_that_is_not_a_positive_number_is_logged_and_the_default_used(raw, caplog):
    with caplog.at_level(logging.WARNING):
        limit = budget.limit_from_environment({budget.ENVIRONMENT_VARIABLE: raw})
    assert limit == budget.default_limit_bytes()
    if raw:
        assert len(caplog.records) == 1 and "is not a positive number of gigabytes" in caplog.records[0].getMessage()


def test_a_budget_setting_in_gigabytes_is_used():
    assert budget.limit_from_environment({budget.ENVIRONMENT_VARIABLE: "1.5"}) == 1_500_000_000


def test_the_default_is_a_share_of_physical_memory_less_the_shared_models():
    assert budget.default_limit_bytes(24 * 1000**3) == 12 * 1000**3 - budget.SHARED_RESERVE_BYTES
    assert budget.default_limit_bytes(2 * 1000**3) == budget.SMALLEST_DEFAULT_BYTES


def test_a_copy_that_grows_with_its_settings_reserves_the_room_first_or_is_refused_and_kept():
    copies = TrainingCopies(500 * MB)
    mine = copies.put("alice", ("r",), "ResNet-18 at 224×224", 150 * MB, object, settings="SGD")
    copies.put("bob", ("r",), "ResNet-18 at 224×224", 150 * MB, object, settings="SGD")
    copies.resize("alice", ("r",), 200 * MB, settings="SGD with momentum 0.9")  # fits: 350 → 400 MB
    assert copies.held_bytes == 350 * MB
    with pytest.raises(BudgetFull) as refused:
        copies.resize("alice", ("r",), 400 * MB, settings="Adam")  # would need 550 MB of 500
    sentence = str(refused.value)
    assert ("2 students hold 350.0 MB of the 500.0 MB" in sentence
            and "would grow from 200.0 MB with SGD with momentum 0.9 to 400.0 MB with Adam" in sentence
            and "keep SGD with momentum 0.9" in sentence and sentence.endswith(".") and "\n" not in sentence)
    assert copies.held_bytes == 350 * MB and copies.get("alice", ("r",)) is mine  # refused: nothing changed
    copies.resize("alice", ("r",), 150 * MB, settings="SGD")  # back to SGD: always fits
    assert copies.held_bytes == 300 * MB


def test_resizing_another_networks_copy_or_nobodys_changes_nothing():
    copies = TrainingCopies(500 * MB)
    copies.put("alice", ("vgg16",), "VGG-16", 300 * MB, object)
    copies.resize("alice", ("resnet18",), 900 * MB)
    copies.resize("carol", ("vgg16",), 900 * MB)
    assert copies.held_bytes == 300 * MB


def test_a_refused_new_copy_names_its_settings():
    copies = TrainingCopies(100 * MB)
    with pytest.raises(BudgetFull, match=r"a training copy of VGG-16 at 224×224 with Adam needs about 300\.0 MB"):
        copies.put("alice", ("v",), "VGG-16 at 224×224", 300 * MB, object, settings="Adam")


def test_growing_puts_away_idle_copies_of_others_but_never_its_own():
    clock = Clock()
    copies = TrainingCopies(400 * MB, idle_s=60, clock=clock)
    copies.put("alice", ("r",), "ResNet-18", 200 * MB, object)
    copies.put("bob", ("r",), "ResNet-18", 150 * MB, object)
    clock.now = 1000  # both idle
    copies.resize("alice", ("r",), 300 * MB)  # 450 MB of 400 without bob: his idle copy makes the room
    assert copies.get("alice", ("r",)) is not None and copies.get("bob", ("r",)) is None
    assert copies.put_away_notice("bob").startswith("Your training copy of ResNet-18 was put away")
