"""The "Train on the digits" page run headlessly: a run in the session's copy, Stop, Reset, and what lets it go."""

import time

import pytest

from ui.caches.training_copies import training_copies
from explorer.runs.learning_thread import Worker


def open_page(app_test, arch: str = "lenet5"):
    return app_test(query={"arch": arch}, page="pages/train-on-digits.py")


def held_worker(at) -> Worker | None:
    """The run this AppTest session holds in the server's store (owners end in the session's own token)."""
    token = at.session_state["train_owner_token"] if "train_owner_token" in at.session_state else None
    owner = next((o for o in training_copies().owners() if token and o.endswith("/" + token)), None)
    found = training_copies().get(owner, at.session_state["dg_key"]) if owner else None
    return found if isinstance(found, Worker) else None


def wait_until_stopped(worker: Worker, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while worker.is_running and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not worker.is_running, "the run did not end in time"


def start_long_run(app_test):
    """LeNet-5's page with a fifty-epoch run under way: the page and the run's worker."""
    at = open_page(app_test)
    at.number_input(key="dg_epochs").set_value(50).run()
    at.button(key="dg_go").click().run()
    worker = held_worker(at)
    assert worker is not None and worker.is_running
    return at, worker


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_opening_the_page_makes_no_copy_and_start_trains_one_in_this_session(app_test):
    at = open_page(app_test)
    assert not at.exception and at.title[0].value == "Train on the digits · LeNet-5"
    assert held_worker(at) is None
    at.number_input(key="dg_epochs").set_value(1).run()
    at.button(key="dg_go").click().run()
    assert not at.exception and not at.error
    worker = held_worker(at)
    assert worker is not None and worker.run.spec.id == "lenet5"
    wait_until_stopped(worker)
    at.run()
    done = worker.snapshot()
    assert done.status == "finished" and done.epochs_done == 1
    assert metric(at, "Held-out accuracy") == f"{done.held_out_accuracy:.1%}"
    assert done.held_out_accuracy > done.held_out_points[0][1]  # it learnt something in one epoch
    labels = {b.key: b.label for b in at.button}
    assert labels["dg_go"] == "Train 1 more epoch"
    assert len(at.get("plotly_chart")) == 2 and any("first filters" in (image.proto.imgs[0].caption or "") for image in at.get("image"))

    at.button(key="dg_reset").click().run()
    assert not at.exception and worker.snapshot().batches_done == 0
    assert {b.key: b.label for b in at.button}["dg_go"] == "Start"


def test_the_training_step_page_takes_the_copy_and_the_run_notices(app_test):
    at, worker = start_long_run(app_test)
    deadline = time.monotonic() + 60
    while worker.snapshot().batches_done == 0 and time.monotonic() < deadline:  # it has learnt something
        time.sleep(0.02)
    assert worker.snapshot().batches_done > 0 and worker.is_running
    at.switch_page("pages/training-step.py").run()  # one copy per student: the step's copy replaces the run
    assert not at.exception
    wait_until_stopped(worker, 60)
    at.switch_page("pages/train-on-digits.py").run()
    assert not at.exception
    assert any("no longer held" in info.value for info in at.info)


def test_a_new_network_in_the_sidebar_stops_the_run_in_one_sentence(app_test):
    at, worker = start_long_run(app_test)
    at.selectbox(key="sb_arch").set_value("toy_conv").run()
    assert not at.exception
    wait_until_stopped(worker, 60)
    assert any("stopped because the sidebar changed" in info.value for info in at.info)
    assert at.title[0].value == "Train on the digits · Toy conv network"
    assert worker.snapshot().batches_done > 0  # what it learnt is still in the copy


def test_a_full_training_budget_gets_one_sentence_and_the_page_keeps_working(app_test):
    at = open_page(app_test)
    copies = training_copies()
    limit = copies.limit_bytes
    copies.limit_bytes = 1000  # a kilobyte: no copy fits
    try:
        at.button(key="dg_go").click().run()
    finally:
        copies.limit_bytes = limit
    assert not at.exception
    warnings = [w.value for w in at.warning]
    assert len(warnings) == 1 and warnings[0].startswith("The server's training memory is full")
    assert held_worker(at) is None
    at.button(key="dg_go").click().run()  # room again: it starts
    worker = held_worker(at)
    assert worker is not None
    worker.stop()
    wait_until_stopped(worker, 60)


@pytest.mark.parametrize("arch", ["toy_conv", "resnet18"])
def test_the_page_opens_for_the_toys_and_for_resnet18_at_their_digit_sizes(app_test, arch):
    at = open_page(app_test, arch)
    assert not at.exception and not at.error
    captions = " ".join(c.value for c in at.caption)
    side = {"toy_conv": 5, "resnet18": 32}[arch]
    assert f"learns at {side}×{side}" in captions
    if arch == "resnet18":
        assert "grey repeated to its three colour channels" in captions and "first ten of 1,000 outputs" in captions
