"""Pictures that need no upload: real photos and handwritten digits shipped inside packages.

- Photos: the sample images inside scikit-image's and scikit-learn's wheels
  (a cat, a coffee cup, an astronaut, a rocket, ...), read as the files' own bytes.
- Handwritten digits: scikit-learn's scanned digits (``explorer.inputs.scans``), the first
  held-out example of each digit, so the digit-trained LeNet-5 is shown pictures it never trained on.
- Scoreboard digits: the 5×5 block digits of the lab's toy networks, the same ones
  the "Convolution by hand" page uses (``explorer.inputs.scoreboard``).

Every sample is returned as encoded image bytes, so it takes exactly the same
path through ``explorer.inputs.images`` as an uploaded file does.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

from explorer.inputs.png import grey_png
from explorer.inputs.scans import first_held_out_scans, scan_pixels
from explorer.inputs.scoreboard import DIGITS, scoreboard_pixels


@dataclass(frozen=True)
class Sample:
    key: str
    label: str
    kind: str  # "photo", "handwritten" or "scoreboard"
    answer: str | None = None  # the digit shown, where there is one


# (key, label, package folder, file name): files that ship inside the wheels.
_PHOTO_FILES = (
    ("chelsea", "Chelsea the cat", "skimage.data", "chelsea.png"),
    ("coffee", "A cup of coffee", "skimage.data", "coffee.png"),
    ("astronaut", "Astronaut Eileen Collins", "skimage.data", "astronaut.png"),
    ("rocket", "A rocket on the launch pad", "skimage.data", "rocket.jpg"),
    ("motorcycle", "A motorcycle", "skimage.data", "motorcycle_left.png"),
    ("camera", "The cameraman (greyscale)", "skimage.data", "camera.png"),
    ("china", "A temple in China", "sklearn.datasets.images", "china.jpg"),
    ("flower", "A flower", "sklearn.datasets.images", "flower.jpg"),
)

PHOTOS = tuple(Sample(key, label, "photo") for key, label, _, _ in _PHOTO_FILES)
HANDWRITTEN = tuple(Sample(f"handwritten_{d}", f"Handwritten {d}", "handwritten", str(d)) for d in range(10))
SCOREBOARD = tuple(Sample(f"scoreboard_{d}", f"Scoreboard {d}", "scoreboard", str(d)) for d in sorted(DIGITS))
_BY_KEY = {sample.key: sample for sample in PHOTOS + HANDWRITTEN + SCOREBOARD}


def get_sample(key: str) -> Sample:
    return _BY_KEY[key]


@functools.lru_cache(maxsize=32)
def sample_bytes(key: str) -> bytes:
    """The encoded image file for one sample."""
    sample = _BY_KEY[key]
    if sample.kind == "photo":
        package, name = next((pkg, name) for k, _, pkg, name in _PHOTO_FILES if k == key)
        return (resources.files(package) / name).read_bytes()
    if sample.kind == "handwritten":
        return grey_png(scan_pixels(first_held_out_scans()[sample.answer]))
    return grey_png(scoreboard_pixels(sample.answer))


def default_kind(in_channels: int, default_size: int) -> str:
    """The sample kind that suits a network: photos for colour nets, digits for the small grey ones."""
    if in_channels == 3:
        return "photo"
    return "scoreboard" if default_size <= 8 else "handwritten"


def samples_of(kind: str) -> tuple[Sample, ...]:
    return {"photo": PHOTOS, "handwritten": HANDWRITTEN, "scoreboard": SCOREBOARD}[kind]
