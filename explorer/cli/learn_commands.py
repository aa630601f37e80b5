"""``train``: the learning run of the "Train on the digits" page, from a terminal.

    python -m explorer train lenet5 [--epochs 5] [--batch 64] [--lr 0.001] [--optimizer adam]
                                    [--drawings] [--weights random] [--size N] [--json]

The same ``DigitRun`` as the page, driven in the foreground: the network learns the
1,437 training scans (plus a thousand drawn digits with ``--drawings``) at the size
it reads digits at (``explorer.inputs.digit_sets.digit_side``), and is checked on the
360 held-out scans. The JSON has one row per epoch, ``train_loss`` and
``held_out_accuracy`` per epoch, and the training time until 90% held-out accuracy.
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from explorer.analysis.memory_estimate import memory_refusal
from explorer.analysis.summary import summarize
from explorer.cli.common import add_architecture, model_with_weights
from explorer.core.errors import UserError
from explorer.core.registry import get_spec
from explorer.core.sizes import check_size, parse_input_size
from explorer.inputs.digit_sets import DRAWN_PER_DIGIT, digit_data, digit_side
from explorer.runs.learning import MAX_EPOCHS, MAX_SHIFT, RECIPE, SCHEDULES, DigitRun, check_batch, check_epochs
from explorer.runs.progress import GOAL_ACCURACY
from explorer.runs.optimisers import OPTIMIZERS, check_learning_rate


def train_data(args: argparse.Namespace) -> dict:
    """The learning run, start to end, as JSON-ready data (refusals first, before any work)."""
    spec = get_spec(args.arch)
    epochs, batch, rate = check_epochs(args.epochs), check_batch(args.batch), check_learning_rate(args.lr)
    side = parse_input_size(args.size, args.size).height if args.size else digit_side(spec)
    size = parse_input_size(side, side, batch)
    check_size(spec, size)
    refusal = memory_refusal(spec, size, summarize(spec.id, size).totals)
    if refusal:
        raise UserError(refusal)
    model, weights = model_with_weights(spec, args.weights, args.seed)
    drawn = DRAWN_PER_DIGIT if args.drawings else 0
    run = DigitRun(spec, model.requires_grad_(False), side, lambda: digit_data(spec.id, side, weights, drawn),
                   args.optimizer, rate, batch, args.seed, args.schedule, args.shift)
    run.plan(epochs)
    started = time.perf_counter()
    run.prepare()
    preparing = time.perf_counter() - started
    while run.train_for(60.0):
        pass
    done = run.snapshot()
    if done.status == "failed":
        raise UserError(done.message)
    return {
        "architecture": spec.id,
        "input_size": [spec.in_channels, side, side],
        "weights": args.weights,
        "optimizer": args.optimizer,
        "learning_rate": rate,
        "batch": batch,
        "schedule": run.schedule,
        "shift": run.shift,
        "train_pictures": len(run.data.train_labels),
        "held_out_pictures": len(run.data.test_labels),
        "start_held_out_accuracy": done.held_out_points[0][1],
        "epochs": [row.__dict__ for row in done.epochs],
        "train_loss": [row.train_loss for row in done.epochs],
        "held_out_accuracy": [row.held_out_accuracy for row in done.epochs],
        "final_held_out_accuracy": done.held_out_accuracy,
        "seconds_to_90": done.seconds_to_goal,
        "training_seconds": done.seconds,
        "preparing_seconds": preparing,
        "torch_threads": torch.get_num_threads(),
        "load_average": list(os.getloadavg()),
    }


def print_train(data: dict, args: argparse.Namespace) -> None:
    c, h, w = data["input_size"]
    print(f"{data['architecture']} at {h}×{w} ({c} channel{'s' if c > 1 else ''}), {data['weights']} start, "
          f"{OPTIMIZERS[data['optimizer']]} at learning rate {data['learning_rate']:g}, batches of {data['batch']}: "
          f"{data['train_pictures']} pictures to learn from, {data['held_out_pictures']} held out")
    print(f"before training: held-out accuracy {data['start_held_out_accuracy']:.1%}")
    print(f"{'epoch':>5} {'train loss':>11} {'held-out loss':>14} {'held-out acc':>13} {'seconds':>8}")
    for row in data["epochs"]:
        print(f"{row['epoch']:>5} {row['train_loss']:>11.4f} {row['held_out_loss']:>14.4f} "
              f"{row['held_out_accuracy']:>13.1%} {row['seconds']:>8.1f}")
    goal = data["seconds_to_90"]
    reached = (f"{GOAL_ACCURACY:.0%} held-out accuracy after {goal:.1f} s of training" if goal is not None
               else f"never reached {GOAL_ACCURACY:.0%} held-out accuracy")
    print(f"{reached}; final {data['final_held_out_accuracy']:.1%} after {data['training_seconds']:.1f} s "
          f"(preparing the pictures {data['preparing_seconds']:.1f} s; load average "
          f"{data['load_average'][0]:.2f}, {data['torch_threads']} torch threads)")


def add_commands(commands) -> None:
    train = commands.add_parser("train", help="a learning run on the scanned digits, checked on held-out scans")
    add_architecture(train, "architecture id, e.g. lenet5 (see `list`)")
    # The defaults are the recipe with which LeNet-5 beats the classic baselines (benchmarks/LEARNING.md).
    train.add_argument("--epochs", default=str(RECIPE["epochs"]), help=f"passes over the training pictures (1–{MAX_EPOCHS})")
    train.add_argument("--batch", default=str(RECIPE["batch"]), help="pictures per mini-batch")
    train.add_argument("--lr", default=str(RECIPE["learning_rate"]), help="learning rate")
    train.add_argument("--optimizer", choices=list(OPTIMIZERS), default=RECIPE["optimizer"])
    train.add_argument("--schedule", choices=list(SCHEDULES), default=RECIPE["schedule"],
                       help="one-cycle: the learning rate warms up to --lr, then cools down over the run")
    train.add_argument("--shift", default=str(RECIPE["shift"]),
                       help=f"move each training picture by up to this many pixels (0–{MAX_SHIFT})")
    train.add_argument("--drawings", action="store_true", help=f"add {DRAWN_PER_DIGIT * 10:,} digits drawn by program")
    train.add_argument("--size", help="input side in pixels (default: the size the network reads digits at)")
    train.add_argument("--seed", type=int, default=0, help="seed of the random weights and of the batch order")
    train.add_argument("--weights", default="random", help="random (default), digits, imagenet, ... or a state dict")
    train.add_argument("--json", action="store_true")
    train.set_defaults(data=train_data, text=print_train)
