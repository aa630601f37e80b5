"""Every map method against a reference written here from its paper's equations, never from torchcam.

With A the layer's activation (channels k, positions i, j), g = ∂y/∂A for the class score y:

- Grad-CAM++ (Chattopadhyay et al., WACV 2018, eq. 19): α = g² / (2g² + Σ_ab A(a, b) · g³),
  w_k = Σ_ij α · ReLU(g), map = ReLU(Σ_k w_k A_k). A hand-sized two-channel case, with the
  numbers worked out here, has α of 1/6 and 1/10 where 1/(H·W) would be 1/4.
- LayerCAM (Jiang et al., IEEE TIP 2021): map = ReLU(Σ_k ReLU(g) · A).
- Score-CAM (Wang et al., CVPR Workshops 2020, Algorithm 1): each channel, min-max scaled
  to 0…1 and upsampled bilinearly to the picture, masks the picture; the channel's weight
  is the softmax over channels of the class score on its masked picture.
- SmoothGrad (Smilkov et al., 2017): the mean over 16 noisy copies (σ = 15 % of the
  picture's range, the noise drawn from a generator seeded 0) of max over colour of |∂y/∂x|.

CAMs are compared after min-max scaling to 0…1, the input-gradient maps after dividing by
their largest, as the app shows them. The networks: LeNet-5 with its digit weights and
ResNet-18 with a seeded random state dict, at sizes that keep Score-CAM's passes fast.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchcam.methods import GradCAMpp

from explorer.core.registry import get_spec
from explorer.runs import cams, gradients
from explorer.runs.gradcam_pp import GradCAMPlusPlus
from explorer.weights import loading
from tests.test_cams import digit, table

SMOOTH_SAMPLES, SMOOTH_NOISE, SMOOTH_SEED = 16, 0.15, 0


def activation_and_gradient(model: nn.Module, x: torch.Tensor, layer: str, target: int):
    """The layer's activation A and g = ∂(class score)/∂A, each (channels, h, w)."""
    kept = {}

    def keep(_module, _args, out):
        kept["a"] = out
        return out.clone()  # an in-place ReLU after the layer must not overwrite A

    handle = model.get_submodule(layer).register_forward_hook(keep)
    try:
        with torch.enable_grad():
            score = model(x.clone().requires_grad_(True))[0, target]
            (gradient,) = torch.autograd.grad(score, kept["a"])
    finally:
        handle.remove()
    return kept["a"][0].detach().double(), gradient[0].double()


def min_max(cam: torch.Tensor) -> np.ndarray:
    cam = cam - cam.min()
    return (cam / cam.max()).numpy()


def grad_cam_pp_weights(a: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Eq. 19 of Chattopadhyay et al. for every channel and position, then w_k = Σ_ij α · ReLU(g)."""
    weights = torch.zeros(a.shape[0], dtype=a.dtype)
    for k in range(a.shape[0]):
        total = a[k].sum()
        for i in range(a.shape[1]):
            for j in range(a.shape[2]):
                grad = g[k, i, j]
                denominator = 2 * grad ** 2 + total * grad ** 3
                alpha = grad ** 2 / denominator if denominator != 0 else 0.0
                weights[k] += alpha * torch.relu(grad)
    return weights


def grad_cam_pp_by_hand(model, x, layer, target) -> np.ndarray:
    a, g = activation_and_gradient(model, x, layer, target)
    return min_max(torch.relu((grad_cam_pp_weights(a, g)[:, None, None] * a).sum(dim=0)))


def layer_cam_by_hand(model, x, layer, target) -> np.ndarray:
    a, g = activation_and_gradient(model, x, layer, target)
    return min_max(torch.relu((torch.relu(g) * a).sum(dim=0)))


def score_cam_by_hand(model, x, layer, target) -> np.ndarray:
    kept = {}
    handle = model.get_submodule(layer).register_forward_hook(lambda _m, _a, out: kept.setdefault("a", out.clone()))
    with torch.no_grad():
        model(x)
        handle.remove()
        a = kept["a"][0]
        scores = []
        for channel in a:
            spread = channel.max() - channel.min()
            mask = (channel - channel.min()) / spread if spread > 0 else torch.zeros_like(channel)
            mask = F.interpolate(mask[None, None], size=x.shape[2:], mode="bilinear", align_corners=False)
            scores.append(model(x * mask)[0, target])
        weights = torch.softmax(torch.stack(scores).double(), dim=0)
    return min_max(torch.relu((weights[:, None, None] * a.double()).sum(dim=0)))


def smoothgrad_by_hand(model, x, target) -> np.ndarray:
    generator = torch.Generator().manual_seed(SMOOTH_SEED)
    sigma = SMOOTH_NOISE * float(x.max() - x.min())
    noise = torch.randn((SMOOTH_SAMPLES, *x.shape[1:]), generator=generator) * sigma
    total = torch.zeros(x.shape[2:], dtype=torch.float64)
    for sample in noise:
        noisy = (x + sample).requires_grad_(True)
        with torch.enable_grad():
            (gradient,) = torch.autograd.grad(model(noisy)[0, target], noisy)
        total += gradient[0].abs().amax(dim=0).double()
    mean = total / SMOOTH_SAMPLES
    return (mean / mean.max()).numpy()


BY_HAND = {"gradcampp": grad_cam_pp_by_hand, "layercam": layer_cam_by_hand, "scorecam": score_cam_by_hand}


def hand_sized_case() -> tuple[nn.Module, torch.Tensor]:
    """Two 2×2 channels as the input of a class score that is linear in them (so g is its weights)."""
    model = nn.Sequential()
    model.add_module("maps", nn.Identity())
    model.add_module("flat", nn.Flatten())
    model.add_module("score", nn.Linear(8, 1, bias=False))
    with torch.no_grad():
        model.score.weight.copy_(torch.tensor([[1.0, 1, 1, -1, 2, 2, 2, 2]]))
    return model, torch.tensor([[[[1.0, 2], [0, 1]], [[3, 0], [1, 0]]]])


def raw_map(extractor_class, model: nn.Module, a: torch.Tensor) -> np.ndarray:
    with extractor_class(model, target_layer="maps", input_shape=(2, 2, 2)) as extractor:
        scores = model(a.clone().requires_grad_(True))
        return extractor(class_idx=0, scores=scores, normalized=False)[0][0].numpy()


def test_the_hand_sized_case_where_alpha_is_not_one_over_the_positions():
    # Two 2×2 channels, both summing to 4; the class score is linear in them, so g is its weights:
    # channel 0 has g = 1 at three positions and −1 at the last, channel 1 has g = 2 everywhere.
    #   α(channel 0, g = 1) = 1 / (2 + 4·1) = 1/6      w_0 = 3 · 1/6 · 1 = 0.5   (the −1 is cut by ReLU(g))
    #   α(channel 1, g = 2) = 4 / (8 + 4·8) = 1/10     w_1 = 4 · 1/10 · 2 = 0.8
    # map = 0.5·[[1, 2], [0, 1]] + 0.8·[[3, 0], [1, 0]] = [[2.9, 1.0], [0.8, 0.5]].
    # With α = 1/(H·W) = 1/4 (any α that is never divided) the weights would be 0.75 and 2 (3 and 32).
    model, a = hand_sized_case()
    np.testing.assert_allclose(raw_map(GradCAMPlusPlus, model, a), [[2.9, 1.0], [0.8, 0.5]], rtol=1e-6)
    g = model.score.weight.detach().reshape(2, 2, 2).double()
    np.testing.assert_allclose(grad_cam_pp_weights(a[0].double(), g).numpy(), [0.5, 0.8], rtol=1e-12)


def test_torchcams_own_grad_cam_pp_still_leaves_alpha_undivided():
    # When this fails, torchcam has mended GradCAMpp: check it against the case above and drop
    # explorer.runs.gradcam_pp. Undivided, α is g², so w_0 = 3 · 1² · 1 = 3 and w_1 = 4 · 2² · 2 = 32:
    # map = 3·[[1, 2], [0, 1]] + 32·[[3, 0], [1, 0]] = [[99, 6], [32, 3]].
    model, a = hand_sized_case()
    np.testing.assert_allclose(raw_map(GradCAMpp, model, a), [[99, 6], [32, 3]], rtol=1e-6)


@pytest.mark.parametrize("method", ["gradcampp", "layercam", "scorecam"])
@pytest.mark.parametrize("layer", ["features.3", "features"])
def test_lenet5_maps_are_their_papers_equations(method, layer):
    spec = get_spec("lenet5")
    model = loading.build(spec, "digits").requires_grad_(False)
    x = digit()
    ours = cams.class_activation_map(spec, model, x, table("lenet5"), method, layer, target=3)
    expected = BY_HAND[method](model, x, layer, 3)
    assert ours.map.shape == expected.shape == ((10, 10) if layer == "features.3" else (5, 5))
    np.testing.assert_allclose(ours.map, expected, atol=1e-5)


@pytest.mark.parametrize("method", ["gradcampp", "layercam", "scorecam"])
def test_resnet18_maps_are_their_papers_equations(method):
    spec = get_spec("resnet18")
    torch.manual_seed(0)
    model = spec.build().requires_grad_(False)
    torch.manual_seed(1)
    x = torch.randn(1, 3, 96, 96)
    ours = cams.class_activation_map(spec, model, x, table("resnet18", 96), method, "layer3", target=281,
                                     batch_size=64)
    expected = BY_HAND[method](model, x, "layer3", 281)
    assert ours.map.shape == expected.shape == (6, 6)
    np.testing.assert_allclose(ours.map, expected, atol=1e-4)


@pytest.mark.parametrize("arch_id", ["lenet5", "resnet18"])
def test_smoothgrad_is_its_papers_mean_over_seeded_noise(arch_id, monkeypatch):
    if arch_id == "resnet18":
        # ResNet-18's float32 convolutions round a batch of two copies differently from one copy at a time,
        # and the ReLUs of a random network turn that into differences of 1e-3 in the map: the batch size
        # is arithmetic, not the method, so here the app takes the copies one at a time as the reference does.
        monkeypatch.setattr(gradients, "_SMOOTH_BATCH", 1)
    spec = get_spec(arch_id)
    torch.manual_seed(0)
    model = (loading.build(spec, "digits") if arch_id == "lenet5" else spec.build()).requires_grad_(False)
    x = digit() if arch_id == "lenet5" else torch.rand(1, 3, 64, 64)
    ours = gradients.saliency(spec, model, x, target=3, smooth=True, seed=SMOOTH_SEED)
    assert (gradients.SMOOTH_SAMPLES, gradients.SMOOTH_NOISE) == (SMOOTH_SAMPLES, SMOOTH_NOISE)
    np.testing.assert_allclose(ours.map, smoothgrad_by_hand(model, x, 3), atol=1e-5)
