"""Commands that describe a network from its shapes alone: ``list``, ``summary`` and ``params``.

Each command returns JSON-ready data; ``explorer.cli.main`` prints it as JSON
(``--json``) or hands it to the command's text printer.
"""

from __future__ import annotations

import argparse
import sys

from explorer.analysis import parameter_counts, summary
from explorer.analysis.memory_estimate import memory_warning
from explorer.cli.common import add_architecture
from explorer.core.memory import format_bytes
from explorer.core.registry import ARCHITECTURES, get_spec
from explorer.core.sizes import parse_input_size, valid_range


def list_data(args: argparse.Namespace) -> list[dict]:
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


def print_list(entries: list[dict], args: argparse.Namespace) -> None:
    for entry, spec in zip(entries, ARCHITECTURES):
        year = entry["year"] or "lab"
        print(f"{entry['id']:<18} {entry['name']:<26} {year!s:<5} {entry['in_channels']} channel(s), {valid_range(spec)}")


def summary_data(args: argparse.Namespace) -> dict:
    spec = get_spec(args.arch)
    height = args.height or args.size or spec.default_size
    width = args.width or args.size or spec.default_size
    size = parse_input_size(height, width, args.batch)
    table = summary.summarize(spec.id, size)
    warning = memory_warning(spec, size, table.totals)
    if warning:
        print(warning, file=sys.stderr)
    return summary.to_json(table, args.depth)


def print_summary(data: dict, args: argparse.Namespace) -> None:
    print(f"{data['architecture']}  input {'×'.join(map(str, data['input_size']))}")
    header = f"{'layer':<34} {'type':<20} {'output':<20} {'params':>13} {'mult-adds':>15}"
    print(header)
    print("-" * len(header))
    for layer in data["layers"]:
        indent = "  " * (layer["depth"] - 1)
        shape = "×".join(map(str, layer["output_shape"])) or "—"
        # An opened block's numbers are itemised in the rows below it.
        params_text, mult_adds = ("", "") if layer["expanded"] else (f"{layer['params']:,}", f"{layer['mult_adds']:,}")
        print(f"{indent + layer['name']:<34} {layer['type']:<20} {shape:<20} {params_text:>13} {mult_adds:>15}")
    print("-" * len(header))
    print(f"total parameters      {data['total_params']:,}")
    print(f"trainable parameters  {data['trainable_params']:,}")
    print(f"multiply-adds         {data['total_mult_adds']:,}")
    print(f"estimated memory      {format_bytes(data['estimated_memory_bytes'])}")


def params_data(args: argparse.Namespace) -> dict:
    return parameter_counts.to_json(get_spec(args.arch).id)


def print_params(data: dict, args: argparse.Namespace) -> None:
    print(f"{data['architecture']}: {data['total']:,} parameters")
    for kind, counts in data["by_kind"].items():
        print(f"  {kind:<18} weights {counts['weight']:>13,}   biases {counts['bias']:>9,}")
    print()
    for layer in data["layers"]:
        print(f"{layer['name']:<40} {layer['kind']:<16} {layer['formula']}")


def add_commands(commands) -> None:
    listing = commands.add_parser("list", help="the architectures, oldest first")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(data=list_data, text=print_list)
    table = commands.add_parser("summary", help="the layer table of one architecture")
    add_architecture(table, "architecture id, e.g. resnet18 (see `list`)")
    table.add_argument("--size", help="square input side in pixels")
    table.add_argument("--height")
    table.add_argument("--width")
    table.add_argument("--batch", default="1")
    table.add_argument("--depth", type=int, default=None, help="fold rows below this depth into blocks")
    table.add_argument("--json", action="store_true")
    table.set_defaults(data=summary_data, text=print_summary)
    breakdown = commands.add_parser("params", help="where the parameters live, with each layer's arithmetic")
    add_architecture(breakdown)
    breakdown.add_argument("--json", action="store_true")
    breakdown.set_defaults(data=params_data, text=print_params)
