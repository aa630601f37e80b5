"""Held-out pictures beside the one picture, and the warnings a giant step earns (library, command line)."""

import json
import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from explorer.__main__ import main as cli
from explorer.core.registry import get_spec
from explorer.inputs import digit_inputs, images, samples, scans
from explorer.runs import held_out
from explorer.runs.evaluation import correct_count
from explorer.runs.step_warnings import step_warnings
from explorer.runs.training import Trainer
from explorer.weights import catalogue, hub, loading


@pytest.fixture(scope="module")
def lenet_digits():
    spec = get_spec("lenet5")
    return spec, loading.build(spec, catalogue.DIGITS).requires_grad_(False)


def picture(spec, key: str, weights: str = catalogue.RANDOM) -> torch.Tensor:
    return images.prepare(images.load_image(samples.sample_bytes(key)), spec, spec.default_size, spec.default_size,
                          weights).tensor


def test_the_digit_held_out_set_is_ten_unseen_scans_of_each_digit_none_a_sample(lenet_digits):
    spec, model = lenet_digits
    found = held_out.held_out_set(spec, catalogue.DIGITS, 32, 32, model, "handwritten_3")
    assert isinstance(found, held_out.HeldOut) and len(found.inputs) == 100
    split = scans.scan_split()
    test, labels = split["test"], split["labels"]
    expected = [i for d in range(10) for i in test[labels[test] == d][1:11]]  # by hand: skip each digit's first
    assert set(expected).isdisjoint(split["train"])
    assert not {int(test[labels[test] == d][0]) for d in range(10)} & set(expected)  # the samples stay out
    by_hand = torch.stack([digit_inputs.network_input(scans.scan_png(split["scans"][i]), "lenet5", 32) for i in expected])
    assert torch.equal(found.inputs, by_hand)
    assert found.right.sum(dim=1).tolist() == [1] * 100
    assert found.right.float().argmax(dim=1).tolist() == [int(labels[i]) for i in expected]


def test_the_score_agrees_with_cross_entropy_and_a_plain_count(lenet_digits):
    spec, model = lenet_digits
    found = held_out.held_out_set(spec, catalogue.DIGITS, 32, 32, model)
    labels = found.right.float().argmax(dim=1)
    result = held_out.score(model, found)
    with torch.no_grad():
        loss = F.cross_entropy(model(found.inputs), labels).item()
    assert result.loss == pytest.approx(loss, rel=1e-5)
    assert result.correct == correct_count(model, found.inputs, labels)
    assert result.accuracy == result.correct / 100 and result.accuracy > 0.9  # the shipped network reads digits


class FixedLogits(torch.nn.Module):
    """Whatever pictures come in, the same logits rows: a stand-in whose predictions the test chooses."""

    def __init__(self, logits: torch.Tensor) -> None:
        super().__init__()
        self.logits = torch.nn.Parameter(logits, requires_grad=False)

    def forward(self, x):
        return self.logits[: len(x)]


def test_photos_count_only_if_right_before_training_and_any_neighbouring_class_is_right():
    spec = get_spec("resnet18")
    names = catalogue.class_names(spec, catalogue.IMAGENET)
    logits = torch.zeros(2, 1000)
    logits[0, names.index("tiger cat")] = 5.0  # Chelsea: a tiger cat counts for a tabby
    logits[1, names.index("goldfish")] = 5.0  # the rocket: wrong before training, so it is left out
    found = held_out.held_out_set(spec, catalogue.IMAGENET, 64, 64, FixedLogits(logits), exclude="coffee")
    assert isinstance(found, held_out.HeldOut) and len(found.inputs) == 1
    assert "chelsea the cat" in found.what
    result = held_out.score(FixedLogits(logits[:1]), found)
    probs = torch.softmax(logits[0], 0)
    by_hand = -math.log(sum(float(probs[names.index(n)]) for n in ("tabby", "tiger cat", "Egyptian cat")))
    assert result.accuracy == 1.0 and result.loss == pytest.approx(by_hand, rel=1e-5)
    nothing_right = held_out.held_out_set(spec, catalogue.IMAGENET, 64, 64, FixedLogits(torch.zeros(3, 1000)))
    assert isinstance(nothing_right, str) and "nothing to hold out against" in nothing_right


def test_random_weights_say_there_is_nothing_to_hold_out_against():
    spec = get_spec("lenet5")
    found = held_out.held_out_set(spec, catalogue.RANDOM, 32, 32, spec.build())
    assert isinstance(found, str) and found.endswith(".") and "nothing to hold out against" in found


@pytest.mark.skipif(hub.needs_download(get_spec("resnet18"), catalogue.IMAGENET),
                    reason="ResNet-18's ImageNet weights are not in torch.hub's cache (tests never download)")
def test_with_real_imagenet_weights_the_cat_is_held_out_and_every_kept_photo_is_right():
    spec = get_spec("resnet18")
    model = loading.build(spec, catalogue.IMAGENET)
    found = held_out.held_out_set(spec, catalogue.IMAGENET, 224, 224, model, exclude="coffee")
    assert isinstance(found, held_out.HeldOut) and "chelsea the cat" in found.what
    assert held_out.score(model, found).accuracy == 1.0


def ratios_by_hand(before: dict, after: dict, layer: str) -> float:
    names = [n for n in before if n.startswith(layer + ".")]
    change = sum(float((after[n] - before[n]).pow(2).sum()) for n in names)
    size = sum(float(before[n].pow(2).sum()) for n in names)
    return math.sqrt(change / size)


def test_a_giant_step_on_lenet5_earns_every_warning_with_its_numbers(lenet_digits):
    spec, model = lenet_digits
    found = held_out.held_out_set(spec, catalogue.DIGITS, 32, 32, model, "handwritten_3")
    trainer = Trainer(spec, model, "sgd", 1e6)
    start = {n: t.clone() for n, t in trainer.model.state_dict().items()}
    before = held_out.score(trainer.model, found)
    results = trainer.take_steps(picture(spec, "handwritten_3", catalogue.DIGITS), 3)
    after = held_out.score(trainer.model, found)
    sentences = step_warnings(results, before, after, found.what)
    assert len(sentences) == 4, sentences
    flagged, giant, zero, collapse = sentences
    ratio = ratios_by_hand(start, trainer.model.state_dict(), "classifier.4")
    assert ratio > 1 and f"classifier.4 {ratio:.3g}" in flagged and flagged.startswith("5 of 5 layers")
    assert "more than their own size" in giant
    assert results[-1].loss_after < 1e-6 and "overshot" in zero and "fell from" in zero
    assert after.accuracy <= 0.2 < 0.9 <= before.accuracy
    assert f"from {before.accuracy:.0%} to {after.accuracy:.0%}" in collapse and "100 held-out scans" in collapse


def test_a_sensible_step_earns_no_warning(lenet_digits):
    spec, model = lenet_digits
    found = held_out.held_out_set(spec, catalogue.DIGITS, 32, 32, model)
    trainer = Trainer(spec, model, "sgd", 0.01)
    before = held_out.score(trainer.model, found)
    results = trainer.take_steps(picture(spec, "handwritten_5", catalogue.DIGITS), 5, count=3)
    assert step_warnings(results, before, held_out.score(trainer.model, found), found.what) == []


def test_warnings_name_only_layers_ten_times_the_rule_of_thumb():
    spec = get_spec("lenet5")

    def first_step(rate: float):
        torch.manual_seed(0)
        return Trainer(spec, spec.build().requires_grad_(False), "sgd", rate).take_steps(picture(spec, "handwritten_1"), 1)

    gentle, results = first_step(0.1), first_step(0.3)
    ratios = results[0].update_ratios
    # SGD's first step is −rate × gradient: from the same start, three times the rate moves each layer three times as far.
    np.testing.assert_allclose(ratios, 3 * gentle[0].update_ratios, rtol=1e-3)
    flagged = [layer for layer, r in zip(results[0].layers, ratios) if r >= 1e-2]
    assert 0 < len(flagged) < len(ratios)  # at this rate some layers pass the rule and some do not
    sentences = step_warnings(results)
    assert sentences[0].startswith(f"{len(flagged)} of 5 layers") and all(n in sentences[0] for n in flagged)
    assert not any(layer in sentences[0] for layer in results[0].layers if layer not in flagged)
    assert not any("own size" in s for s in sentences) and np.all(ratios < 1)


def test_train_step_json_and_text_carry_the_same_warnings_and_the_held_out_scores(capsys):
    args = ["train-step", "lenet5", "--weights", "digits", "--lr", "1e6"]
    assert cli(args + ["--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    held = data["held_out"]
    assert set(held) == {"pictures", "before", "after"} and set(held["before"]) == {"loss", "accuracy"}
    assert held["before"]["accuracy"] >= 0.9 and held["after"]["accuracy"] <= 0.2
    assert len(data["warnings"]) == 4 and all(s.endswith(".") for s in data["warnings"])
    assert cli(args) == 0
    text = capsys.readouterr().out
    assert [line.removeprefix("warning: ") for line in text.splitlines() if line.startswith("warning: ")] == data["warnings"]


def test_train_step_json_says_why_random_weights_have_no_held_out_set(capsys):
    assert cli(["train-step", "lenet5", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert "held_out" not in data and "nothing to hold out against" in data["no_held_out"]
    # At the lab's rate (0.1) a random LeNet-5's first step moves only its last layer past 10⁻² (five times,
    # see test_warnings_name_only_layers_ten_times_the_rule_of_thumb): one warning, naming it.
    assert len(data["warnings"]) == 1 and "1 of 5 layers" in data["warnings"][0] and "classifier.4" in data["warnings"][0]
