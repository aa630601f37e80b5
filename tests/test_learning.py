"""The learning run on the digits: it learns, it undoes a runaway batch, it stops when asked, it refuses bad input."""

import json
import time

import numpy as np
import pytest
import torch

from explorer.__main__ import main as cli
from explorer.core.errors import UserError
from explorer.core.registry import ARCHITECTURES, get_spec
from explorer.inputs import digit_inputs
from explorer.inputs.digit_sets import DIGIT_SIDE, digit_data, digit_side
from explorer.runs import learning_thread
from explorer.runs.evaluation import correct_count
from explorer.runs.learning import DigitRun, check_epochs
from explorer.runs.learning_thread import Worker, training_slots


def lenet_run(optimizer: str = "adam", rate: float = 1e-3, seed: int = 0) -> DigitRun:
    spec = get_spec("lenet5")
    torch.manual_seed(seed)
    source = spec.build().requires_grad_(False)
    return DigitRun(spec, source, 32, lambda: digit_data("lenet5", 32, "random", 0), optimizer, rate, 64, seed)


def test_each_network_learns_at_the_smallest_size_it_takes_from_32_or_the_toys_own():
    sides = {spec.id: digit_side(spec) for spec in ARCHITECTURES}
    assert sides["toy_dense"] == sides["toy_conv"] == 5 and sides["lenet5"] == 32
    assert sides["alexnet"] == 63 and sides["inception_v3"] == 75  # their own smallest sizes
    assert sides["resnet18"] == sides["vgg16"] == DIGIT_SIDE


def test_the_digits_are_the_fixed_split_as_the_app_prepares_them():
    data = digit_data("lenet5", 32, "random", 0)
    train, test = digit_inputs.scan_inputs("train"), digit_inputs.scan_inputs("test")
    assert torch.equal(data.train_inputs, train[0]) and torch.equal(data.test_labels, test[1])
    assert (len(data.train_labels), len(data.test_labels)) == (1437, 360) and data.drawn == 0


def test_grey_scans_reach_resnet18_repeated_in_three_channels():
    data = digit_data("resnet18", 32, "random", 0)
    x = data.test_inputs[:5]
    mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])
    pixels = x * std[:, None, None] + mean[:, None, None]  # undo ImageNet's normalisation by hand
    assert x.shape[1:] == (3, 32, 32)
    assert torch.allclose(pixels[:, 0], pixels[:, 1], atol=1e-5) and torch.allclose(pixels[:, 1], pixels[:, 2], atol=1e-5)


def test_lenet5_learns_the_digits_and_its_checks_agree_with_a_plain_count():
    run = lenet_run()
    run.plan(3)
    while run.train_for(5.0):
        pass
    done = run.snapshot()
    assert done.status == "finished" and done.batches_done == 3 * done.batches_per_epoch == 3 * 23  # ⌈1437/64⌉
    assert [row.epoch for row in done.epochs] == [1, 2, 3]
    assert done.held_out_points[0][0] == 0 and done.held_out_points[0][1] < 0.3  # random weights guess
    data = run.data
    by_hand = correct_count(run.model, data.test_inputs, data.test_labels) / 360
    assert done.held_out_accuracy == pytest.approx(by_hand) and by_hand > 0.8
    assert done.epochs[-1].train_loss < done.epochs[0].train_loss
    assert len(done.held_out_points) == 1 + 3 * 4  # the start, then four checks an epoch
    assert not torch.equal(torch.from_numpy(done.filters_now), torch.from_numpy(done.filters_start))


def test_a_runaway_batch_is_undone_and_the_run_goes_on_afterwards():
    run = lenet_run()
    run.plan(1)
    three = iter(range(3))  # three batches, however fast the machine (0.2 s was a whole epoch on a quick one)
    assert run.train_for(60.0, keep_going=lambda: next(three, None) is not None) is False
    assert run.snapshot().batches_done == 3 and run.snapshot().status != "finished"
    run.configure("sgd", 1e12)
    kept = {n: t.clone() for n, t in run.model.state_dict().items() if "running" not in n}
    before = run.snapshot()
    assert not run.train_for(5.0)
    stopped = run.snapshot()
    assert stopped.status == "failed" and "1e+12" in stopped.message and stopped.message.endswith("press Continue.")
    assert "undone" in stopped.message and stopped.batches_done == before.batches_done
    for name, tensor in kept.items():
        assert torch.equal(run.model.state_dict()[name], tensor), name
    run.configure("adam", 1e-3)
    assert run.train_for(0.3) or run.snapshot().status == "finished"
    assert run.snapshot().batches_done > before.batches_done


@pytest.mark.parametrize(("rate", "shown"), [(float("nan"), "'nan'"), (0.0, "'0.0'"), (-0.1, "'-0.1'")])
def test_learning_rates_that_cannot_work_are_refused_in_one_sentence(rate, shown):
    with pytest.raises(UserError, match=f"^The learning rate must be a positive number; got {shown}.$"):
        lenet_run(rate=rate)
    with pytest.raises(UserError):
        lenet_run().configure("adam", rate)


@pytest.mark.parametrize("epochs", [0, 10_000, "many"])
def test_epoch_counts_outside_a_lesson_are_refused(epochs):
    with pytest.raises(UserError, match="^The number of epochs must be a whole number from 1 to 100"):
        check_epochs(epochs)


def test_reset_brings_back_the_starting_weights_and_the_source_is_never_written():
    run = lenet_run()
    source = {n: t.clone() for n, t in run._source.state_dict().items()}
    run.plan(1)
    run.train_for(0.5)
    assert run.snapshot().batches_done > 0
    run.reset()
    assert run.snapshot().batches_done == 0 and run.snapshot().status == "ready"
    for name, tensor in run.model.state_dict().items():
        assert torch.equal(tensor, source[name]) and torch.equal(run._source.state_dict()[name], source[name])


def test_the_thread_stops_when_asked_twice_says_so_and_stops_for_a_tab_that_left():
    worker = Worker(lenet_run())
    worker.run.plan(50)
    worker.start()
    assert wait_until(lambda: worker.run.snapshot().batches_done >= 2, 60)
    with pytest.raises(UserError, match="already training"):
        worker.start()
    assert worker.stop() is None
    second = worker.stop()
    assert second is not None and ("already stopping" in second or "already stopped" in second)
    worker.join(30)
    stopped = worker.snapshot()
    assert not worker.is_running and stopped.status == "stopped" and stopped.message.startswith("Stopped after")
    assert "already stopped" in worker.stop()

    gone = {"here": True}
    worker.start(keep_going=lambda: gone["here"])
    assert wait_until(lambda: worker.run.snapshot().batches_done > stopped.batches_done, 60)  # it went on
    gone["here"] = False
    worker.join(30)
    assert not worker.is_running and "closed or lost its connection" in worker.snapshot().message
    assert worker.snapshot().batches_done > stopped.batches_done  # nothing learnt was lost


def wait_until(condition, seconds: float) -> bool:
    """Whether ``condition()`` came true within ``seconds`` (asked again every 20 ms)."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


@pytest.mark.parametrize(("cores", "threads", "slots"), [(16, 4, 4), (16, 16, 1), (2, 4, 1), (None, 1, 1), (8, 3, 2)])
def test_training_slots_are_the_cores_divided_by_each_runs_threads(monkeypatch, cores, threads, slots):
    monkeypatch.setattr(learning_thread.os, "cpu_count", lambda: cores)
    monkeypatch.setattr(learning_thread.torch, "get_num_threads", lambda: threads)
    assert training_slots() == slots


def test_resnet18_learns_a_batch_at_32_and_inception_trains_at_75_without_its_auxiliary_head():
    for arch_id in ("resnet18", "inception_v3"):
        spec = get_spec(arch_id)
        side = digit_side(spec)
        run = DigitRun(spec, spec.build().requires_grad_(False), side, lambda: digit_data(arch_id, side, "random", 0),
                       batch=4)
        starting = {name: tensor.clone() for name, tensor in run._source.state_dict().items()}
        run.plan(1)
        run.train_for(0.01)  # at least one batch
        done = run.snapshot()
        assert done.batches_done >= 1 and done.status != "failed", done.message
        assert done.held_out_points and 0 <= done.held_out_accuracy <= 1
        first_loss = done.train_points[0][1]
        assert 0 < first_loss < 20, first_loss  # a cross-entropy over ten digits, finite
        assert not np.allclose(done.filters_now, done.filters_start)  # the batch moved the first convolution
        assert all(torch.equal(tensor, starting[name]) for name, tensor in run._source.state_dict().items())
        if arch_id == "inception_v3":  # 75 pixels is too small for the auxiliary head: the copy has none
            assert run.model.AuxLogits is None and run._source.AuxLogits is not None


def test_the_command_line_runs_the_same_learning_and_reports_per_epoch(capsys):
    assert cli(["train", "lenet5", "--epochs", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["train_loss"]) == len(data["held_out_accuracy"]) == len(data["epochs"]) == 2
    assert data["held_out_accuracy"][-1] > data["start_held_out_accuracy"]
    assert data["final_held_out_accuracy"] == data["held_out_accuracy"][-1]
    assert (data["train_pictures"], data["held_out_pictures"]) == (1437, 360)
    assert data["input_size"] == [1, 32, 32] and data["optimizer"] == "adam"


@pytest.mark.parametrize(("args", "sentence"), [
    (["--epochs", "0"], "The number of epochs must be a whole number from 1 to 100; got '0'."),
    (["--epochs", "10000"], "The number of epochs must be a whole number from 1 to 100; got '10000'."),
    (["--lr", "nan"], "The learning rate must be a positive number; got 'nan'."),
    (["--lr", "-1"], "The learning rate must be a positive number; got '-1'."),
    (["--batch", "1"], "The batch size must be a whole number from 2 to 256; got '1'."),
])
def test_the_command_line_refuses_bad_input_with_one_sentence(capsys, args, sentence):
    assert cli(["train", "lenet5", *args]) == 2
    assert capsys.readouterr().err.strip() == sentence


def test_a_learning_rate_of_1e12_ends_the_command_in_one_sentence(capsys):
    assert cli(["train", "lenet5", "--epochs", "1", "--lr", "1e12", "--optimizer", "sgd"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("At epoch 1, batch 1 the learning rate 1e+12 changed the weights by") and err.count(".") >= 1

