"""``microscope``: what each channel of a layer looks for, as renders on disk and numbers in JSON.

    python -m explorer microscope ARCH [--weights W] --layer L --channels SPEC [--steps N] [--size PX]
                                  [--seed S] [--corpus DIR] [--out DIR] [--gallery FILE] [--json]

One PNG per channel goes into ``--out`` (and into the render cache, so the app shows it
at once afterwards). Each channel's entry holds its render's activation, the best
activation in the corpus (the digit scans for ``--weights digits``, the bundled photos
otherwise, or every picture in ``--corpus DIR``), the nine best examples with their
crop boxes, and the objective step by step.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from explorer.cli.common import WEIGHTS_HELP, model_with_weights, read_file
from explorer.core.errors import UserError
from explorer.core.registry import get_spec
from explorer.inputs import corpora
from explorer.figures.gallery import Tile, gallery
from explorer.inputs.png import picture_png
from explorer.runs.featurevis import microscope
from explorer.runs.featurevis.cache import RenderCache, render_key
from explorer.runs.featurevis.render import Recipe
from explorer.weights import catalogue


IMAGENETTE = "imagenette"  # --corpus imagenette: downloaded once (about 100 MB) into the data folder


def _progress(channel: int):
    shown = [-1]

    def report(step: int, steps: int, value: float) -> None:
        tenth = step * 10 // steps
        if tenth != shown[0]:
            shown[0] = tenth
            print(f"  channel {channel}: step {step} of {steps}, objective {value:.3f}", file=sys.stderr)

    return report


def _weights_key(args: argparse.Namespace, weights: str) -> str:
    if weights != catalogue.UPLOAD:
        return weights if weights != catalogue.RANDOM else f"random-seed-{args.seed}"
    return "file-" + hashlib.sha256(read_file(args.weights, "state dict file")).hexdigest()[:16]


def _download_progress(done: int, total: int | None, shown: list[int] = [-1]) -> None:
    tenth = done * 10 // total if total else done // 2**24
    if tenth != shown[0]:
        shown[0] = tenth
        print(f"  Imagenette: {done / 2**20:.0f} MB" + (f" of {total / 2**20:.0f} MB" if total else ""),
              file=sys.stderr)


def _corpus(value: str | None, weights: str) -> corpora.Corpus:
    if not value:
        return microscope.default_corpus(weights)
    if value == IMAGENETTE:
        return corpora.imagenette(corpora.data_folder(), _download_progress)
    return corpora.folder(value)


def _out_folder(path: str) -> Path:
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"The folder {path!r} could not be made for the renders ({error.strerror or error}).") from None
    return folder


def microscope_data(args: argparse.Namespace) -> list[dict]:
    spec = get_spec(args.arch)
    model, weights = model_with_weights(spec, args.weights, args.seed)
    recipe = microscope.checked_recipe(spec, model, args.layer, Recipe(steps=args.steps, seed=args.seed),
                                       args.size)
    count = microscope.channel_count(spec, model, args.layer, recipe.size)
    channels = microscope.parse_channels(args.channels, count)
    corpus = _corpus(args.corpus, weights)
    found = microscope.scan_corpus(spec, model, weights, args.layer, corpus)
    folder = _out_folder(args.out)
    cache, weights_key = RenderCache(), _weights_key(args, weights)
    entries, tiles = [], []
    for channel in channels:
        key = render_key(spec.id, weights_key, args.layer, channel, recipe)
        rendered = cache.get(key)
        if rendered is None:
            rendered = microscope.render_unit(spec, model, weights, args.layer, channel, recipe, _progress(channel))
            refusal = cache.put(key, rendered)
            if refusal:
                print(refusal, file=sys.stderr)
        unit = microscope.examine(spec, model, weights, args.layer, channel, rendered, found)
        image = folder / f"{spec.id}_{args.layer}_{channel}.png"
        _write(image, picture_png(rendered.pictures[0]), "render")
        tiles.append(Tile(channel, rendered.pictures[0], unit.activation, unit.dataset_best,
                          tuple(example.crop for example in unit.examples)))
        entries.append({
            "channel": channel, "activation": unit.activation, "mean_activation": max(rendered.means),
            "dataset_best": unit.dataset_best,
            "beats_examples": unit.beats_examples, "corpus": corpus.name,
            "examples": [example.to_json() for example in unit.examples],
            "image": str(image), "objective": rendered.objective,
        })
    if args.gallery:
        title = f"{spec.name}, {args.layer}, {weights} weights: render (left), best examples (right)"
        _write(Path(args.gallery), gallery(tiles, title), "gallery")
    return entries


def _write(path: Path, data: bytes, what: str) -> None:
    try:
        path.write_bytes(data)
    except OSError as error:
        raise UserError(f"The {what} could not be written to {str(path)!r} ({error.strerror or error}).") from None


def print_microscope(entries: list[dict], args: argparse.Namespace) -> None:
    if args.weights == catalogue.RANDOM:
        print("(random weights: nobody trained them, so these pictures mean nothing yet)")
    for entry in entries:
        verdict = "" if entry["beats_examples"] else "  (does not beat the examples)"
        print(f"channel {entry['channel']}: render {entry['activation']:.3f}, best of {entry['corpus']} "
              f"{entry['dataset_best']:.3f}{verdict} -> {entry['image']}")


def _bounded(low: int, high: int, what: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a whole number, not {text[:20]!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{what} must be {low} to {high:,}, not {value:,}")
        return value

    return parse


def add_commands(commands) -> None:
    from explorer.runs.featurevis.render import MAX_SIDE, MAX_STEPS

    command = commands.add_parser("microscope", help="what each channel of a layer looks for: renders and examples")
    command.add_argument("arch", help="architecture id (see `list`)")
    command.add_argument("--weights", default="random", help=WEIGHTS_HELP)
    command.add_argument("--layer", required=True, help="layer-table name (features.3, layer3, fc) or logits")
    command.add_argument("--channels", required=True, help="channel numbers: 0-15, 3,7,9 or 2-4,9")
    command.add_argument("--steps", type=_bounded(1, MAX_STEPS, "--steps"), default=512)
    command.add_argument("--size", type=_bounded(1, MAX_SIDE, "--size"),
                         help="render side in pixels (default 128, or the network's own input if smaller)")
    command.add_argument("--seed", type=int, default=0, help="seed of the render (and of random weights)")
    command.add_argument("--corpus", help="folder of pictures to find dataset examples in, or 'imagenette' (downloaded "
                         "once, about 100 MB, into $CNN_EXPLORER_DATA or ~/.cache/cnn-explorer/datasets)")
    command.add_argument("--out", default="microscope", help="folder for the PNGs (default ./microscope)")
    command.add_argument("--gallery", help="also write one PNG of every channel: render, best crops, two numbers")
    command.add_argument("--json", action="store_true")
    command.set_defaults(data=microscope_data, text=print_microscope)
