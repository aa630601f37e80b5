"""The command line's entry: one parser for every command, JSON or text out, one sentence for a bad request.

    python -m explorer list [--json]
    python -m explorer summary ARCH [--size N | --height H --width W] [--batch B] [--depth D] [--json]
    python -m explorer params ARCH [--json]
    python -m explorer activations ARCH --image PATH [--size N] [--weights W] [--ablate LAYER[:CHANNELS]]...
                                        [--bypass BLOCK]... [--json]
    python -m explorer cam ARCH --image PATH [--layer NAME] [--target K] [--method gradcam|gradcampp|layercam|scorecam]
                               [--weights W] [--json]
    python -m explorer receptive-field ARCH [--size N] [--json]
    python -m explorer train-step ARCH [--image PATH] [--label K] [--lr 0.1] [--optimizer sgd] [--steps N]
                                       [--weights W] [--json]
    python -m explorer train ARCH [--epochs E] [--batch B] [--lr R] [--optimizer adam] [--drawings]
                                  [--weights W] [--json]
    python -m explorer microscope ARCH [--weights W] --layer L --channels SPEC [--steps N] [--size PX] [--seed S]
                                  [--corpus DIR] [--out DIR] [--json]
    python -m explorer build DESIGN.json [--json] [--code]     (and --design DESIGN.json instead of ARCH above)
    python -m explorer bench [--archs ID ...] [--json] [--out FILE.md] [--budget SECONDS] [--clock cpu --threads 1]

--weights is random (the default), imagenet, imagenet_v2, digits or the path of a
state dict file; ImageNet weights not yet in torch.hub's cache are downloaded once.

Each command module adds its parsers and, for each, a function that returns
JSON-ready data and one that prints it as text; this module prints one or the other.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from explorer.cli import build_command, describe, learn_commands, looking, microscope, run_commands
from explorer.cli.common import EXIT_USER_ERROR, OneLineParser, resolve_architecture
from explorer.core.errors import UserError
from explorer.core.registry import get_spec


def _bench(args: argparse.Namespace) -> None:
    from explorer.cli import bench  # imported here: only this command needs it

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


def _add_bench(commands) -> None:
    timing = commands.add_parser("bench", help="what the app adds on top of the bare PyTorch work, per architecture")
    timing.add_argument("--archs", nargs="+", help="architecture ids (default: every one, which takes minutes)")
    timing.add_argument("--json", action="store_true", help="one JSON object per architecture")
    timing.add_argument("--out", help="also write the markdown table to this file")
    timing.add_argument("--budget", type=float, default=8.0, help="rough seconds of timed rounds per measurement")
    timing.add_argument("--device", default="cpu", help="cpu or cuda")
    timing.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="cpu: this process's CPU time, steadier on a machine other programs crowd")
    timing.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's own)")
    timing.set_defaults(run=_bench)


def parser() -> argparse.ArgumentParser:
    top = OneLineParser(prog="python -m explorer", description="CNN Architecture Explorer")
    commands = top.add_subparsers(dest="command", required=True)
    describe.add_commands(commands)
    run_commands.add_commands(commands)
    looking.add_commands(commands)
    learn_commands.add_commands(commands)
    microscope.add_commands(commands)
    build_command.add_commands(commands)
    _add_bench(commands)
    return top


def _run(args: argparse.Namespace) -> None:
    resolve_architecture(args)
    if hasattr(args, "run"):
        args.run(args)
        return
    data = args.data(args)
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))  # ‖Δw‖ and 10⁻³ as they are
    else:
        args.text(data, args)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        _run(args)
    except UserError as error:
        print(error, file=sys.stderr)
        return EXIT_USER_ERROR
    except BrokenPipeError:  # `| head` closed the pipe early; that is not an error
        sys.stdout = open(os.devnull, "w")
    return 0
