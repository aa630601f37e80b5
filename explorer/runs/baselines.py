"""The classic baselines of the digits: logistic regression and an SVM, fitted by scikit-learn on the same split.

They read the 8×8 scans as 64 grey levels (0–16), the 1,437 training scans of the
fixed split (``explorer.inputs.scans``), and are scored on the same 360 held-out
scans as every network here, so a learning curve can be drawn against them. Fitting
both takes about a second, once per server (cached).
"""

from __future__ import annotations

import functools

import numpy as np

from explorer.inputs.scans import scan_split

NAMES = {"logistic_regression": "Logistic regression", "svm": "SVM (RBF kernel, γ = 0.001)"}


@functools.lru_cache(maxsize=1)
def baseline_accuracies() -> dict[str, float]:
    """Held-out accuracy of each baseline, by key of ``NAMES``."""
    from sklearn.linear_model import LogisticRegression  # imported here: scikit-learn takes a second
    from sklearn.svm import SVC

    split = scan_split()
    scans = split["scans"].reshape(len(split["scans"]), -1).astype(np.float64)
    labels = split["labels"]
    train, test = split["train"], split["test"]
    models = {"logistic_regression": LogisticRegression(max_iter=2000), "svm": SVC(gamma=0.001)}
    return {key: float(model.fit(scans[train], labels[train]).score(scans[test], labels[test]))
            for key, model in models.items()}
