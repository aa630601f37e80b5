"""Where models run: CUDA when this machine has it, the CPU always."""

import torch


def available_devices() -> list[str]:
    """Device names a user may choose, best first."""
    return (["cuda"] if torch.cuda.is_available() else []) + ["cpu"]


def default_device() -> str:
    return available_devices()[0]


def describe(device: str) -> str:
    """A human label such as 'CUDA (NVIDIA H100)' or 'CPU'."""
    if device == "cuda" and torch.cuda.is_available():
        return f"CUDA ({torch.cuda.get_device_name(0)})"
    return "CPU"
