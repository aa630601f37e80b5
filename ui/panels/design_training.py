"""Train on the digits, for "Your network": what its curve is measured against, and its weights to take home.

- Against: LeNet-5's held-out curve under the learning recipe (``ui.caches.reference_curve``,
  trained once per server) and the two classic baselines of the same split as flat lines
  (``explorer.runs.baselines``, fitted once per server).
- Take home: after a run, the trained state dict, whose names are those of the exported code
  (``layers.<row>.…``), so ``YourNetwork().load_state_dict(..., strict=True)`` takes it.
"""

from __future__ import annotations

import io

import streamlit as st
import torch

from explorer.analysis.design_spec import PREFIX
from explorer.core.registry import ArchSpec
from explorer.runs.baselines import NAMES, baseline_accuracies
from explorer.runs.learning_thread import Worker
from ui.caches.reference_curve import reference_run

REFERENCE_NAME = "LeNet-5 (the learning recipe)"


def is_design(spec: ArchSpec) -> bool:
    return spec.id.startswith(PREFIX)


def comparisons(spec: ArchSpec) -> tuple[dict | None, dict | None]:
    """(curves, levels) for the held-out chart: for a design, LeNet-5's curve and the baselines; else nothing."""
    if not is_design(spec):
        return None, None
    baselines = baseline_accuracies()
    return ({REFERENCE_NAME: reference_run().points()},
            {NAMES[key]: accuracy for key, accuracy in baselines.items()})


def describe(spec: ArchSpec) -> None:
    """One line under the chart about what it is compared with."""
    if is_design(spec):
        growing = "" if reference_run().finished else " (still being trained once for this server, so it grows)"
        st.caption(f"Grey: LeNet-5 trained from random weights with the app's learning recipe{growing}. "
                   "Dashed: logistic regression and an SVM fitted by scikit-learn on the same 1,437 scans, "
                   "scored on the same 360.")


def weights_download(spec: ArchSpec, worker: Worker) -> None:
    """After a run of a design: its trained state dict, for the exported code."""
    if not is_design(spec) or worker.is_running:
        return
    progress = worker.snapshot()
    if progress.batches_done == 0:
        return
    buffer = io.BytesIO()
    with worker.run.lock:
        torch.save({name: tensor.detach().cpu().clone() for name, tensor in worker.run.model.state_dict().items()},
                   buffer)
    st.download_button("Download the trained weights (state dict)", buffer.getvalue(), file_name="your_network.pt",
                       mime="application/octet-stream", icon=":material/download:", key="dg_design_weights",
                       help="Loads into the code from Build a network: "
                            "model.load_state_dict(torch.load('your_network.pt', weights_only=True), strict=True)")
