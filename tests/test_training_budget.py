"""The training page under the server's training-memory budget, run headlessly (AppTest).

AppTest sessions all have the session id "test session id"; the store tells them apart
by the token each session adds to its owner key (``train_owner``). Closing a browser
is what the sweeper sees as a session missing from the live ones: here the test
passes the live owners to ``sweep`` itself.
"""

from __future__ import annotations

import logging

import pytest

from explorer.analysis.summary import summarize
from explorer.classroom import budget
from explorer.core.registry import get_spec
from explorer.core.sizes import InputSize
from explorer.weights import loading
from ui.caches import training_copies
from ui.caches.training_copies import session_trainer

PAGE = "pages/training-step.py"


def lenet_copy_bytes(optimizer: str = "sgd") -> int:
    """What one LeNet-5 copy reserves: 61,706 float32 weights per copy kept, plus one batch's activations."""
    parameters = sum(p.numel() for p in loading.build(get_spec("lenet5"), "random", "cpu").parameters())
    assert parameters == 61_706  # LeNet-5 as the lab builds it (see tests/test_registry.py)
    activations = summarize("lenet5", InputSize(32, 32, 2)).totals.forward_backward_bytes
    return budget.training_bytes(parameters * 4, optimizer, activations)


@pytest.fixture
def budget_for(monkeypatch):
    """A fresh store whose budget holds ``copies`` LeNet-5 copies with SGD and a half, read from the variable."""
    def make(copies: float):
        monkeypatch.setenv(budget.ENVIRONMENT_VARIABLE, repr(copies * lenet_copy_bytes() / 1000**3))
        training_copies.training_copies.clear()
        return training_copies.training_copies()

    yield make
    training_copies.training_copies.clear()


def open_training(app_test):
    return app_test(query={"arch": "lenet5"}, page=PAGE)


def warnings_of(at) -> list[str]:
    """The page's warnings other than a step's own (those come as one box of "- " lines, ui/panels/step_checks.py)."""
    return [w.value for w in at.warning if not w.value.startswith("- ")]


def test_with_a_small_budget_a_third_session_is_refused_plainly_and_closing_one_lets_it_in(app_test, budget_for):
    store = budget_for(2.5)
    alice, bob = open_training(app_test), open_training(app_test)
    assert store.holders() == 2 and not warnings_of(alice) and not warnings_of(bob)
    carol = open_training(app_test)
    assert not carol.exception
    [sentence] = warnings_of(carol)
    assert sentence.startswith("The server's training memory is full: 2 students hold ")
    assert "a training copy of LeNet-5 at 32×32 with SGD needs about" in sentence and sentence.endswith(".")
    assert carol.button(key="train_one").disabled and carol.button(key="train_retry")
    assert carol.radio(key="train_optimizer").value == "sgd"  # the settings stay on the page

    carol.radio(key="train_optimizer").set_value("momentum").run()
    carol.button(key="train_retry").click().run()  # still full: the same sentence, the choice kept
    assert len(warnings_of(carol)) == 1 and carol.radio(key="train_optimizer").value == "momentum"

    # Bob closes his tab: the sweeper no longer sees his session among the live ones.
    store.sweep({alice.session_state["train_owner"], carol.session_state["train_owner"]}, grace_s=0)
    carol.button(key="train_retry").click().run()
    assert not warnings_of(carol) and not carol.button(key="train_one").disabled
    carol.button(key="train_one").click().run()
    mine = session_trainer(carol.session_state)
    assert mine.steps_taken == 1 and mine.optimizer_name == "momentum"  # with the settings carol had chosen
    assert session_trainer(alice.session_state).steps_taken == 0  # alice's copy was never touched
    assert store.holders() == 2


def test_ten_presses_while_the_server_is_full_change_nothing_and_a_holder_keeps_training(app_test, budget_for):
    store = budget_for(1.5)
    alice = open_training(app_test)
    bob = open_training(app_test)
    held = store.held_bytes
    for _ in range(10):
        # Bob's step buttons are disabled (AppTest, like a browser, refuses a click on them);
        # what he can press is "Try again", and each press is the one sentence again.
        assert bob.button(key="train_one").disabled and bob.button(key="train_many").disabled
        bob.button(key="train_retry").click().run()
        assert len(warnings_of(bob)) == 1 and "1 student hold" in warnings_of(bob)[0]
        alice.button(key="train_one").click().run()
    assert not bob.exception and not alice.exception
    assert "train_last" not in bob.session_state
    assert session_trainer(alice.session_state).steps_taken == 10
    assert store.held_bytes == held and store.holders() == 1


def test_adam_on_a_full_server_is_refused_and_the_copy_goes_on_with_sgd(app_test, budget_for):
    store = budget_for(1.5)  # one SGD copy fits; Adam keeps two more tensors per weight
    assert budget.training_bytes(1, "adam") > budget.training_bytes(1, "sgd")
    at = open_training(app_test)
    at.button(key="train_one").click().run()
    trainer = session_trainer(at.session_state)
    at.radio(key="train_optimizer").set_value("adam").run()
    [sentence] = warnings_of(at)
    assert "your training copy of LeNet-5 at 32×32 would grow from" in sentence
    assert "with SGD to" in sentence and "with Adam; keep SGD, or try again in a minute." in sentence
    assert at.button(key="train_one").disabled
    assert trainer.optimizer_name == "sgd" and trainer.steps_taken == 1  # nothing lost, nothing switched
    at.radio(key="train_optimizer").set_value("sgd").run()
    assert not warnings_of(at) and session_trainer(at.session_state) is trainer
    at.button(key="train_one").click().run()
    assert trainer.steps_taken == 2 and store.held_bytes == lenet_copy_bytes("sgd")


def test_momentum_that_fits_grows_the_reservation(app_test, budget_for):
    store = budget_for(3)
    at = open_training(app_test)
    at.radio(key="train_optimizer").set_value("momentum").run()
    at.button(key="train_one").click().run()
    assert not warnings_of(at) and store.held_bytes == lenet_copy_bytes("momentum")
    assert session_trainer(at.session_state).optimizer_name == "momentum"


def test_a_budget_variable_that_is_not_a_number_is_one_log_sentence_and_the_page_works(app_test, monkeypatch, caplog):
    monkeypatch.setenv(budget.ENVIRONMENT_VARIABLE, "lots")
    training_copies.training_copies.clear()
    try:
        with caplog.at_level(logging.WARNING, logger="explorer.classroom.budget"):
            at = open_training(app_test)
        assert not at.exception and not warnings_of(at)
        assert training_copies.training_copies().limit_bytes == budget.default_limit_bytes()
        said = [r.getMessage() for r in caplog.records if r.name == "explorer.classroom.budget"]
        assert len(said) == 1 and said[0].startswith("EXPLORER_TRAINING_MEMORY_GB='lots' is not a positive number")
    finally:
        training_copies.training_copies.clear()
