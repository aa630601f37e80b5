"""One unit of one network, seen both ways: its render and its dataset examples, with the two numbers that compare them.

This is what the command line and the page call: it checks a request (layer, channels,
recipe) before any work, picks the corpus that suits the weights (the digit scans for
digit-trained networks, else the bundled photos) and joins the parts of this package.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from torch import nn

from explorer.analysis.receptive_field import Field
from explorer.analysis.summary import summarize
from explorer.core.errors import UserError
from explorer.core.registry import ArchSpec
from explorer.core.sizes import parse_input_size
from explorer.inputs import corpora
from explorer.runs.featurevis import target
from explorer.runs.featurevis.examples import CorpusActivations, Example, corpus_activations, top_examples
from explorer.runs.featurevis.render import Recipe, Rendered, check_recipe, render, side_for
from explorer.weights import catalogue

MAX_CHANNELS = 512  # channels one request may name


def parse_channels(text: str, count: int) -> list[int]:
    """"0-15", "3,7,9" or "2-4,9" → channel numbers, each checked against the layer's ``count`` channels."""
    chosen: list[int] = []
    try:
        for part in str(text).split(","):
            first, _, last = part.strip().partition("-")
            low, high = int(first), int(last or first)
            if high < low:
                raise ValueError
            if high - low >= MAX_CHANNELS:
                raise UserError(f"Ask for at most {MAX_CHANNELS} channels at once.")
            chosen += range(low, high + 1)
    except ValueError:
        raise UserError(f"Channels are written like 0-15 or 3,7,9, not {str(text)[:40]!r}.") from None
    wrong = [c for c in chosen if not 0 <= c < count]
    if wrong:
        raise UserError(f"This layer has channels 0 to {count - 1}, so channel {wrong[0]} does not exist.")
    if len(chosen) > MAX_CHANNELS:
        raise UserError(f"Ask for at most {MAX_CHANNELS} channels at once.")
    return list(dict.fromkeys(chosen))


def channel_count(spec: ArchSpec, model: nn.Module, layer: str, side: int) -> int:
    return target.layer_shape(spec, layer, side)[0]


def layer_field(spec: ArchSpec, layer: str, side: int) -> Field:
    """The receptive field of one unit of ``layer`` at a ``side``-pixel input (the whole picture for logits)."""
    if layer != target.LOGITS:
        table = summarize(spec.id, parse_input_size(side, side, 1))
        for name, field in zip(table.calls["name"], table.calls["field"]):
            if name == layer and field is not None:
                return field
    return Field((side, side), None, (0, 0))


def default_corpus(weights: str) -> corpora.Corpus:
    return corpora.scans() if weights == catalogue.DIGITS else corpora.samples()


def checked_recipe(spec: ArchSpec, model: nn.Module, layer: str, recipe: Recipe, size: int | None) -> Recipe:
    """``recipe`` at the side asked for (or the network's default), refused before any work where it cannot run."""
    recipe = replace(recipe, size=side_for(spec.default_size, size))
    check_recipe(recipe, spec.min_size)
    target.layer_shape(spec, layer, recipe.size)  # a layer the size cannot reach: one sentence
    return recipe


def render_unit(spec: ArchSpec, model: nn.Module, weights: str, layer: str, channel: int, recipe: Recipe,
                progress: Callable[[int, int, float], None] | None = None) -> Rendered:
    preprocessing = catalogue.preprocessing(spec, weights)
    return render(model, layer, channel, recipe, spec.in_channels, preprocessing.mean, preprocessing.std, progress)


@dataclass(frozen=True)
class Unit:
    """What the microscope shows for one channel.

    Its two numbers compare like with like, unit against unit: the render's best unit
    of the channel (the render raised the channel's mean, and every unit with it) and
    the best unit any corpus picture reaches. A render that does not beat the
    examples is labelled so (``beats_examples``).
    """

    channel: int
    rendered: Rendered
    examples: list[Example]
    dataset_best: float

    @property
    def activation(self) -> float:
        return max(self.rendered.activations)

    @property
    def beats_examples(self) -> bool:
        return self.activation > self.dataset_best


def examine(spec: ArchSpec, model: nn.Module, weights: str, layer: str, channel: int, rendered: Rendered,
            found: CorpusActivations) -> Unit:
    examples = top_examples(spec, weights, found, channel, layer_field(spec, layer, found.side))
    return Unit(channel, rendered, examples, found.best(channel))


def corpus_side(spec: ArchSpec) -> int:
    """Corpus pictures are seen at the network's own input size, as its weights saw their training pictures."""
    return spec.default_size


def scan_corpus(spec: ArchSpec, model: nn.Module, weights: str, layer: str,
                corpus: corpora.Corpus) -> CorpusActivations:
    return corpus_activations(spec, model, weights, layer, corpus, corpus_side(spec))


def channel_strengths(model: nn.Module, layer: str, tensor) -> list[float]:
    """Each channel's mean activation (before its ReLU) on one prepared picture: which channels it excites most."""
    import torch

    with target.reading(target.private_copy(model), layer) as run, torch.no_grad():
        output = run(tensor)
    return [float(target.unit_mean(output, channel)[0]) for channel in range(output.shape[1])]
