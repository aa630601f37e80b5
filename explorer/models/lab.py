"""The small networks of the lab: two toys that read a 5×5 scoreboard digit, and LeNet-5.

Everything larger comes from torchvision's own builders; only these three are
written here, because no maintained library ships them.
"""

import torch
from torch import nn


class ToyDenseNet(nn.Module):
    """Every one of the 25 pixels wired to every one of the 10 digit classes."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(5 * 5, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.flatten(x))


class ToyConvNet(nn.Module):
    """Four shared 2×2 filters instead of 250 private weights, then a small classifier.

    A 5×5 input becomes four 4×4 maps, max pooling halves them to 2×2, and the
    4 × 2 × 2 = 16 values feed one fully-connected layer.
    """

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels=1, out_channels=4, kernel_size=2, stride=1)
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.relu = nn.ReLU()
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(4 * 2 * 2, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.pool(self.conv(x)))
        return self.fc(self.flatten(x))


class LeNet5(nn.Module):
    """LeNet-5 as it is usually taught today (LeCun et al., 1998, modernised).

    The 1998 network used scaled tanh units, trainable average-style subsampling
    and a partially connected C3 layer; the common modern reading, used here,
    keeps its shape (32×32 in, 6 and 16 maps of 5×5 filters, 120-84-10 classifier)
    with ReLU and max pooling, which is what the lab builds.
    """

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2),
            nn.Conv2d(6, 16, kernel_size=5),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2),
        )
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential(
            nn.Linear(16 * 5 * 5, 120),
            nn.ReLU(),
            nn.Linear(120, 84),
            nn.ReLU(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.flatten(self.features(x)))
