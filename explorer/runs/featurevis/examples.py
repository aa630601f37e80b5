"""Dataset examples: the corpus pictures whose unit excites a channel most, cropped to that unit's receptive field.

For every picture the network runs once up to the layer (stopping there, as a render
does) and each channel keeps its best position in that picture and the value there,
before the ReLU, as the render's objective reads it. A channel's examples are the nine
pictures with the highest such values; each is shown as the patch of the picture the
network saw (after resizing and cropping to its input size) that the best unit sees,
its receptive field from ``explorer.analysis.receptive_field``. A field reaching past
the picture's border is clipped to it, and the example says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from explorer.analysis.receptive_field import Field
from explorer.core.registry import ArchSpec
from explorer.inputs import images
from explorer.inputs.corpora import Corpus
from explorer.runs.featurevis import target

TOP = 9
CHUNK = 64  # pictures per forward pass


@dataclass(frozen=True)
class Example:
    source: str
    value: float  # the unit's activation before its ReLU
    position: tuple[int, int]  # row and column of the unit in the layer's map ((0, 0) once positions are gone)
    box: tuple[int, int, int, int]  # first and last row, first and last column of the crop, in input pixels
    clipped: bool  # the receptive field reached past the picture's border, so the crop is smaller than the field
    crop: np.ndarray  # the patch itself, H×W or H×W×3 uint8

    def to_json(self) -> dict:
        return {"source": self.source, "activation": self.value, "position": list(self.position),
                "box": {"top": self.box[0], "bottom": self.box[1], "left": self.box[2], "right": self.box[3]},
                "clipped": self.clipped}


@dataclass(frozen=True)
class CorpusActivations:
    """Each picture's best value and its position, for every channel of one layer."""

    corpus: Corpus
    side: int
    values: np.ndarray  # pictures × channels, float32
    positions: np.ndarray  # pictures × channels × 2 (row, column)

    def best(self, channel: int) -> float:
        return float(self.values[:, channel].max())


def _prepared(spec: ArchSpec, weights: str, data: bytes, side: int) -> images.PreparedInput:
    return images.prepare(images.load_image(data), spec, side, side, weights)


def corpus_activations(spec: ArchSpec, model: nn.Module, weights: str, layer: str, corpus: Corpus,
                       side: int) -> CorpusActivations:
    """Run every picture of ``corpus`` at ``side`` pixels up to ``layer``; keep each channel's best unit."""
    values, positions = [], []
    with target.reading(target.private_copy(model), layer) as run, torch.no_grad():
        for start in range(0, len(corpus.pictures), CHUNK):
            chunk = corpus.pictures[start:start + CHUNK]
            batch = torch.cat([_prepared(spec, weights, p.data, side).tensor for p in chunk])
            output = run(batch)
            if output.dim() == 2:  # no positions: each unit is the whole picture's
                values.append(output.numpy())
                positions.append(np.zeros((*output.shape, 2), dtype=np.int64))
                continue
            flat = output.flatten(2)
            best, where = flat.max(dim=2)
            width = output.shape[3]
            values.append(best.numpy())
            positions.append(torch.stack([where // width, where % width], dim=2).numpy())
    return CorpusActivations(corpus, side, np.concatenate(values), np.concatenate(positions))


def crop_box(field: Field, position: tuple[int, int], side: int) -> tuple[tuple[int, int, int, int], bool]:
    """The unit's receptive field in input pixels, clipped to the picture, and whether clipping happened."""
    top, bottom, left, right = field.patch(*position)
    box = (max(top, 0), min(bottom, side - 1), max(left, 0), min(right, side - 1))
    return box, box != (top, bottom, left, right)


def top_examples(spec: ArchSpec, weights: str, found: CorpusActivations, channel: int, field: Field,
                 count: int = TOP) -> list[Example]:
    """The ``count`` pictures whose best unit of ``channel`` is highest, best first (ties: corpus order)."""
    order = np.argsort(-found.values[:, channel], kind="stable")[:count]
    examples = []
    for index in order:
        picture = found.corpus.pictures[index]
        position = tuple(int(v) for v in found.positions[index, channel])
        box, clipped = crop_box(field, position, found.side)
        shown = _prepared(spec, weights, picture.data, found.side).shown
        crop = shown[box[0]:box[1] + 1, box[2]:box[3] + 1]
        examples.append(Example(picture.source, float(found.values[index, channel]), position, box, clipped, crop))
    return examples
