"""Architectures that torchvision does not ship: the lab's two toy networks and LeNet-5."""

from explorer.models.lab import LeNet5, ToyConvNet, ToyDenseNet

__all__ = ["LeNet5", "ToyConvNet", "ToyDenseNet"]
