"""scikit-learn's 1,797 scanned handwritten digits, and the fixed split the digit networks keep to.

The scans (8×8 pixels, 17 grey levels, bright ink on black: Alpaydin & Kaynak's UCI
"optdigits" set) ship inside scikit-learn's wheel, so nothing is downloaded. The
stratified 80/20 split is fixed by its seed: the 360 held-out scans never change,
and no network trained here has seen them.
"""

from __future__ import annotations

import functools

import numpy as np

from explorer.inputs.png import grey_png

SPLIT_SEED = 0  # scikit-learn's train_test_split(random_state=...): the held-out scans never change
TEST_SHARE = 0.2


def scan_pixels(scan: np.ndarray) -> np.ndarray:
    """One scan's grey levels 0–16 as uint8 0–255."""
    return np.rint(scan / 16 * 255).astype(np.uint8)


def scan_png(scan: np.ndarray) -> bytes:
    """One scan as the PNG the app's "Handwritten digit" samples are."""
    return grey_png(scan_pixels(scan))


@functools.lru_cache(maxsize=1)
def scan_split() -> dict[str, np.ndarray]:
    """Indices of the fixed stratified train/test split of scikit-learn's digits, and all labels."""
    from sklearn.datasets import load_digits  # imported here: scikit-learn takes a second to import
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    train, test = train_test_split(
        np.arange(len(digits.target)), test_size=TEST_SHARE, stratify=digits.target, random_state=SPLIT_SEED
    )
    return {"train": np.sort(train), "test": np.sort(test), "labels": digits.target, "scans": digits.images}


def first_held_out_scans() -> dict[str, np.ndarray]:
    """The first scan of each digit ("0".."9") among the held-out ones: examples LeNet-5 never trained on."""
    split = scan_split()
    test = split["test"]
    return {str(d): split["scans"][test[split["labels"][test] == d][0]] for d in range(10)}
