"""``build``: a design file's layer table, row by row, as the "Build a network" page shows it, or its PyTorch code.

    python -m explorer build DESIGN.json [--json] [--code]
    python -m explorer build --preset lenet5 [--json] [--code] [--file]

The JSON has ``total_params``, ``total_mult_adds``, ``warnings`` (sentences) and
``layers``: one entry per layer of the design, in order, with ``name``, ``type``,
``output_shape``, ``params`` (and ``params_formula``), ``mult_adds`` and
``receptive_field``. A design that cannot be built (a layer that does not fit, the
wrong number of classes at the end, a limit passed) exits with status 2 and the
first sentence; ``--design DESIGN.json`` then works wherever a command takes an
architecture.
"""

from __future__ import annotations

import argparse

from explorer.analysis.design_file import design_text, parse_design, read_design
from explorer.analysis.design_rows import export_code, require_whole, shape_text
from explorer.analysis.receptive_field import texts
from explorer.cli.common import read_file
from explorer.core.errors import UserError
from explorer.models.design import Design
from explorer.models.design_presets import PRESETS


def _design(args: argparse.Namespace) -> Design:
    if (args.design_file is None) == (args.preset is None):
        raise UserError("Give a design file or --preset NAME (one of them).")
    if args.preset is not None:
        return parse_design(PRESETS[args.preset])
    return read_design(read_file(args.design_file, "design file"))


def build_data(args: argparse.Namespace) -> dict:
    design = _design(args)
    if args.code:
        return {"code": export_code(design)}
    if args.file:
        return {"file": design_text(design)}
    analysis = require_whole(design).to_json()
    del analysis["problems"]  # always empty here: a design with a problem was refused above
    return {"input": list(design.input), "classes": design.classes, **analysis}


def _print(data: dict, args: argparse.Namespace) -> None:
    if "code" in data or "file" in data:
        print(data.get("code", data.get("file")), end="")
        return
    print(f"{'name':<10} {'type':<10} {'output':>10} {'params':>10} {'mult-adds':>12} {'field':>8}  arithmetic")
    for layer in data["layers"]:
        field = layer["receptive_field"]
        size = texts(None)["receptive_field"] if field is None else "×".join(str(n) for n in field["size"])
        print(f"{layer['name']:<10} {layer['type']:<10} {shape_text(layer['output_shape']):>10} "
              f"{layer['params']:>10,} {layer['mult_adds']:>12,} {size:>8}  {layer['params_formula']}")
    print(f"total: {data['total_params']:,} parameters, {data['total_mult_adds']:,} multiply-adds")
    for sentence in data["warnings"]:
        print(f"warning: {sentence}")


def add_commands(commands) -> None:
    build = commands.add_parser("build", help="a design file's layers: shapes, parameters, multiply-adds; or its code")
    build.add_argument("design_file", nargs="?", metavar="DESIGN.json", help="a design file (JSON, at most 100 kB)")
    build.add_argument("--preset", choices=list(PRESETS), help="start from a preset instead of a file")
    build.add_argument("--code", action="store_true", help="print the design as a self-contained PyTorch file")
    build.add_argument("--file", action="store_true", help="print the design file itself (e.g. of a preset)")
    build.add_argument("--json", action="store_true")
    build.set_defaults(data=build_data, text=_print)
