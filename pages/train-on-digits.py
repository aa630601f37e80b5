"""Train on the digits: a real learning run, live, in this session's private training copy.

Where Training step shows one update on one picture, this page shows what training
is for: the network of the sidebar learns scikit-learn's 1,437 training scans in
mini-batches and is checked on the 360 held-out scans it never learns from. A
background thread trains (``ui.panels.learning_run``); a fragment redraws the progress,
the curves and the first filters about once a second while it runs, so Stop and
every other widget stay live. All keys of this page start with "dg_".
"""

from __future__ import annotations

import streamlit as st

from explorer.analysis.memory_estimate import memory_refusal
from explorer.core.errors import UserError
from explorer.core.memory import format_bytes
from explorer.core.sizes import InputSize, size_problem
from explorer.figures import descriptions
from explorer.figures import learning as charts
from explorer.inputs.digit_sets import DRAWN_PER_DIGIT, digit_side
from explorer.runs.augment import MAX_SHIFT
from explorer.runs.learning import BATCH_SIZES, GIANT_UPDATE, MAX_EPOCHS, RECIPE, SCHEDULES
from explorer.runs.learning_thread import Worker, live_runs, training_slots
from explorer.runs.optimisers import OPTIMIZERS, RATES
from explorer.runs.progress import GOAL_ACCURACY, Progress
from explorer.weights import catalogue
from ui.caches.networks import cached_layer_table, stop_if
from ui.frame import keep_in_frame
from ui.panels import design_training
from ui.panels.learning_run import copy_bytes, held_run, keep_going_for, new_run, run_key
from ui.selection.sidebar import current_selection
from ui.widgets.images import picture

keep_in_frame()  # Streamlit's first-link lookup may run this file alone: the frame then draws it (ui/frame.py)

SCHEDULE_LABELS = {"constant": "Constant", "one-cycle": "One cycle"}
DEFAULT_RATE = RECIPE["learning_rate"]  # the recipe with which LeNet-5 beats the classic baselines (benchmarks/LEARNING.md)


def poll_seconds() -> float:
    """How often the live view redraws: every second, slower when many students train at once.

    A redraw costs the server about 40 ms (two curves and the filter image); thirty students
    watching every second would take over a core from the runs themselves.
    """
    return min(5.0, max(1.0, live_runs() / 4))


def settings_panel(selection, running: bool) -> dict:
    """The run's settings; those that make a new run are locked while it trains."""
    starts = {catalogue.RANDOM: "Random weights"}
    if selection.weights != catalogue.RANDOM:
        starts["chosen"] = f"The sidebar's weights ({catalogue.LABELS[selection.weights]})"
    if st.session_state.get("dg_start") not in starts:
        st.session_state["dg_start"] = catalogue.RANDOM
    if st.session_state.get("dg_rate") not in RATES:
        st.session_state["dg_rate"] = DEFAULT_RATE
    left, right = st.columns(2)
    start = left.radio("Start from", list(starts), format_func=starts.get, key="dg_start", disabled=running)
    batch = left.select_slider("Mini-batch size", BATCH_SIZES, value=RECIPE["batch"], key="dg_batch", disabled=running)
    drawn = left.toggle(f"Add {DRAWN_PER_DIGIT * 10:,} digits drawn by program", key="dg_drawn", disabled=running,
                        help="Drawings made like the canvas's, in the shapes the shipped LeNet-5 learnt from.")
    optimizer = right.radio("Optimiser", list(OPTIMIZERS), index=2, format_func=OPTIMIZERS.get, horizontal=True,
                            key="dg_optimizer", disabled=running)
    rate = right.select_slider("Learning rate (log scale)", RATES, key="dg_rate", disabled=running,
                               format_func=lambda r: f"{r:g}")
    epochs = right.number_input("Epochs (passes over the training pictures)", min_value=1, max_value=MAX_EPOCHS,
                                value=RECIPE["epochs"], key="dg_epochs", disabled=running)
    schedule = right.radio("Learning-rate schedule", SCHEDULES, index=SCHEDULES.index(RECIPE["schedule"]),
                           format_func=SCHEDULE_LABELS.get, horizontal=True, key="dg_schedule", disabled=running,
                           help="One cycle warms the rate up over the first 30% of the planned batches, then cools "
                                "it far below its start: early batches cannot wreck the random start, late ones polish.")
    shift = left.slider("Move each training picture by up to (pixels)", 0, MAX_SHIFT, value=RECIPE["shift"],
                        key="dg_shift", disabled=running,
                        help="Light augmentation: a digit moved a few pixels is the same digit, so the network "
                             "learns strokes rather than places. Never more than an eighth of the picture's side.")
    return {"start": start, "batch": int(batch), "drawn": bool(drawn), "optimizer": optimizer, "rate": float(rate),
            "epochs": epochs, "schedule": schedule, "shift": int(shift)}


def act(worker: Worker | None, progress: Progress | None, selection, key, side: int, settings: dict) -> None:
    """The buttons: Start (or Continue, or more epochs), Stop and Reset, with stable keys so a second click counts."""
    running = worker is not None and worker.is_running
    fresh = progress is None or (progress.batches_done == 0 and progress.status in ("ready", "failed"))
    more = f"Train {settings['epochs']} more epoch{'s' if settings['epochs'] > 1 else ''}"
    label = "Start" if fresh else more if progress.finished else "Continue"
    go, stop, reset = st.columns([2, 1, 1])
    pressed_go = go.button(label, type="primary", key="dg_go", disabled=running, width="stretch")
    pressed_stop = stop.button("Stop", key="dg_stop", disabled=not running, width="stretch")
    pressed_reset = reset.button("Reset", key="dg_reset", disabled=worker is None or running, width="stretch",
                                 help="Back to the starting weights; the curves start again.")
    try:
        if pressed_stop:
            sentence = worker.stop() if worker is not None else "There is no run to stop yet; press Start."
            if sentence:
                st.info(sentence)
        elif pressed_reset and worker is not None:
            worker.stop()
            worker.join(timeout=10)
            worker.run.reset()
        elif pressed_go:
            if worker is None or fresh:
                worker = new_run(selection, key, side, settings["start"], settings) if worker is None else worker
                if worker is None:
                    return  # the budget's sentence is on the page; the settings stay as they are
                worker.run.plan(settings["epochs"])
            elif progress.finished:
                worker.run.plan_more(settings["epochs"])
            worker.run.configure(settings["optimizer"], settings["rate"], settings["schedule"], settings["shift"])
            worker.start(keep_going_for(key))
    except UserError as error:
        st.warning(str(error))
        return
    if pressed_go or pressed_reset:
        st.rerun()  # draw the buttons and the live view for the new state


def show_progress(progress: Progress, worker: Worker, held_out_count: int) -> None:
    done, planned = progress.epochs_done, max(progress.epochs_planned, 1)
    status = {"preparing": "Preparing the pictures (a few seconds, once per network and size; Stop takes effect "
                           "when they are ready)…",
              "waiting": f"Waiting for a turn: {live_runs()} runs share this server's "
                         f"{training_slots()} training slot{'s' if training_slots() > 1 else ''}…"}
    text = status.get(progress.status, f"Epoch {done:.1f} of {progress.epochs_planned}")
    st.progress(min(done / planned, 1.0), text=text)
    accuracy = progress.held_out_accuracy
    cols = st.columns(4)
    cols[0].metric("Held-out accuracy", "—" if accuracy is None else f"{accuracy:.1%}")
    cols[1].metric("Epochs done", f"{done:.1f}")
    goal = progress.seconds_to_goal
    cols[2].metric(f"Time to {GOAL_ACCURACY:.0%}", "—" if goal is None else f"{goal:.1f} s",
                   help="Training time only: waiting for a turn and preparing the pictures do not count.")
    cols[3].metric("Training time", f"{progress.seconds:.1f} s")
    if progress.message:
        (st.warning if progress.status == "failed" else st.info)(progress.message)
    left, right = st.columns(2)
    left.plotly_chart(charts.loss_curve(progress), width="stretch", key="dg_loss")
    curves, levels = design_training.comparisons(worker.run.spec)
    right.plotly_chart(charts.accuracy_curve(progress, held_out_count, curves, levels), width="stretch",
                       key="dg_accuracy")
    summary = descriptions.learning_text(progress)
    if summary:
        st.caption(summary)
    with right:
        design_training.describe(worker.run.spec)
    filters = charts.filter_rows(progress)
    if filters is not None:
        alt = descriptions.filters_text(worker.run.first_conv_name, charts.FILTERS_SHOWN, ["the start of the run", "now"])
        picture(filters, alt, width=640, caption=f"The first convolution's first filters ({worker.run.first_conv_name}, averaged over "
                 "input channels): at the start of the run (top) and now (bottom). Red is negative, blue positive, "
                 "white zero; each row on its own scale.")
    else:
        st.caption("This network has no convolution, so there are no filters to show.")


def live_view(worker: Worker) -> None:
    """Redrawn alone about once a second while the thread trains; one full rerun when it stops."""
    running = worker.is_running

    @st.fragment(run_every=poll_seconds() if running else None)
    def view() -> None:
        progress = worker.snapshot()
        st.session_state["dg_last"] = (st.session_state.get("dg_key"), progress)
        held_out_count = len(worker.run.data.test_labels) if worker.run.data is not None else 360
        show_progress(progress, worker, held_out_count)
        if running and not worker.is_running:
            st.rerun(scope="app")  # the buttons change and the timer stops

    view()


def explain(spec, side: int, batch: int) -> None:
    with st.expander("How this run trains, and what it holds on the server"):
        st.markdown(
            "- **Data.** The 1,797 scans of scikit-learn's digits (8×8 pixels, 17 grey levels) are split once, "
            "stratified: 1,437 to learn from, 360 held out. Every picture takes the app's own path to the "
            "network, as on Feature maps. The drawn digits are made like drawings on the canvas.\n"
            "- **One epoch** is one pass over the training pictures in a fresh random order, one optimiser "
            "step per mini-batch. The held-out accuracy is measured four times an epoch with the network in "
            "evaluation mode (BatchNorm's running statistics, no dropout), as it predicts on the other pages.\n"
            f"- **A giant learning rate** cannot wreck what was learnt: a batch whose update is larger than the "
            f"weights themselves (‖Δw‖/‖w‖ > {GIANT_UPDATE:g}) or whose loss is not a number is undone, and the "
            "run stops with a sentence.\n"
            "- **Time to 90%** counts training time only, not waiting for a turn or preparing the pictures."
        )
        st.caption(f"This run holds about {format_bytes(copy_bytes(spec, side, batch))} of the server's training "
                   "memory (weights, gradients, the weights before the last batch, Adam's two averages and one "
                   "batch's activations). Each student holds one training copy: starting a run here replaces the "
                   "copy of Training step, and opening Training step replaces this run.")


selection = current_selection()
spec = selection.spec
side = digit_side(spec)
st.title(f"Train on the digits · {spec.name}")
st.caption(f"A real learning run: {spec.name} learns scanned handwritten digits in mini-batches, "
           "and is checked all along on held-out scans it never learns from.")
notice = st.session_state.pop("dg_notice", None)
if notice:
    st.info(notice)
previous = st.session_state.get("dg_key")
held = held_run(previous) if previous else None
settings = settings_panel(selection, held is not None and held.is_running)
key = run_key(selection, side, settings["start"], settings["batch"], settings["drawn"])
if held is not None and held.is_running and key != previous:
    # The sidebar moved on (another network, device or weights): the old run must not go on unseen.
    held.stop()
    st.session_state["dg_notice"] = (f"The run of {held.run.spec.name} stopped because the sidebar changed; "
                                     "choose the same settings again and press Continue to go on.")
    st.session_state["dg_key"] = key
    st.rerun()
st.session_state["dg_key"] = key
size = InputSize(side, side, settings["batch"])
stop_if(size_problem(spec, size)
        or memory_refusal(spec, size, cached_layer_table(spec.id, side, side, settings["batch"]).totals))
worker = held_run(key)
sidebar_size = selection.size.label
st.caption(
    f"{spec.name} learns at {side}×{side}" + (f" (not the sidebar's {sidebar_size}, which the other pages use)"
                                               if sidebar_size != f"{side}×{side}" else "")
    + (", grey repeated to its three colour channels" if spec.in_channels == 3 else "")
    + (f"; its first ten of {spec.num_classes:,} outputs stand for the digits 0–9" if spec.num_classes > 10 else "")
    + ". Each epoch it sees every training picture once, shuffled, in mini-batches; the held-out accuracy is "
    "checked four times an epoch."
)
act(worker, worker.snapshot() if worker else None, selection, key, side, settings)
if worker is not None:
    live_view(worker)
    design_training.weights_download(spec, worker)
else:
    last = st.session_state.get("dg_last")
    if last is not None and last[0] == key:
        st.info("This run's training copy is no longer held (each student holds one copy at a time, and opening "
                "Training step, or a long pause, lets it go); Start begins again.")
        if last[1].held_out_points:
            st.plotly_chart(charts.accuracy_curve(last[1], 360), width="stretch", key="dg_old_accuracy")
    else:
        st.info(f"Press Start: {spec.name} begins learning from its starting weights, and the curves fill in live.")
explain(spec, side, settings["batch"])
