"""What every command shares: how a bad request ends, the size a network really runs at, and its weights.

A request the library refuses (an unknown architecture, a size the network cannot
take, weights it does not have) exits with status 2 and the same one-sentence
explanation the app shows.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass

from torch import nn

from explorer.analysis.memory_estimate import memory_refusal
from explorer.analysis.summary import summarize
from explorer.core.errors import UserError
from explorer.core.registry import ArchSpec, get_spec
from explorer.core.sizes import InputSize, parse_input_size

EXIT_USER_ERROR = 2
WEIGHTS_HELP = "random (default), imagenet, imagenet_v2, digits, or the path of a state dict file"


class OneLineParser(argparse.ArgumentParser):
    """argparse's own errors (``--lr abc``) as one line on stderr, exit status 2, like every other refusal."""

    def error(self, message: str) -> None:
        self.exit(EXIT_USER_ERROR, f"{self.prog}: {message} (see --help).\n")


def add_architecture(parser: argparse.ArgumentParser, help: str = "architecture id (see `list`)") -> None:
    """The network a command works on: a registered id, or ``--design FILE`` (a student's design file)."""
    parser.add_argument("arch", nargs="?", help=help + "; or leave it out and give --design")
    parser.add_argument("--design", metavar="DESIGN.json", help="a design file (see `build`) instead of an id")


def resolve_architecture(args: argparse.Namespace) -> None:
    """Turn ``--design FILE`` into the design's architecture id, which every command then looks up as usual."""
    if not hasattr(args, "design"):
        return
    if args.design is None:
        if args.arch is None:
            raise UserError("Name an architecture (see `list`) or give a design file with --design.")
        return
    if args.arch is not None:
        raise UserError(f"Give either an architecture ({args.arch[:40]!r}) or --design, not both.")
    from explorer.analysis.design_file import read_design
    from explorer.analysis.design_spec import design_spec

    args.arch = design_spec(read_design(read_file(args.design, "design file"))).id


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of every command that really runs a network: its size, seed and weights."""
    parser.add_argument("--size", help="square input side in pixels (default: the network's usual input)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    parser.add_argument("--weights", default="random", help=WEIGHTS_HELP)
    parser.add_argument("--json", action="store_true")


@dataclass(frozen=True)
class Run:
    """One command's network, ready to run: the architecture, the size it runs at, the model and its weights."""

    spec: ArchSpec
    size: InputSize
    model: nn.Module
    weights: str  # the choice's name, "upload" for a state dict file


def runnable_size(spec: ArchSpec, side: str | None) -> InputSize:
    """The square size a command really runs the network at, refused before any work as the app refuses it."""
    size = parse_input_size(side or spec.default_size, side or spec.default_size, 1)
    table = summarize(spec.id, size)  # the network's size limits and its memory estimate, from shapes alone
    refusal = memory_refusal(spec, size, table.totals)
    if refusal:
        raise UserError(refusal)
    return size


def prepare_run(args: argparse.Namespace) -> Run:
    """The shared start of ``activations`` and ``train-step``: checks first, then the model with its weights."""
    spec = get_spec(args.arch)
    size = runnable_size(spec, args.size)
    model, weights = model_with_weights(spec, args.weights, args.seed)
    return Run(spec, size, model, weights)


def read_file(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as error:
        raise UserError(f"Could not read the {what} {path!r}: {error.strerror or error}.") from None


def _download_progress(done: int, total: int | None, shown: list[int] = [-1]) -> None:
    tenth = done * 10 // total if total else -1
    if tenth != shown[0]:
        shown[0] = tenth
        print(f"  {done / 2**20:.0f} MB" + (f" of {total / 2**20:.0f} MB" if total else ""), file=sys.stderr)


def model_with_weights(spec: ArchSpec, value: str, seed: int) -> tuple[nn.Module, str]:
    """The model holding the --weights choice (a name or a state dict file), and the choice's name."""
    import torch

    from explorer.weights import catalogue, hub, loading, uploads

    if value == catalogue.RANDOM:
        torch.manual_seed(seed)
        return spec.build(), value
    if value in catalogue.LABELS and value != catalogue.UPLOAD:
        catalogue.check_choice(spec, value)
        found = hub.checkpoint(spec, value)
        if found is not None and not found.cached:
            print(f"Downloading {found.megabytes:.0f} MB from {found.host} into {found.path.parent}", file=sys.stderr)
            hub.download(spec, found, _download_progress)
        return loading.build(spec, value), value
    if not os.path.isfile(value):
        raise UserError(
            f"--weights takes random, imagenet, imagenet_v2, digits or the path of a state dict file, "
            f"and {value[:60]!r} is none of these."
        )
    data = read_file(value, "state dict file")
    try:
        return uploads.load(spec, data, limit=None), catalogue.UPLOAD
    except uploads.StateDictMismatch as error:
        print(error.table.to_string(index=False), file=sys.stderr)
        raise
