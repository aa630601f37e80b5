"""Every input size the sidebar allows, for every architecture: it runs, or the architecture's own sentence says why not.

Three layers of evidence, cheapest first:

1. ``size_problem`` (plain arithmetic) for every size from 1 to MAX_SIDE + 1 and every
   architecture: None, or one sentence naming the network, never raw torch text.
2. A shape-only forward pass on PyTorch's meta device for a sample of sizes (all of the
   small ones, where networks break, then a stride, plus every boundary): wherever the
   sentence lets a size through, torch really takes it; just outside a declared limit,
   torch really refuses it, so the limits are tight and the sentences honest.
3. Real CPU forward passes at the boundaries of a few small networks, confirming what
   the meta device said, and the memory estimate at the largest size: a request over
   the budget is refused, with the estimate, before any model is built.
"""

from __future__ import annotations

import pytest
import torch

from explorer.analysis.memory_estimate import memory_refusal
from explorer.analysis.summary import summarize
from explorer.core.errors import UserError
from explorer.core.limits import REQUEST_MEMORY_BYTES
from explorer.core.memory import format_bytes
from explorer.core.shape_only import build_meta_model
from explorer.core.registry import ARCHITECTURES, ArchSpec, get_spec
from explorer.core.sizes import MAX_SIDE, InputSize, parse_input_size, size_problem
from explorer.runs import capture

TORCH_FRAGMENTS = (
    "Calculated output size", "mat1 and mat2", "Kernel size can't", "Output size is too small",
    "Expected more than 1 value", "RuntimeError", "Traceback", "shapes cannot be multiplied",
)
META = torch.device("meta")


def assert_plain(sentence: str) -> None:
    assert sentence.endswith(".") and "\n" not in sentence, sentence
    for fragment in TORCH_FRAGMENTS:
        assert fragment not in sentence, (fragment, sentence)


def boundaries(spec: ArchSpec) -> set[int]:
    sides = {spec.min_size - 1, spec.min_size, spec.min_size + 1, MAX_SIDE - 1}
    if spec.max_size is not None:
        sides |= {spec.max_size - 1, spec.max_size, spec.max_size + 1}
    return {side for side in sides if 1 <= side <= MAX_SIDE}


# How densely each network is sampled follows what its shape-only pass costs (a few
# milliseconds for the plain stacks, up to half a second for ResNet-152 on a busy machine).
# Every small size, where networks break, for the cheap ones; the deep ResNets and ResNeXts
# share their stem and stage strides with ResNet-18, which gets every small size, so they get
# the smallest sizes and the edges. Boundaries (min - 1, min, min + 1, max, max + 1, MAX_SIDE - 1)
# come on top for everyone; MAX_SIDE itself is run by the memory test below.
EVERY_SMALL_SIZE = {"toy_dense", "toy_conv", "lenet5", "alexnet", "vgg11", "vgg13", "vgg16", "vgg19", "resnet18"}
SOME_SMALL_SIZES = {"vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn", "inception_v3", "resnet34", "resnet50",
                    "resnext50_32x4d"}
SMALL_SAMPLE = {1, 2, 3, 7, 9, 17, 33, 65}


def sampled_sides(spec: ArchSpec) -> list[int]:
    """The sides to run: those the check accepts, plus the first refused one on each side of the range."""
    if spec.id in EVERY_SMALL_SIZE:
        sides = set(range(1, 65)) | set(range(65, MAX_SIDE, 97))
    elif spec.id in SOME_SMALL_SIZES:
        sides = SMALL_SAMPLE | {224}
    else:
        sides = {1, 2}
    sides |= boundaries(spec)
    refused_edges = {spec.min_size - 1} | ({spec.max_size + 1} if spec.max_size else set())
    # Sizes further out are refused by the sentence before torch sees them, whatever torch would do.
    return sorted(side for side in sides - {MAX_SIDE}
                  if side in refused_edges or size_problem(spec, InputSize(side, side)) is None)


def meta_pass(model: torch.nn.Module, spec: ArchSpec, height: int, width: int) -> None:
    with torch.no_grad():
        model(torch.empty(1, spec.in_channels, height, width, device=META))


def test_the_ui_offers_one_to_max_side_and_refuses_the_rest_in_a_sentence():
    assert parse_input_size(1, MAX_SIDE, 1) == InputSize(1, MAX_SIDE, 1)
    for height, width in ((0, 1), (MAX_SIDE + 1, 1), (1, MAX_SIDE + 1), (-1, 5)):
        with pytest.raises(UserError) as error:
            parse_input_size(height, width, 1)
        assert f"from 1 to {MAX_SIDE}" in str(error.value)
        assert_plain(str(error.value))


@pytest.mark.parametrize("spec", ARCHITECTURES, ids=lambda s: s.id)
def test_every_size_from_1_to_max_side_is_accepted_or_refused_in_the_networks_own_sentence(spec):
    accepted = []
    for side in range(1, MAX_SIDE + 1):
        problem = size_problem(spec, InputSize(side, side))
        if problem is None:
            accepted.append(side)
            continue
        assert_plain(problem)
        assert spec.name.lower() in problem.lower(), problem
        assert problem.endswith(f"you chose {side}×{side}.")
    assert accepted, "the network takes at least one size"
    # What is accepted is one unbroken range starting at the declared minimum.
    assert accepted == list(range(spec.min_size, (spec.max_size or MAX_SIDE) + 1))
    assert spec.min_size <= spec.default_size <= (spec.max_size or MAX_SIDE)


@pytest.mark.parametrize("spec", ARCHITECTURES, ids=lambda s: s.id)
def test_torch_takes_exactly_the_sizes_the_sentences_let_through(spec):
    model = build_meta_model(spec)
    for side in sampled_sides(spec):
        allowed = size_problem(spec, InputSize(side, side)) is None
        try:
            meta_pass(model, spec, side, side)
            ran = True
        except RuntimeError:
            ran = False
        assert ran == allowed, f"{spec.id} at {side}×{side}: torch {'ran' if ran else 'failed'}, the check says {allowed}"
    if spec.max_size is None and spec.id in EVERY_SMALL_SIZE:
        # Far from square: the shortest side the network takes against the longest the UI offers.
        meta_pass(model, spec, spec.min_size, MAX_SIDE - 1)
        meta_pass(model, spec, MAX_SIDE - 1, spec.min_size)


@pytest.mark.parametrize("spec", ARCHITECTURES, ids=lambda s: s.id)
def test_the_largest_size_runs_on_shapes_or_is_refused_over_the_memory_budget_with_the_estimate(spec):
    largest = spec.max_size or MAX_SIDE
    size = InputSize(largest, largest)
    totals = summarize(spec.id, size).totals  # the same shape-only pass, at MAX_SIDE
    refusal = memory_refusal(spec, size, totals)
    if totals.estimated_bytes > REQUEST_MEMORY_BYTES:
        assert refusal is not None and format_bytes(totals.estimated_bytes) in refusal
        assert refusal.endswith("choose a smaller input size.") and spec.name in refusal
        assert_plain(refusal)
        # The usual input still fits, so every page runs at the sidebar's default. (Where even
        # the largest size fits, the default does too: the estimate grows with the input.)
        default = InputSize(spec.default_size, spec.default_size)
        assert memory_refusal(spec, default, summarize(spec.id, default).totals) is None
    else:
        assert refusal is None


def test_the_budget_refuses_some_sizes_the_ui_offers():
    # Without this the previous test could pass with a budget nothing ever reaches. VGG-19-BN at
    # 1024×1024: its first convolution's output alone is 64 × 1024 × 1024 float32 = 268 MB, counted
    # once for the forward and once for the backward pass; fifteen more convolutions follow.
    totals = summarize("vgg19_bn", InputSize(MAX_SIDE, MAX_SIDE)).totals
    assert totals.estimated_bytes > REQUEST_MEMORY_BYTES
    assert totals.forward_backward_bytes > 2 * 64 * MAX_SIDE * MAX_SIDE * 4


@pytest.mark.parametrize("arch_id", ["toy_dense", "alexnet", "lenet5"])
def test_a_size_outside_the_limits_is_refused_by_summarize_in_the_networks_sentence(arch_id):
    spec = get_spec(arch_id)
    outside = spec.max_size + 1 if spec.max_size else spec.min_size - 1
    with pytest.raises(UserError) as error:
        summarize(arch_id, InputSize(outside, outside))
    assert str(error.value) == size_problem(spec, InputSize(outside, outside))


# Real forward passes at the edges, small networks only: what the meta device said is what the CPU does.
REAL_EDGES = [
    ("toy_dense", 4, 5, 6),
    ("toy_conv", 4, 5, 7),
    ("lenet5", 31, 35, 36),
    ("alexnet", 62, 63, None),
    ("resnet18", None, 1, None),
]


@pytest.mark.parametrize(("arch_id", "below", "edge", "above"), REAL_EDGES, ids=[e[0] for e in REAL_EDGES])
def test_real_cpu_passes_agree_at_the_edges(arch_id, below, edge, above):
    spec = get_spec(arch_id)
    torch.manual_seed(0)
    model = spec.build("cpu")
    with torch.no_grad():
        assert model(torch.rand(1, spec.in_channels, edge, edge)).shape == (1, spec.num_classes)
        for side in (below, above):
            if side is None:
                continue
            with pytest.raises(RuntimeError):
                model(torch.rand(1, spec.in_channels, side, side))
            # ...and the user never sees that RuntimeError: the check speaks first.
            assert_plain(size_problem(spec, InputSize(side, side)))


def test_a_page_refuses_a_request_over_the_budget_before_building_or_running_anything(app_test, monkeypatch):
    from explorer.core import registry

    built, captured = [], []
    real_build, real_capture = registry.ArchSpec.build, capture.run_on_image
    monkeypatch.setattr(registry.ArchSpec, "build", lambda self, *a, **k: built.append(self.id) or real_build(self, *a, **k))
    monkeypatch.setattr(capture, "run_on_image", lambda *a, **k: captured.append(1) or real_capture(*a, **k))
    at = app_test(query={"arch": "vgg19_bn", "h": str(MAX_SIDE), "w": str(MAX_SIDE)}, page="pages/feature-maps.py")
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "would need about" in errors[0] and "GB" in errors[0]
    assert_plain(errors[0])
    assert built == [] and captured == []


def test_no_summarised_model_outlives_its_table(monkeypatch):
    """torchinfo keeps the last summarised model in a module-level cache unless told not to; nothing may pile up."""
    import gc
    import weakref

    import torchinfo.torchinfo

    from explorer.analysis import summary

    built = []
    real_build = summary.build_meta_model
    monkeypatch.setattr(summary, "build_meta_model", lambda spec: built.append(real_build(spec)) or built[-1])
    tables = [summarize(arch_id, InputSize(64, 64)) for arch_id in ("resnet18", "vgg11", "alexnet")]
    models = [weakref.ref(model) for model in built]
    built.clear()
    gc.collect()
    assert torchinfo.torchinfo._cached_forward_pass == {}
    assert [ref() for ref in models] == [None, None, None], "a summarised model is still alive"
    assert all(len(table.calls) > 5 for table in tables)  # the tables themselves remain, as data
