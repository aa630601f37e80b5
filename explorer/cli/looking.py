"""Commands about where a network looks and what each unit sees: ``cam`` and ``receptive-field``.

    python -m explorer cam ARCH --image PATH [--layer NAME] [--target K]
                           [--method gradcam|gradcampp|layercam|scorecam|saliency|smoothgrad] [--weights W] [--json]
    python -m explorer receptive-field ARCH [--size N] [--json]

``cam`` prints the map at the layer's own resolution (the input's for the two saliency
methods), values 0…1; ``receptive-field`` one object per row of the layer table at full
depth, in its order, with its dotted names.
"""

from __future__ import annotations

import argparse
import sys

from explorer.analysis.summary import summarize
from explorer.cli.common import add_architecture, add_run_arguments, prepare_run, read_file
from explorer.core.errors import UserError
from explorer.core.registry import get_spec
from explorer.core.sizes import parse_input_size
from explorer.inputs import images
from explorer.runs.attribution import METHODS, ON_THE_INPUT
from explorer.weights import catalogue

_SHADES = " .:-=+*#%@"  # 0 … 1 in ten steps, for a map printed in a terminal


def _progress(done: int, total: int, shown: list[int] = [-1]) -> None:
    tenth = done * 10 // max(total, 1)
    if tenth != shown[0]:
        shown[0] = tenth
        print(f"  Score-CAM: {done} of {total} masked passes", file=sys.stderr)


def cam_data(args: argparse.Namespace) -> dict:
    from explorer.runs import cams, gradients
    from explorer.runs.layer_choice import check_class, default_map_layer

    run = prepare_run(args)
    table = summarize(run.spec.id, run.size)
    target = None if args.target is None else check_class(run.spec, args.target)
    prepared = images.prepare(images.load_image(read_file(args.image, "picture")), run.spec, run.size.height,
                              run.size.width, run.weights)
    if args.method in ON_THE_INPUT:
        if args.layer:
            raise UserError(f"{METHODS[args.method]} maps the input pixels themselves, so it takes no --layer.")
        result = gradients.saliency(run.spec, run.model, prepared.tensor, target, smooth=args.method == "smoothgrad")
    else:
        layer = args.layer or default_map_layer(table)
        result = cams.class_activation_map(run.spec, run.model, prepared.tensor, table, args.method, layer, target,
                                           progress=_progress if args.method == "scorecam" else None)
    names = catalogue.class_names(run.spec, run.weights)
    return {
        "architecture": run.spec.id,
        "weights": run.weights,
        **result.to_json((run.size.height, run.size.width)),
        "target_name": names[result.target],
        "predicted_name": names[result.predicted],
    }


def print_cam(data: dict, args: argparse.Namespace) -> None:
    where = f"at {data['layer']}" if data["layer"] else "on the input pixels"
    print(f"{data['architecture']}: {METHODS[data['method']]} {where} for class {data['target']} ({data['target_name']}); "
          f"predicted {data['predicted']} ({data['predicted_name']})")
    if data["weights"] == catalogue.RANDOM:
        print("(random weights: nobody trained them, so this map means nothing yet)")
    height, width = data["map_size"]
    step = max(1, -(-max(height, width) // 64))  # a terminal shows about 64 characters of it
    for row in data["map"][::step]:
        print("".join(_SHADES[min(int(v * len(_SHADES)), len(_SHADES) - 1)] * 2 for v in row[::step]))


def receptive_field_data(args: argparse.Namespace) -> list[dict]:
    spec = get_spec(args.arch)
    side = args.size or spec.default_size
    table = summarize(spec.id, parse_input_size(side, side, 1))
    empty = {"size": None, "stride": None, "start": None}
    return [
        {"name": name, "type": kind, **(field.to_json() if field is not None else empty)}
        for name, kind, field in zip(table.calls["name"], table.calls["type"], table.calls["field"])
    ]


def _pair(value) -> str:
    if value is None:
        return "—"
    return str(value[0]) if value[0] == value[1] else f"{value[0]}×{value[1]}"


def print_receptive_field(rows: list[dict], args: argparse.Namespace) -> None:
    print(f"{'layer':<40} {'type':<20} {'field':>11} {'stride':>8} {'start':>8}")
    for row in rows:
        size = "—" if row["size"] is None else f"{row['size'][0]}×{row['size'][1]}"
        print(f"{row['name']:<40} {row['type']:<20} {size:>11} {_pair(row['stride']):>8} {_pair(row['start']):>8}")


def add_commands(commands) -> None:
    cam = commands.add_parser("cam", help="where the network looks for a class: a class activation map or saliency")
    add_architecture(cam)
    cam.add_argument("--image", required=True, help="picture file (JPEG, PNG, WebP, BMP, GIF)")
    cam.add_argument("--layer", help="layer-table name (default: the last layer whose map is larger than 1×1)")
    cam.add_argument("--target", help="class number (default: the predicted class)")
    cam.add_argument("--method", choices=list(METHODS), default="gradcam")
    add_run_arguments(cam)
    cam.set_defaults(data=cam_data, text=print_cam)
    fields = commands.add_parser("receptive-field", help="each layer's receptive field, effective stride and start")
    add_architecture(fields)
    fields.add_argument("--size", help="square input side in pixels (default: the network's usual input)")
    fields.add_argument("--json", action="store_true")
    fields.set_defaults(data=receptive_field_data, text=print_receptive_field)
