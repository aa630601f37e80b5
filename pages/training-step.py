"""Training step: forward, cross-entropy against a chosen class, backward, one optimiser step, made visible.

Each browser session trains its own copy of the network (``explorer.runs.training.Trainer``),
made once per architecture, input size, device and weights and held in the server's one
bounded store (``ui.caches.training_copies``), sized for the chosen optimiser; the server's
shared model is only read. All keys of this page start with "train_".
"""

from __future__ import annotations

import streamlit as st

from explorer.core.memory import format_bytes
from explorer.core.registry import ArchSpec
from explorer.inputs import samples
from explorer.runs import training
from explorer.weights import catalogue
from explorer.classroom.budget import training_bytes
from ui.caches.networks import cached_layer_table, run_problem, stop_if
from ui.caches.training_copies import private_copy, session_owner
from ui.classroom import follow
from ui.frame import keep_in_frame
from ui.panels import step_checks
from ui.panels import step_view
from ui.selection.pictures import SOURCES as ALL_SOURCES
from ui.selection.pictures import picture_or_last_good, turn_for_picture, uploaded_picture
from ui.selection.record import Selection
from ui.selection.sidebar import current_selection
from ui.selection.weights_panel import selected_model
from ui.widgets.images import picture

keep_in_frame()  # Streamlit's first-link lookup may run this file alone: the frame then draws it (ui/frame.py)

SOURCES = {key: label for key, label in ALL_SOURCES.items() if key != "draw"}
RATES = list(training.RATES)  # a log scale; the top values exist to show what a giant step does


def private_trainer(selection: Selection) -> training.Trainer | None:
    """This session's trainer, held in the server's bounded store (one copy per session at most).

    A new architecture, size, device or weights replace it. None when the server's training
    memory is full: the budget's sentence is on the page and the settings stay as they are.
    """
    spec, size = selection.spec, selection.size
    key = (spec.id, size.height, size.width, selection.device, selection.weights_key)
    if st.session_state.get("train_key") != key:
        for name in ("train_history", "train_last", "train_start_loss", "train_charts"):
            st.session_state.pop(name, None)
        st.session_state["train_key"] = key
        st.session_state["train_history"] = []
    st.session_state["train_owner"] = session_owner()  # where the store keeps this session's copy
    model = selected_model(selection)
    parameter_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    activations = cached_layer_table(spec.id, size.height, size.width, 2).totals.forward_backward_bytes
    optimizer = st.session_state.get("train_optimizer", "sgd")

    def make() -> training.Trainer:
        with st.spinner(f"Making this session's private copy of {spec.name}…"):
            return training.Trainer(spec, model)

    return private_copy(key, f"{spec.name} at {size.label}", training_bytes(parameter_bytes, optimizer, activations),
                        make, settings=training.OPTIMIZERS.get(optimizer, optimizer))


def pick_picture(spec: ArchSpec) -> tuple[bytes | None, samples.Sample | None]:
    if st.session_state.get("train_source") not in SOURCES:
        st.session_state["train_source"] = samples.default_kind(spec.in_channels, spec.default_size)
    source = st.radio("Picture", list(SOURCES), format_func=SOURCES.get, horizontal=True, key="train_source")
    if source == "upload":
        return uploaded_picture("A picture (JPEG, PNG, WebP, BMP or GIF)", "train_upload"), None
    choices = samples.samples_of(source)
    key = st.selectbox("Which one", [s.key for s in choices], key=f"train_{source}",
                       format_func=lambda k: samples.get_sample(k).label)
    return samples.sample_bytes(key), samples.get_sample(key)


def pick_target(spec: ArchSpec, sample: samples.Sample | None, names: list[str]) -> int:
    # A new picture proposes its own class (a digit's value); the user's choice stands until then.
    picture = sample.key if sample else "upload"
    if st.session_state.get("train_target_for") != picture or st.session_state.get("train_target") not in range(len(names)):
        st.session_state["train_target"] = training.default_target(spec, sample)
        st.session_state["train_target_for"] = picture
    return st.selectbox("Target class (the label the loss compares with)", range(len(names)), key="train_target",
                        format_func=lambda i: f"{i}: {names[i]}")


def run_steps(trainer: training.Trainer, tensor, target: int, count: int, held) -> None:
    history = st.session_state["train_history"]
    bar = st.progress(0.0, text=f"Taking {count} steps…") if count > 1 else None
    done = []
    before = step_checks.before_steps(trainer, held)

    def record(result: training.StepResult) -> None:
        if not history:
            st.session_state["train_start_loss"] = result.loss_before
        history.append((result.step, result.loss_after))
        st.session_state["train_last"] = result
        done.append(result)
        if bar is not None:
            bar.progress(len(done) / count, text=f"Step {result.step}: loss {result.loss_after:.4g}")

    try:
        trainer.take_steps(tensor, target, count, on_step=record)
    except training.Diverged as error:
        st.session_state["train_error"] = str(error)
    step_checks.after_steps(trainer, held, before, done)
    if bar is not None:
        bar.empty()


def starting_weights(selection: Selection) -> str:
    if selection.weights == catalogue.RANDOM:
        return ("The weights start random (choose trained weights in the sidebar to start from those), "
                "so the network learns this one picture and nothing general.")
    return (f"The weights start from the {catalogue.LABELS[selection.weights]} weights chosen in the sidebar; "
            "steps on one picture pull them towards that picture, and Reset brings them back.")


def explain_care(spec: ArchSpec, trainer: training.Trainer) -> None:
    with st.expander("How this page trains, and the networks that need care"):
        st.markdown(
            "- **One picture, one label.** Each step: forward pass, cross-entropy against the target class, "
            f"`backward()`, one optimiser step — the lab's last exercise. {starting_weights(selection)}\n"
            "- **BatchNorm.** In training mode BatchNorm normalises each channel with the mean and spread of the "
            "batch; one picture has no spread where a map is 1×1 pixel, and PyTorch refuses. Networks with BatchNorm "
            "therefore train on a batch of two: the picture and its mirror image. Their running statistics are left "
            "unchanged, and the loss and probabilities shown are those of the picture itself.\n"
            "- **Inception v3** returns a second, auxiliary prediction in training mode. As in its paper, the step "
            "minimises main loss + 0.4 × auxiliary loss; the loss shown is the main one. Below 299×299 the auxiliary "
            "head's maps are too small to run, so this session's copy drops it and learns from the main loss alone.\n"
            "- **Dropout** switches random units off in every training pass, so two passes differ even without "
            "a step. It is off unless you switch it on; the loss before and after is always measured with it off.\n"
            "- **Divergence.** A learning rate so large that the loss becomes NaN or infinite stops the run and puts "
            "the weights back to their last finite values. Very large rates on one picture often send the loss "
            "to 0 first: the update overshoots so far that the target class wins outright.\n"
            "- **Momentum and Adam** remember earlier steps; changing optimiser or pressing Reset forgets them."
        )
        params = sum(p.numel() * p.element_size() for p in trainer.model.parameters())
        st.caption(
            f"Memory: this session holds one private copy of {spec.name} ({format_bytes(params)} of weights), "
            "plus as much again for gradients, for the last finite weights and, with momentum or Adam, for the "
            "optimiser's memory. Changing the architecture, size or device replaces the copy."
        )


selection = current_selection()
spec, size = selection.spec, selection.size
st.title(f"Training step · {spec.name}")
st.caption("What one step of gradient descent does to every layer: forward, loss, backward, update.")
stop_if(run_problem(selection, batch=2))  # BatchNorm networks train on the picture and its mirror

names = catalogue.class_names(spec, selection.weights)
if follow.following():  # a class: the teacher's last step, and no copy of this student's own
    step_view.show_teachers_steps(names)
    st.stop()
step_view.take_back_own()
trainer = private_trainer(selection)
if selection.weights == catalogue.DIGITS:
    st.caption(catalogue.digits_sentence(spec))
picture_col, settings_col = st.columns([1, 1])
with settings_col:  # first, so that the settings stay on the page while a new picture waits
    optimizer = st.radio("Optimiser", list(training.OPTIMIZERS), format_func=training.OPTIMIZERS.get,
                         horizontal=True, key="train_optimizer")
    if st.session_state.get("train_rate") not in RATES:
        st.session_state["train_rate"] = training.LAB_LEARNING_RATE
    rate = st.select_slider("Learning rate (log scale)", RATES, key="train_rate",
                            format_func=lambda r: f"{r:g} ← the lab's" if r == training.LAB_LEARNING_RATE else f"{r:g}")
    has_dropout = trainer is not None and trainer.has_dropout
    dropout = st.toggle("Dropout during training", key="train_dropout", disabled=not has_dropout,
                        help="Only networks with dropout layers have anything to switch.") and has_dropout
    count = st.number_input("N (for “Take N steps”)", min_value=2, max_value=100, value=10, key="train_count")
    if trainer is not None:
        trainer.configure(optimizer, rate, dropout)
    one, many, reset = st.columns(3)
    take_one = one.button("Take one step", type="primary", key="train_one", disabled=trainer is None)
    take_many = many.button(f"Take {count} steps", key="train_many", disabled=trainer is None)
    if trainer is None:
        reset.button("Try again", key="train_retry", help="Ask the server for a training copy again.")
    elif reset.button("Reset", key="train_reset", help="Back to the starting weights; the loss curve starts again."):
        trainer.reset()
        st.session_state["train_history"] = []
        for name in ("train_last", "train_charts"):  # the step's charts go with it
            st.session_state.pop(name, None)
        step_checks.forget()
with picture_col:
    data, sample = pick_picture(spec)

# A new picture's decoding and the first steps on it wait their turn in the server's line. A picture that
# cannot be read stops the page here, and leaving the with leaves the line.
with turn_for_picture(selection, data):
    with picture_col:
        _, sample, _, prepared = picture_or_last_good(
            data, sample, selection, kept_key="train_picture", ask="Choose a picture to train on.",
            carrying_on="Until there is a new picture, training goes on with the last good one.")
        shown_what = getattr(sample, "label", None) or "The uploaded picture"
        picture(prepared.shown, f"{shown_what}, as {spec.name} receives it: {size.height}×{size.width} pixels.", width=160, caption=f"What {spec.name} receives ({size.height}×{size.width}).")
        target = pick_target(spec, sample, names)
    held = step_checks.held_out_set(selection, trainer, sample.key if sample else None) if trainer is not None else None
    st.session_state.pop("train_error", None)
    if trainer is not None and (take_one or take_many):
        run_steps(trainer, prepared.tensor, target, 1 if take_one else int(count), held)
if "train_error" in st.session_state:
    st.error(st.session_state["train_error"])

if st.session_state.get("train_last") is None:
    st.info("Press “Take one step” to see what a single step changes.")
    step_checks.forget()
else:
    step_view.show_steps(names, *step_checks.held_out_note(held))
step_view.share_steps(held)  # a class sees the teacher's last click
if trainer is not None:
    explain_care(spec, trainer)
