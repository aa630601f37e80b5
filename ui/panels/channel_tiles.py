"""Each chosen channel side by side: its render, its nine dataset examples with their values, and the two numbers.

Renders already in the server's disk cache are shown at once. Missing ones start only
when someone presses the button, which says first how long they should take; while
waiting, the student sees their place in the server's one render queue, and while
rendering, a progress bar with the objective rising. A follower in a class only reads
the cache: the teacher's renders appear as the teacher makes them.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.core.errors import UserError
from explorer.figures.overlays import enlarged
from explorer.runs.featurevis import microscope, service
from explorer.runs.featurevis.render import Recipe, Rendered
from explorer.weights import catalogue
from ui.caches import microscope as caches
from ui.classroom import follow
from ui.widgets.images import picture

RENDER_SIDE = 160  # pixels of the render on the page
CROP_SIDE = 96  # pixels of each example crop (at least: small crops are enlarged in whole blocks)
ROW = 3  # examples side by side
UNKEPT = "ch_unkept"  # this session's renders the cache could not keep: {(key parts): Rendered}, a few at most
UNKEPT_MAX = 16
TRAINED = {catalogue.DIGITS: "its digit-trained weights", catalogue.IMAGENET: "its ImageNet weights (V1)",
           catalogue.IMAGENET_V2: "its ImageNet weights (V2)"}


def _flat(picture: np.ndarray) -> np.ndarray:
    return picture[..., 0] if picture.ndim == 3 and picture.shape[-1] == 1 else picture


def _known(selection, layer: str, channel: int, recipe: Recipe) -> Rendered | None:
    found = service.cached(caches.render_cache(), selection.spec, selection.weights_key, layer, channel, recipe)
    if found is None:
        found = st.session_state.get(UNKEPT, {}).get((selection.spec.id, selection.weights_key, layer, channel, recipe))
    return found


def _trained_twin(selection, layer: str, channel: int, recipe: Recipe) -> tuple[str, Rendered] | None:
    """With random weights: the same channel's cached render with trained weights, to show the difference."""
    if selection.weights != catalogue.RANDOM:
        return None
    for choice in catalogue.choices(selection.spec, upload=False):
        found = choice != catalogue.RANDOM and service.cached(caches.render_cache(), selection.spec, choice, layer,
                                                               channel, recipe)
        if found:
            return TRAINED.get(choice, "trained weights"), found
    return None


def _keep_unkept(selection, layer: str, channel: int, recipe: Recipe, rendered: Rendered) -> None:
    kept = st.session_state.setdefault(UNKEPT, {})
    kept[(selection.spec.id, selection.weights_key, layer, channel, recipe)] = rendered
    while len(kept) > UNKEPT_MAX:
        kept.pop(next(iter(kept)))


def render_missing(selection, model, layer: str, missing: list[int], recipe: Recipe) -> None:
    """The button that renders the missing channels, in the server's queue, with their progress."""
    spec = selection.spec
    if follow.following():
        if len(missing) == 1:
            st.caption(f"Channel {missing[0]} has no render yet; when your teacher renders it, it appears here.")
        else:
            st.caption(f"{len(missing)} of these channels have no render yet; when your teacher renders them, "
                       "they appear here.")
        return
    one = caches.estimate_seconds(spec.id, selection.device, selection.weights_key, layer, recipe.size,
                                  recipe.steps, spec, model, selection.weights)
    total = one * len(missing)
    named = f"channel {missing[0]}" if len(missing) == 1 else f"the {len(missing)} channels without one"
    took = f"about {total:.0f} s" if total >= 1 else "less than a second"
    offer = st.empty()  # the offer goes once the renders are made, so the page never asks for what it shows
    with offer.container():
        st.info(f"Rendering {named} takes {took} on this server ({recipe.steps} steps of a {recipe.size}-pixel "
                "picture each, one render at a time for the whole server).")
        pressed = st.button(f"Render {named}", key="ch_render", type="primary")
    if not pressed:
        return
    place, bar = st.empty(), st.progress(0.0, text="Waiting for the server's render queue…")
    for number, channel in enumerate(missing, start=1):
        def progress(step: int, steps: int, value: float, channel=channel, number=number) -> None:
            if step == steps or step % max(1, steps // 50) == 0:  # about fifty redraws a render, not one per step
                place.empty()
                bar.progress(step / steps, text=f"Channel {channel} ({number} of {len(missing)}): step {step} of "
                             f"{steps}, objective {value:.3f}")

        def waiting(ahead: int, channel=channel) -> None:
            place.caption(f"Channel {channel} waits its turn: {ahead} render{'s' if ahead != 1 else ''} ahead of "
                          "it on this server.")

        try:
            got = service.obtain(caches.render_cache(), spec, model, selection.weights, selection.weights_key, layer,
                                 channel, recipe, progress, waiting)
        except UserError as error:  # a full queue: one sentence, and what was made so far stays
            st.error(str(error))
            break
        if got.note:
            st.warning(got.note)
            _keep_unkept(selection, layer, channel, recipe, got.rendered)
    bar.empty()
    place.empty()
    offer.empty()
    follow.publish("ch.rendered", [layer, missing, recipe.steps])  # the class reruns and finds them in the cache


def _numbers(unit: microscope.Unit, corpus_name: str) -> None:
    best = unit.examples[0].source if unit.examples else "none"
    st.markdown(f"**Render:** {unit.activation:.2f}  \n**Best example:** {unit.dataset_best:.2f}")
    st.caption(f"The render's best unit of the channel, and the best unit in any of {corpus_name} ({best}); both "
               "before the ReLU.")
    if not unit.beats_examples:
        st.warning("This render does not beat the best example: trust the examples more than the picture.")


def _examples(examples) -> None:
    if not examples:
        st.caption("No corpus pictures to show.")
        return
    for row in range(0, len(examples), ROW):  # three by three, as Microscope laid them out
        shown = examples[row:row + ROW]
        alts = [f"Corpus picture {example.source}, cropped to what the channel sees"
                + (" (clipped at the border)" if example.clipped else "") + f"; it reaches {example.value:.2f}."
                for example in shown]
        picture([enlarged(_flat(example.crop), CROP_SIDE) for example in shown], alts, width=CROP_SIDE,
                 caption=[f"{example.value:.2f} · {example.source}" + (" (clipped at the border)" if example.clipped
                                                                         else "") for example in shown])


def show_channel(selection, layer: str, channel: int, recipe: Recipe, found, corpus_name: str,
                 corpus_id: str) -> None:
    spec = selection.spec
    examples = caches.channel_examples(spec.id, selection.device, selection.weights_key, layer, corpus_id, channel,
                                       spec, selection.weights, found)
    rendered = _known(selection, layer, channel, recipe)
    with st.container(border=True):
        st.markdown(f"**Channel {channel}** of {layer}")
        render_col, examples_col, numbers_col = st.columns([3, 5, 3])
        with render_col:
            if rendered is None:
                st.caption("No render yet.")
            else:
                image = enlarged(_flat(rendered.pictures[0]), RENDER_SIDE)
                picture(image, f"A picture optimised to excite channel {channel} of {layer} ({recipe.steps} steps); "
                        f"its best unit reaches {max(rendered.activations):.2f}.", width=image.shape[1],
                        caption=f"A picture made to excite channel {channel} ({recipe.steps} steps).")
            twin = _trained_twin(selection, layer, channel, recipe)
            if twin is not None:  # cached renders only: a comparison never costs a render
                label, trained = twin
                image = enlarged(_flat(trained.pictures[0]), RENDER_SIDE)
                picture(image, f"The picture optimised for channel {channel} of {layer} with {label}.",
                        width=image.shape[1], caption=f"The same channel with {label}: what "
                         "training made it look for, beside what random weights do.")
        with examples_col:
            _examples(examples)
        with numbers_col:
            if rendered is None:
                st.markdown(f"**Best example:** {found.best(channel):.2f}")
            else:
                _numbers(microscope.Unit(channel, rendered, examples, found.best(channel)), corpus_name)


def show(selection, model, layer: str, channels: list[int], recipe: Recipe, found, corpus_name: str,
         corpus_id: str) -> None:
    follow.teacher_value("ch.rendered")  # a follower reruns when the teacher has made new renders
    missing = [c for c in channels if _known(selection, layer, c, recipe) is None]
    if missing:
        render_missing(selection, model, layer, missing, recipe)
    for channel in channels:
        show_channel(selection, layer, channel, recipe, found, corpus_name, corpus_id)
