"""Command line over the same library the app uses.

    python -m explorer list [--json]
    python -m explorer summary ARCH [--size N | --height H --width W] [--batch B] [--depth D] [--json]
    python -m explorer params ARCH [--json]
    python -m explorer activations ARCH --image PATH [--size N] [--weights W] [--json]
    python -m explorer train-step ARCH [--image PATH] [--label K] [--lr 0.1] [--optimizer sgd] [--steps N]
                                       [--weights W] [--json]
    python -m explorer bench [--archs ID ...] [--json] [--out FILE.md] [--budget SECONDS] [--clock cpu --threads 1]

--weights is random (the default), imagenet, imagenet_v2, digits or the path of a
state dict file; ImageNet weights not yet in torch.hub's cache are downloaded once.

A request the library refuses (unknown architecture, a size the network cannot
take) exits with status 2 and the same one-sentence explanation the app shows.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from explorer.errors import UserError
from explorer.registry import ARCHITECTURES, ArchSpec, get_spec
from explorer.sizes import InputSize, parse_input_size, parse_whole_number, valid_range
from explorer.summary import format_bytes, memory_refusal, memory_warning, summarize, to_json

EXIT_USER_ERROR = 2
WEIGHTS_HELP = "random (default), imagenet, imagenet_v2, digits, or the path of a state dict file"
# Ten times the page's largest "Take N steps": enough to watch a loss fall, not an open-ended job.
MAX_CLI_STEPS = 1000


def _registry_as_data() -> list[dict]:
    return [
        {
            "id": spec.id,
            "name": spec.name,
            "family": spec.family,
            "year": spec.year,
            "paper": spec.paper,
            "paper_url": spec.paper_url,
            "in_channels": spec.in_channels,
            "default_size": spec.default_size,
            "min_size": spec.min_size,
            "max_size": spec.max_size,
            "num_classes": spec.num_classes,
            "weights": spec.weights.__name__ if spec.weights else None,
        }
        for spec in ARCHITECTURES
    ]


def _print_list(as_json: bool) -> None:
    entries = _registry_as_data()
    if as_json:
        print(json.dumps(entries, indent=2))
        return
    for entry, spec in zip(entries, ARCHITECTURES):
        year = entry["year"] or "lab"
        print(f"{entry['id']:<18} {entry['name']:<26} {year!s:<5} {entry['in_channels']} channel(s), {valid_range(spec)}")


def _print_table(data: dict) -> None:
    print(f"{data['architecture']}  input {'×'.join(map(str, data['input_size']))}")
    header = f"{'layer':<34} {'type':<20} {'output':<20} {'params':>13} {'mult-adds':>15}"
    print(header)
    print("-" * len(header))
    for layer in data["layers"]:
        indent = "  " * (layer["depth"] - 1)
        shape = "×".join(map(str, layer["output_shape"])) or "—"
        # An opened block's numbers are itemised in the rows below it.
        params, mult_adds = ("", "") if layer["expanded"] else (f"{layer['params']:,}", f"{layer['mult_adds']:,}")
        print(f"{indent + layer['name']:<34} {layer['type']:<20} {shape:<20} {params:>13} {mult_adds:>15}")
    print("-" * len(header))
    print(f"total parameters      {data['total_params']:,}")
    print(f"trainable parameters  {data['trainable_params']:,}")
    print(f"multiply-adds         {data['total_mult_adds']:,}")
    print(f"estimated memory      {format_bytes(data['estimated_memory_bytes'])}")


def _summary(args: argparse.Namespace) -> None:
    spec = get_spec(args.arch)
    height = args.height or args.size or spec.default_size
    width = args.width or args.size or spec.default_size
    size = parse_input_size(height, width, args.batch)
    table = summarize(spec.id, size)
    warning = memory_warning(spec, size, table.totals)
    if warning:
        print(warning, file=sys.stderr)
    data = to_json(table, args.depth)
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        _print_table(data)


def _runnable_size(spec: ArchSpec, side: str | None) -> InputSize:
    """The square size a command really runs the network at, refused before any work as the app refuses it."""
    size = parse_input_size(side or spec.default_size, side or spec.default_size, 1)
    table = summarize(spec.id, size)  # the network's size limits and its memory estimate, from shapes alone
    refusal = memory_refusal(spec, size, table.totals)
    if refusal:
        raise UserError(refusal)
    return size


def _train_step(args: argparse.Namespace) -> None:
    from explorer import training  # imported here: only this command needs it

    spec = get_spec(args.arch)
    size = _runnable_size(spec, args.size)
    model, weights = _model_with_weights(spec, args.weights, args.seed)
    data = training.cli_run(
        spec, size.height, size.width, image_path=args.image, label=args.label, learning_rate=args.lr,
        optimizer=args.optimizer, steps=parse_whole_number(args.steps, "number of steps", 1, MAX_CLI_STEPS),
        seed=args.seed, weights=weights, model=model,
    )
    if args.json:
        print(json.dumps(data, indent=2))
        return
    print(f"{data['architecture']}: {data['steps']} step(s) of {data['optimizer']} at learning rate {args.lr:g} "
          f"towards class {data['label']} ({data['class_name']})")
    print(f"loss {data['loss_before']:.6g} -> " + " -> ".join(f"{loss:.6g}" for loss in data["losses"]))
    print(f"{'layer':<40} {'gradient norm':>14} {'|dw|/|w|':>12}")
    for layer, norm in data["grad_norms"].items():
        print(f"{layer:<40} {norm:>14.4g} {data['update_ratios'][layer]:>12.4g}")


def _params(args: argparse.Namespace) -> None:
    from explorer import params

    data = params.to_json(get_spec(args.arch).id)
    if args.json:
        print(json.dumps(data, indent=2))
        return
    print(f"{data['architecture']}: {data['total']:,} parameters")
    for kind, counts in data["by_kind"].items():
        print(f"  {kind:<18} weights {counts['weight']:>13,}   biases {counts['bias']:>9,}")
    print()
    for layer in data["layers"]:
        print(f"{layer['name']:<40} {layer['kind']:<16} {layer['formula']}")


def _read_picture(path: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as error:
        raise UserError(f"Could not read the picture {path!r}: {error.strerror or error}.") from None


def _download_progress(done: int, total: int | None, shown: list[int] = [-1]) -> None:
    tenth = done * 10 // total if total else -1
    if tenth != shown[0]:
        shown[0] = tenth
        print(f"  {done / 2**20:.0f} MB" + (f" of {total / 2**20:.0f} MB" if total else ""), file=sys.stderr)


def _model_with_weights(spec: ArchSpec, value: str, seed: int):
    """The model holding the --weights choice (a name or a state dict file), and the choice's name."""
    import torch

    from explorer import state_dicts, weights

    if value == weights.RANDOM:
        torch.manual_seed(seed)
        return spec.build(), value
    if value in weights.LABELS and value != weights.UPLOAD:
        weights.check_choice(spec, value)
        found = weights.checkpoint(spec, value)
        if found is not None and not found.cached:
            print(f"Downloading {found.megabytes:.0f} MB from {found.host} into {found.path.parent}", file=sys.stderr)
            weights.download(spec, found, _download_progress)
        return weights.build(spec, value), value
    if not os.path.isfile(value):
        raise UserError(
            f"--weights takes random, imagenet, imagenet_v2, digits or the path of a state dict file, "
            f"and {value[:60]!r} is none of these."
        )
    with open(value, "rb") as file:
        data = file.read()
    try:
        return state_dicts.load(spec, data, limit=None), weights.UPLOAD
    except state_dicts.StateDictMismatch as error:
        print(error.table.to_string(index=False), file=sys.stderr)
        raise


def _activations(args: argparse.Namespace) -> None:
    from explorer import capture, images
    from explorer import weights as weight_choices

    spec = get_spec(args.arch)
    size = _runnable_size(spec, args.size)
    model, weights = _model_with_weights(spec, args.weights, args.seed)
    picture = images.load_image(_read_picture(args.image))
    prepared = images.prepare(picture, spec, size.height, size.width, weights)
    names = weight_choices.category_names(spec, weights)
    data = capture.to_json(spec, capture.run_on_image(spec, model, prepared.tensor), names=names)
    if args.json:
        print(json.dumps(data, indent=2))
        return
    print(f"{'layer':<40} {'shape':<20} {'min':>10} {'max':>10} {'mean':>10} {'zeros':>7}")
    for layer in data["layers"]:
        shape = "×".join(map(str, layer["shape"]))
        numbers = (
            f"{layer['min']:>10.4g} {layer['max']:>10.4g} {layer['mean']:>10.4g} {layer['zero_share']:>7.1%}"
            if "min" in layer else ""
        )
        print(f"{layer['name']:<40} {shape:<20} {numbers}")
    meaning = " (meaningless: nobody trained them)" if weights == weight_choices.RANDOM else ""
    print(f"\ntop-5 with {args.weights} weights{meaning}:")
    for entry in data["top"]:
        print(f"  {entry['probability']:7.2%}  {entry['class']}")


def _bench(args: argparse.Namespace) -> None:
    from explorer import bench  # imported here: only this command needs it

    rows = bench.run([get_spec(arch).id for arch in args.archs] if args.archs else None, args.budget, args.device,
                     args.clock, args.threads)
    table = bench.markdown(rows)
    if args.out:
        with open(args.out, "w") as file:
            file.write(table)
    if args.json:
        for row in rows:
            print(json.dumps(row))
    else:
        print(table)


class _OneLineParser(argparse.ArgumentParser):
    """argparse's own errors (``--lr abc``) as one line on stderr, exit status 2, like every other refusal."""

    def error(self, message: str) -> None:
        self.exit(EXIT_USER_ERROR, f"{self.prog}: {message} (see --help).\n")


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="python -m explorer", description="CNN Architecture Explorer")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="the architectures, oldest first")
    listing.add_argument("--json", action="store_true")
    summary = commands.add_parser("summary", help="the layer table of one architecture")
    summary.add_argument("arch", help="architecture id, e.g. resnet18 (see `list`)")
    summary.add_argument("--size", help="square input side in pixels")
    summary.add_argument("--height")
    summary.add_argument("--width")
    summary.add_argument("--batch", default="1")
    summary.add_argument("--depth", type=int, default=None, help="fold rows below this depth into blocks")
    summary.add_argument("--json", action="store_true")
    breakdown = commands.add_parser("params", help="where the parameters live, with each layer's arithmetic")
    breakdown.add_argument("arch", help="architecture id (see `list`)")
    breakdown.add_argument("--json", action="store_true")
    activations = commands.add_parser("activations", help="every layer's output statistics for one picture")
    activations.add_argument("arch", help="architecture id (see `list`)")
    activations.add_argument("--image", required=True, help="picture file (JPEG, PNG, WebP, BMP, GIF)")
    activations.add_argument("--size", help="square input side in pixels (default: the network's usual input)")
    activations.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    activations.add_argument("--weights", default="random", help=WEIGHTS_HELP)
    activations.add_argument("--json", action="store_true")
    train = commands.add_parser("train-step", help="optimiser steps on one picture, with loss and gradient norms")
    train.add_argument("arch", help="architecture id, e.g. lenet5 (see `list`)")
    train.add_argument("--image", help="picture file (default: a bundled sample)")
    train.add_argument("--label", type=int, default=None, help="target class index (default: the sample's digit, else 0)")
    train.add_argument("--lr", type=float, default=0.1, help="learning rate (the lab's is 0.1)")
    train.add_argument("--optimizer", choices=["sgd", "momentum", "adam"], default="sgd")
    train.add_argument("--steps", type=int, default=1)
    train.add_argument("--size", help="square input side in pixels (default: the network's usual input)")
    train.add_argument("--seed", type=int, default=0, help="seed of the random starting weights")
    train.add_argument("--weights", default="random", help=WEIGHTS_HELP)
    train.add_argument("--json", action="store_true")
    timing = commands.add_parser("bench", help="what the app adds on top of the bare PyTorch work, per architecture")
    timing.add_argument("--archs", nargs="+", help="architecture ids (default: every one, which takes minutes)")
    timing.add_argument("--json", action="store_true", help="one JSON object per architecture")
    timing.add_argument("--out", help="also write the markdown table to this file")
    timing.add_argument("--budget", type=float, default=8.0, help="rough seconds of timed rounds per measurement")
    timing.add_argument("--device", default="cpu", help="cpu or cuda")
    timing.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="cpu: this process's CPU time, steadier on a machine other programs crowd")
    timing.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's own)")
    return parser


COMMANDS = {"summary": _summary, "params": _params, "activations": _activations, "train-step": _train_step,
            "bench": _bench}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "list":
            _print_list(args.json)
        else:
            COMMANDS[args.command](args)
    except UserError as error:
        print(error, file=sys.stderr)
        return EXIT_USER_ERROR
    except BrokenPipeError:  # `| head` closed the pipe early; that is not an error
        sys.stdout = open(os.devnull, "w")
    return 0


if __name__ == "__main__":
    sys.exit(main())
