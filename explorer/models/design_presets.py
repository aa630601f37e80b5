"""Designs a student can start from, as the plain data a design file holds.

- the lab's two toy networks on a 5×5 scoreboard digit (260 and 190 parameters, as
  ``explorer.models.lab`` builds them);
- LeNet-5 as the registry builds it (61,706 parameters);
- CNN Explainer's Tiny VGG: two blocks of two 3×3 convolutions with 10 filters and
  ReLU, then 2×2 max pooling, on a 64×64 colour picture (Wang et al., 2020);
- a small all-convolutional network: strided convolutions instead of pooling, a 1×1
  convolution to the classes and a global average (after Springenberg et al., 2015);
- a small residual network: a stem, three residual blocks, a global average.
"""

from __future__ import annotations


def _conv(out: int, kernel: int, **settings: int) -> dict:
    return {"type": "conv", "out": out, "kernel": kernel, **settings}


_RELU = {"type": "relu"}
_FLAT = {"type": "flatten"}


def _pool(kernel: int = 2) -> dict:
    return {"type": "maxpool", "kernel": kernel}


def _tiny_vgg_block() -> list[dict]:
    return [_conv(10, 3), _RELU, _conv(10, 3), _RELU, _pool()]


PRESETS: dict[str, dict] = {
    "toy_dense": {"input": [1, 5, 5], "classes": 10, "layers": [_FLAT, {"type": "linear", "out": 10}]},
    "toy_conv": {"input": [1, 5, 5], "classes": 10,
                 "layers": [_conv(4, 2), _pool(), _RELU, _FLAT, {"type": "linear", "out": 10}]},
    "lenet5": {"input": [1, 32, 32], "classes": 10,
               "layers": [_conv(6, 5), _RELU, _pool(), _conv(16, 5), _RELU, _pool(), _FLAT,
                          {"type": "linear", "out": 120}, _RELU, {"type": "linear", "out": 84}, _RELU,
                          {"type": "linear", "out": 10}]},
    "tiny_vgg": {"input": [3, 64, 64], "classes": 10,
                 "layers": [*_tiny_vgg_block(), *_tiny_vgg_block(), _FLAT, {"type": "linear", "out": 10}]},
    "all_conv": {"input": [1, 32, 32], "classes": 10,
                 "layers": [_conv(16, 3, padding=1), _RELU, _conv(16, 3, stride=2, padding=1), _RELU,
                            _conv(32, 3, padding=1), _RELU, _conv(32, 3, stride=2, padding=1), _RELU,
                            _conv(10, 1), {"type": "gap"}]},
    "small_resnet": {"input": [1, 32, 32], "classes": 10,
                     "layers": [_conv(16, 3, padding=1), {"type": "batchnorm"}, _RELU,
                                {"type": "residual", "out": 16}, {"type": "residual", "out": 32, "stride": 2},
                                {"type": "residual", "out": 64, "stride": 2}, {"type": "gap"},
                                {"type": "linear", "out": 10}]},
}

TITLES: dict[str, str] = {
    "toy_dense": "The lab's toy dense network",
    "toy_conv": "The lab's toy conv network",
    "lenet5": "LeNet-5",
    "tiny_vgg": "CNN Explainer's Tiny VGG",
    "all_conv": "A small all-convolutional network",
    "small_resnet": "A small residual network",
}
