"""The training step: it learns, it reports the right gradients, it stops on divergence, it never touches the source."""

import copy
import json

import pytest
import torch
from torch.nn import functional as F

from explorer.__main__ import main as cli
from explorer.core.errors import UserError
from explorer.core.registry import get_spec
from explorer.inputs import samples
from explorer.inputs.images import load_image, prepare
from explorer.runs.step_result import Diverged
from explorer.runs.training import Trainer
from ui.caches.training_copies import session_trainer

# (architecture, input side, learning rate): rates a student would sensibly try for each.
LEARNING = [("toy_conv", 5, 0.1), ("lenet5", 32, 0.1), ("resnet18", 64, 0.001)]


def source_and_input(arch_id: str, side: int, seed: int = 0):
    torch.manual_seed(seed)
    spec = get_spec(arch_id)
    source = spec.build().requires_grad_(False)
    image = torch.randn(1, spec.in_channels, side, side)
    return spec, source, image


@pytest.mark.parametrize(("arch_id", "side", "rate"), LEARNING)
def test_a_few_steps_at_a_sensible_rate_lower_the_loss(arch_id, side, rate):
    spec, source, image = source_and_input(arch_id, side)
    trainer = Trainer(spec, source, "sgd", rate)
    results = trainer.take_steps(image, target=3, count=3)
    assert [r.step for r in results] == [1, 2, 3]
    assert results[-1].loss_after < results[0].loss_before
    # The pass that starts a step also measures the previous one's "after".
    for earlier, later in zip(results, results[1:]):
        assert later.loss_before == earlier.loss_after
    # The reported loss is the cross-entropy of the model as it now is.
    after = F.cross_entropy(trainer.evaluate(image), torch.tensor([3]))
    assert results[-1].loss_after == pytest.approx(float(after), rel=1e-6)
    assert results[-1].probs_after[3] > results[0].probs_before[3]


def test_real_sample_digit_through_the_image_pipeline_is_learnt_by_lenet5():
    spec, source, _ = source_and_input("lenet5", 32)
    prepared = prepare(load_image(samples.sample_bytes("handwritten_7")), spec, 32, 32)
    results = Trainer(spec, source, "adam", 1e-3).take_steps(prepared.tensor, target=7, count=5)
    assert results[-1].loss_after < results[0].loss_before


def test_gradient_norms_and_sgd_updates_match_autograd_by_hand():
    spec, source, image = source_and_input("lenet5", 32)
    model = copy.deepcopy(source).requires_grad_(True).train()
    conv = model.features[0]
    loss = F.cross_entropy(model(image), torch.tensor([5]))
    grad_w, grad_b = torch.autograd.grad(loss, [conv.weight, conv.bias])
    expected = float(torch.sqrt(grad_w.pow(2).sum() + grad_b.pow(2).sum()))

    rate = 0.05
    result = Trainer(spec, source, "sgd", rate).take_steps(image, target=5)[0]
    layer = result.layers.index("features.0")
    assert result.grad_norms[layer] == pytest.approx(expected, rel=1e-5)
    assert result.loss_before == pytest.approx(loss.item(), rel=1e-6)
    # Plain SGD moves w by rate × gradient, so ‖Δw‖ = rate × ‖g‖ in every layer.
    assert result.update_norms == pytest.approx(rate * result.grad_norms, rel=1e-4)
    weight_norm = torch.sqrt(conv.weight.pow(2).sum() + conv.bias.pow(2).sum()).item()
    assert result.update_ratios[layer] == pytest.approx(rate * expected / weight_norm, rel=1e-4)
    # First-convolution filters: before is the source's, the change is −rate × gradient.
    assert torch.equal(torch.from_numpy(result.filters_before), source.features[0].weight)
    assert result.filters_change == pytest.approx((-rate * grad_w).numpy(), abs=1e-6)


def test_a_wild_rate_is_caught_and_the_last_finite_weights_come_back():
    spec, source, image = source_and_input("resnet18", 64)
    trainer = Trainer(spec, source, "sgd", 0.001)
    trainer.take_steps(image, target=1)
    kept = {name: tensor.clone() for name, tensor in trainer.model.state_dict().items()}
    trainer.configure("sgd", 1e12, dropout=False)
    with pytest.raises(Diverged, match=r"^The loss became .* learning rate 1e\+12.*\.$") as caught:
        trainer.take_steps(image, target=1, count=3)
    assert isinstance(caught.value, UserError)
    assert caught.value.results == []
    assert trainer.steps_taken == 1
    for name, tensor in trainer.model.state_dict().items():
        assert torch.equal(tensor, kept[name]), name
    # Training goes on normally afterwards.
    trainer.configure("sgd", 0.001, dropout=False)
    assert len(trainer.take_steps(image, target=1)) == 1


def test_the_source_model_stays_bit_identical_and_reset_returns_to_it():
    spec, source, image = source_and_input("resnet18", 64)
    before = {name: tensor.clone() for name, tensor in source.state_dict().items()}
    trainer = Trainer(spec, source, "adam", 1e-3)
    trainer.take_steps(image, target=0, count=2)
    trainer.configure("momentum", 0.01, dropout=False)
    trainer.take_steps(image, target=0)
    changed = [n for n, t in trainer.model.state_dict().items() if not torch.equal(t, before[n])]
    assert changed, "training changed nothing"
    for name, tensor in source.state_dict().items():
        assert torch.equal(tensor, before[name]), name
    assert not any(p.requires_grad for p in source.parameters())
    assert not source.training
    trainer.reset()
    assert trainer.steps_taken == 0
    for name, tensor in trainer.model.state_dict().items():
        assert torch.equal(tensor, before[name]), name


def test_batchnorm_trains_on_the_picture_and_its_mirror_without_touching_running_statistics():
    # ResNet-18 at 32×32 ends in 1×1 maps, where one picture alone has no batch statistics.
    spec, source, image = source_and_input("resnet18", 32)
    trainer = Trainer(spec, source, "sgd", 0.001)
    result = trainer.take_steps(image, target=2)[0]
    assert torch.equal(trainer.model.bn1.running_mean, source.bn1.running_mean)
    assert not torch.equal(trainer.model.bn1.weight, source.bn1.weight)  # its scale still learns
    # By hand: BatchNorm in training mode normalises over the pair (picture, mirror image).
    model = copy.deepcopy(source).train()
    with torch.no_grad():
        logits = model(torch.cat([image, image.flip(3)]))
    assert result.loss_before == pytest.approx(float(F.cross_entropy(logits[:1], torch.tensor([2]))), rel=1e-5)
    assert result.probs_before == pytest.approx(torch.softmax(logits[0], 0).numpy(), abs=1e-6)


def test_dropout_on_still_measures_before_and_after_with_dropout_off():
    spec, source, _ = source_and_input("alexnet", 63)
    image = torch.randn(1, 3, 63, 63)
    trainer = Trainer(spec, source, "sgd", 1e-3, dropout=True)
    assert trainer.has_dropout
    result = trainer.take_steps(image, target=4)[0]
    with torch.no_grad():
        expected = F.cross_entropy(source(image), torch.tensor([4]))  # source is in eval mode: no dropout
    assert result.loss_before == pytest.approx(float(expected), rel=1e-5)


def test_inception_minimises_main_plus_four_tenths_of_auxiliary_loss():
    spec, source, image = source_and_input("inception_v3", 299)
    model = copy.deepcopy(source).train()
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.eval()
    with torch.no_grad():
        main, aux = model(torch.cat([image, image.flip(3)]))
    targets = torch.tensor([9, 9])
    expected = F.cross_entropy(main, targets) + 0.4 * F.cross_entropy(aux, targets)
    trainer = Trainer(spec, source, "sgd", 0.01)
    result = trainer.take_steps(image, target=9)[0]
    assert result.objective == pytest.approx(float(expected), rel=1e-5)
    assert result.loss_before == pytest.approx(float(F.cross_entropy(main[:1], targets[:1])), rel=1e-5)
    assert result.loss_after < result.loss_before


def test_bad_requests_get_one_sentence():
    spec, source, image = source_and_input("toy_conv", 5)
    trainer = Trainer(spec, source)
    with pytest.raises(UserError, match="between 0 and 9"):
        trainer.take_steps(image, target=10)
    with pytest.raises(UserError, match="positive"):
        trainer.configure("sgd", 0.0, dropout=False)


def test_command_line_train_step_json(capsys):
    assert cli(["train-step", "lenet5", "--label", "3", "--steps", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["losses"]) == 2
    assert data["loss_after"] < data["loss_before"]
    assert set(data["grad_norms"]) == {"features.0", "features.3", "classifier.0", "classifier.2", "classifier.4"}


def test_command_line_reports_divergence_in_one_sentence(capsys):
    assert cli(["train-step", "resnet18", "--size", "64", "--lr", "1e12", "--steps", "2"]) == 2
    assert capsys.readouterr().err.startswith("The loss became")


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_two_sessions_train_apart_and_the_shared_model_never_changes(app_test):
    first = app_test(query={"arch": "lenet5"}, page="pages/training-step.py")
    second = app_test(query={"arch": "lenet5"}, page="pages/training-step.py")
    shared = session_trainer(first.session_state)._source
    assert session_trainer(second.session_state)._source is shared  # both copied the one server-wide model
    before = {name: tensor.clone() for name, tensor in shared.state_dict().items()}

    first.button(key="train_one").click().run()
    assert not first.exception and not first.error
    # The loss before, by hand: the default picture (the first handwritten digit) against its own digit.
    spec = get_spec("lenet5")
    picture = prepare(load_image(samples.sample_bytes("handwritten_0")), spec, 32, 32).tensor
    with torch.no_grad():
        expected = F.cross_entropy(shared(picture), torch.tensor([0])).item()
    assert float(metric(first, "Loss before")) == pytest.approx(expected, rel=1e-3)
    assert float(metric(first, "Loss after")) < float(metric(first, "Loss before"))
    assert session_trainer(first.session_state).steps_taken == 1

    second.run()
    assert "train_last" not in second.session_state
    assert session_trainer(second.session_state).steps_taken == 0
    for name, tensor in session_trainer(second.session_state).model.state_dict().items():
        assert torch.equal(tensor, before[name]), name
    for name, tensor in shared.state_dict().items():
        assert torch.equal(tensor, before[name]), name

    first.button(key="train_reset").click().run()
    assert session_trainer(first.session_state).steps_taken == 0
    assert "train_last" not in first.session_state


def test_the_page_reports_divergence_in_one_sentence_and_keeps_working(app_test):
    at = app_test(query={"arch": "lenet5"}, page="pages/training-step.py")
    at.select_slider(key="train_rate").set_value(1e12).run()
    at.button(key="train_many").click().run()
    assert not at.exception
    assert [e.value for e in at.error][0].startswith("The loss became")
    at.select_slider(key="train_rate").set_value(0.1).run()
    at.button(key="train_one").click().run()
    assert not at.error and at.session_state["train_last"].step == 1


def test_a_new_architecture_in_the_sidebar_replaces_the_private_copy(app_test):
    at = app_test(query={"arch": "lenet5"}, page="pages/training-step.py")
    at.button(key="train_many").click().run()
    assert len(at.session_state["train_history"]) == 10  # the default N
    at.selectbox(key="sb_arch").set_value("toy_conv").run()
    assert not at.exception
    trainer = session_trainer(at.session_state)
    assert trainer.spec.id == "toy_conv" and trainer.steps_taken == 0
    assert at.session_state["train_history"] == [] and "train_last" not in at.session_state


def test_probability_chart_shows_the_target_beside_the_top_classes():
    from explorer.figures.training import probability_chart

    spec, source, image = source_and_input("lenet5", 32)
    result = Trainer(spec, source).take_steps(image, target=6)[0]
    before, after = probability_chart(result, [str(d) for d in range(10)], k=2).data
    assert "6 (target)" in before.x
    position = list(before.x).index("6 (target)")
    assert before.y[position] == pytest.approx(result.probs_before[6])
    assert after.y[position] == pytest.approx(result.probs_after[6])


def test_inception_below_299_drops_its_auxiliary_head_from_the_copy_only():
    spec, source, image = source_and_input("inception_v3", 75)
    trainer = Trainer(spec, source, "sgd", 0.01)
    result = trainer.take_steps(image, target=9)[0]  # the head's 3×3 maps could not be pooled by 5
    assert not any(layer.startswith("AuxLogits") for layer in result.layers)
    assert source.AuxLogits is not None  # the shared model keeps it
    assert result.loss_after < result.loss_before
    trainer.reset()
    assert trainer.steps_taken == 0
    for name, tensor in trainer.model.state_dict().items():
        assert torch.equal(tensor, source.state_dict()[name]), name


def test_the_last_steps_charts_are_built_once_and_drawn_again_as_they_were(app_test):
    """Reruns after a step (another control, a new picture) draw the same charts without building them again;
    the next step builds its own. What is drawn equals the charts built afresh from the step's result."""
    import plotly.io as pio

    from explorer.figures import training as training_charts

    at = app_test(query={"arch": "lenet5"}, page="pages/training-step.py")
    at.button(key="train_one").click().run()
    result, _, charts = at.session_state["train_charts"]
    assert result is at.session_state["train_last"]
    fresh = training_charts.filter_chart(result)
    assert json.loads(pio.to_json(charts["filters"])) == json.loads(pio.to_json(fresh))
    drawn = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    assert json.loads(pio.to_json(fresh))["data"] in [spec["data"] for spec in drawn]

    at.select_slider(key="train_rate").set_value(0.01).run()  # a rerun with no step
    assert at.session_state["train_charts"][2] is charts

    at.button(key="train_one").click().run()
    newer, _, newer_charts = at.session_state["train_charts"]
    assert newer is at.session_state["train_last"] and newer.step == 2 and newer_charts is not charts


def test_the_filter_chart_is_the_figure_plotly_builds_with_subplots_and_checked_heatmaps():
    """The filter grid is assembled from a cached layout and unchecked traces; built the plain way (a new
    ``make_subplots`` grid and 24 checked heatmaps added to it), plotly writes the very same figure."""
    import types

    import numpy as np
    import plotly.graph_objects as go
    import plotly.io as pio
    from plotly.subplots import make_subplots

    from explorer.figures import training as training_charts
    from explorer.figures.feature_maps import SIGNED_MAP, plotly_scale

    filters = np.random.default_rng(0).normal(size=(64, 3, 7, 7)).astype(np.float32)
    result = types.SimpleNamespace(filters_before=filters, filters_after=filters * 1.01,
                                   filters_change=filters * 0.01, first_conv="conv1")
    before, after, change = (a[:8].mean(axis=1) for a in (filters, filters * 1.01, filters * 0.01))
    rows = (("before", before), ("after", after), ("change (after − before)", change))
    plain = make_subplots(rows=3, cols=8, horizontal_spacing=0.01, vertical_spacing=0.06,
                          row_titles=[name for name, _ in rows], column_titles=[f"#{i}" for i in range(8)])
    weight_limit, change_limit = float(max(abs(before).max(), abs(after).max())), float(abs(change).max())
    for row, (name, stack) in enumerate(rows, start=1):
        limit = change_limit if row == 3 else weight_limit
        for col in range(8):
            plain.add_trace(go.Heatmap(
                z=stack[col][::-1], zmin=-limit, zmax=limit, colorscale=plotly_scale(SIGNED_MAP), showscale=col == 7,
                colorbar=dict(len=0.3, y=[0.85, 0.5, 0.15][row - 1], thickness=10),
                hovertemplate=f"{name}, filter {col}<br>%{{z:.4g}}<extra></extra>"), row=row, col=col + 1)
    plain.update_xaxes(visible=False)
    plain.update_yaxes(visible=False)
    plain.update_layout(height=440, margin=dict(t=80, b=10, l=10, r=60),
                        title="First convolution (conv1): filters averaged over input channels")
    built = training_charts.filter_chart(result)
    assert json.loads(pio.to_json(built, validate=False)) == json.loads(pio.to_json(plain))
    assert built.data[9].xaxis == "x10" and built.data[9].zmax == weight_limit  # row 2, column 2: "after" #1


def test_reset_lets_the_last_steps_charts_go(app_test):
    at = app_test(query={"arch": "lenet5"}, page="pages/training-step.py")
    at.button(key="train_one").click().run()
    assert "train_charts" in at.session_state
    at.button(key="train_reset").click().run()
    assert "train_charts" not in at.session_state and "train_last" not in at.session_state
