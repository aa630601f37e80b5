"""Commands that really run a network on a picture: ``activations`` and ``train-step``.

Both start the same way (``explorer.cli.common.prepare_run``): the size and memory
checks the app makes, then the model holding the ``--weights`` choice.
"""

from __future__ import annotations

import argparse

import torch

from explorer.analysis.summary import summarize
from explorer.cli.common import add_architecture, add_run_arguments, prepare_run, read_file
from explorer.core.sizes import parse_whole_number
from explorer.inputs import images, samples
from explorer.runs import interventions
from explorer.runs.capture import run_on_image
from explorer.runs.held_out import HeldOut, held_out_set, score
from explorer.runs.capture_results import Capture
from explorer.runs.predictions import top_classes
from explorer.runs.step_warnings import step_warnings
from explorer.runs.training import Trainer, default_target
from explorer.weights import catalogue

# Ten times the page's largest "Take N steps": enough to watch a loss fall, not an open-ended job.
MAX_CLI_STEPS = 1000


def capture_json(run, result: Capture, k: int = 5) -> dict:
    """Per layer call: name, type, shape and statistics; plus the top-k classes."""
    names = catalogue.class_names(run.spec, run.weights)
    return {
        "architecture": run.spec.id,
        "layers": [
            {
                "name": layer.name,
                "type": layer.type,
                "shape": list(layer.shape),
                **(
                    {"min": layer.stats.minimum, "max": layer.stats.maximum, "mean": layer.stats.mean,
                     "zero_share": layer.stats.zero_share}
                    if layer.stats else {}
                ),
            }
            for layer in result.layers
        ],
        "top": [{"class": name, "probability": p} for name, p in top_classes(run.spec, result.logits, k, names)],
    }


def activations_data(args: argparse.Namespace) -> dict:
    run = prepare_run(args)
    plan = None
    if args.ablate or args.bypass:  # checked against the layer table before the picture is even read
        table = summarize(run.spec.id, run.size)
        plan = interventions.Plan(tuple(interventions.parse_ablation(run.spec, table, a) for a in args.ablate or ()),
                                  tuple(interventions.check_bypass(run.spec, table, b) for b in args.bypass or ()))
    picture = images.load_image(read_file(args.image, "picture"))
    prepared = images.prepare(picture, run.spec, run.size.height, run.size.width, run.weights)
    if plan is None:
        return capture_json(run, run_on_image(run.spec, run.model, prepared.tensor))
    result = interventions.intervene(run.spec, run.model, prepared.tensor, plan)
    data = capture_json(run, result.changed)  # every layer as it is with the changes
    for layer, change in zip(data["layers"], result.changes):
        layer["change"] = change
    untouched = capture_json(run, result.untouched)
    return {**data, "interventions": plan.describe(), "untouched_top": untouched["top"]}


def print_activations(data: dict, args: argparse.Namespace) -> None:
    changed = "interventions" in data
    print(f"{'layer':<40} {'shape':<20} {'min':>10} {'max':>10} {'mean':>10} {'zeros':>7}" + ("  change" * changed))
    for layer in data["layers"]:
        shape = "×".join(map(str, layer["shape"]))
        numbers = (
            f"{layer['min']:>10.4g} {layer['max']:>10.4g} {layer['mean']:>10.4g} {layer['zero_share']:>7.1%}"
            if "min" in layer else ""
        )
        change = f" {layer['change']:>7.1%}" if changed and layer.get("change") is not None else ""
        print(f"{layer['name']:<40} {shape:<20} {numbers}{change}")
    meaning = " (meaningless: nobody trained them)" if args.weights == catalogue.RANDOM else ""
    if "interventions" in data:
        print("\nwith " + "; ".join(data["interventions"]) + ". Untouched top-5:")
        for entry in data["untouched_top"]:
            print(f"  {entry['probability']:7.2%}  {entry['class']}")
        print(f"changed top-5 with {args.weights} weights{meaning}:")
    else:
        print(f"\ntop-5 with {args.weights} weights{meaning}:")
    for entry in data["top"]:
        print(f"  {entry['probability']:7.2%}  {entry['class']}")


def train_step_data(args: argparse.Namespace) -> dict:
    """``--steps`` steps on one picture (a bundled sample unless ``--image``), as JSON data."""
    steps = parse_whole_number(args.steps, "number of steps", 1, MAX_CLI_STEPS)
    run = prepare_run(args)
    spec, height, width = run.spec, run.size.height, run.size.width
    sample = None
    if args.image is None:
        sample = samples.samples_of(samples.default_kind(spec.in_channels, spec.default_size))[0]
        data = samples.sample_bytes(sample.key)
    else:
        data = read_file(args.image, "picture")
    prepared = images.prepare(images.load_image(data), spec, height, width, run.weights)
    target = default_target(spec, sample) if args.label is None else args.label
    torch.manual_seed(args.seed)
    source = run.model.requires_grad_(False)
    held = held_out_set(spec, run.weights, height, width, source, sample.key if sample else None)
    trainer = Trainer(spec, source, args.optimizer, args.lr)
    before = score(trainer.model, held) if isinstance(held, HeldOut) else None
    results = trainer.take_steps(prepared.tensor, target, steps)
    after = score(trainer.model, held) if isinstance(held, HeldOut) else None
    names = catalogue.class_names(spec, run.weights)
    last = results[-1]
    if after:
        extra = {"held_out": {"pictures": held.what, "before": before.to_json(), "after": after.to_json()}}
    else:
        extra = {"no_held_out": held}
    return {
        "architecture": spec.id,
        "input_size": [spec.in_channels, height, width],
        "picture": sample.label if sample else args.image,
        "optimizer": args.optimizer,
        "learning_rate": args.lr,
        "weights": run.weights,
        "label": target,
        "class_name": names[target],
        "steps": len(results),
        "loss_before": results[0].loss_before,
        "loss_after": last.loss_after,
        "losses": [r.loss_after for r in results],
        "grad_norms": dict(zip(last.layers, map(float, last.grad_norms))),
        "update_ratios": dict(zip(last.layers, map(float, last.update_ratios))),
        **extra,
        "warnings": step_warnings(results, before, after, held.what if after else None),
    }


def print_train_step(data: dict, args: argparse.Namespace) -> None:
    print(f"{data['architecture']}: {data['steps']} step(s) of {data['optimizer']} at learning rate "
          f"{data['learning_rate']:g} towards class {data['label']} ({data['class_name']})")
    print(f"loss {data['loss_before']:.6g} -> " + " -> ".join(f"{loss:.6g}" for loss in data["losses"]))
    print(f"{'layer':<40} {'gradient norm':>14} {'|dw|/|w|':>12}")
    for layer, norm in data["grad_norms"].items():
        print(f"{layer:<40} {norm:>14.4g} {data['update_ratios'][layer]:>12.4g}")
    held = data.get("held_out")
    if held:
        before, after = held["before"], held["after"]
        print(f"held out ({held['pictures']}): loss {before['loss']:.4g} -> {after['loss']:.4g}, "
              f"accuracy {before['accuracy']:.1%} -> {after['accuracy']:.1%}")
    else:
        print(data["no_held_out"])
    for sentence in data["warnings"]:
        print(f"warning: {sentence}")


def add_commands(commands) -> None:
    activations = commands.add_parser("activations", help="every layer's output statistics for one picture")
    add_architecture(activations)
    activations.add_argument("--image", required=True, help="picture file (JPEG, PNG, WebP, BMP, GIF)")
    activations.add_argument("--ablate", action="append", metavar="LAYER[:CHANNELS]",
                             help="switch off channels of a layer (e.g. layer1.0.conv1:0,3,8-15; no channels: all); repeatable")
    activations.add_argument("--bypass", action="append", metavar="BLOCK",
                             help="bypass a residual block (e.g. layer3.1): only its shortcut goes on; repeatable")
    add_run_arguments(activations)
    activations.set_defaults(data=activations_data, text=print_activations)
    train = commands.add_parser("train-step", help="optimiser steps on one picture, with loss and gradient norms")
    add_architecture(train, "architecture id, e.g. lenet5 (see `list`)")
    train.add_argument("--image", help="picture file (default: a bundled sample)")
    train.add_argument("--label", type=int, default=None, help="target class index (default: the sample's digit, else 0)")
    train.add_argument("--lr", type=float, default=0.1, help="learning rate (the lab's is 0.1)")
    train.add_argument("--optimizer", choices=["sgd", "momentum", "adam"], default="sgd")
    train.add_argument("--steps", type=int, default=1)
    add_run_arguments(train)
    train.set_defaults(data=train_step_data, text=print_train_step)
