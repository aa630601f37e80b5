"""Train the digit networks and write their checkpoints and reports into explorer/weights/checkpoints.

    .venv/bin/python scripts/train_digits.py   # about 3 CPU minutes (one thread); byte-identical reruns

- LeNet-5: scikit-learn's scanned digits (the fixed 80/20 split of explorer.inputs.scans, training part
  only) plus digits drawn by program like canvas drawings (explorer.inputs.drawings, training shapes
  only), each batch freshly shifted, scaled, rotated, slanted and made thinner or bolder.
  It is tested on the 360 held-out scans and on drawings like the page's canvas made with
  other seeds. To see how it copes with a way of writing a digit it never saw, a twin is
  first trained without each digit's held-out shape (explorer.drawings.HELD_OUT_SHAPES)
  and tested on drawings of those shapes; the shipped network then learns them too.
- Toy networks: the ten 5×5 scoreboard digits with random noise added, tested on every digit
  with one cell flipped (a kind of damage never shown during training).

Everything is seeded and runs with deterministic algorithms on one thread, so a rerun on the
same software writes the same weights. ``--without-drawings`` trains LeNet-5 on the scans
alone and only prints its scores (nothing is written), to show what the drawings add.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from explorer.core.registry import get_spec  # noqa: E402
from explorer.inputs import digit_inputs, drawings  # noqa: E402
from explorer.inputs.scans import SPLIT_SEED, TEST_SHARE  # noqa: E402
from explorer.runs.evaluation import correct_count  # noqa: E402
from explorer.weights import digit_checkpoints  # noqa: E402

SEED = 0
LENET_EPOCHS = 30
BATCH = 64
LEARNING_RATE = 1e-3
# Drawings: the seeds differ, so no test drawing is a training drawing.
TRAIN_DRAWINGS = {"per_digit": 200, "seed": 1, "shapes": "training", "style": "training"}
TRAIN_HELD_OUT_SHAPES = {"per_digit": 70, "seed": 4, "shapes": "held_out", "style": "training"}
PAGE_TEST = {"per_digit": 50, "seed": 2, "shapes": "all", "style": "page"}
NEW_SHAPES_TEST = {"per_digit": 50, "seed": 3, "shapes": "held_out", "style": "page"}
TOY_STEPS = 1500
TOY_NOISE = 0.35  # largest standard deviation of the noise added to a 0/1 scoreboard digit


def deterministic(seed: int) -> torch.Generator:
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    return torch.Generator().manual_seed(seed)


def make_drawings(settings: dict) -> tuple[torch.Tensor, torch.Tensor]:
    style = getattr(drawings.Style, settings["style"])()
    return digit_inputs.drawing_inputs(
        drawings.drawings(settings["per_digit"], settings["seed"], style, settings["shapes"])
    )


def _uniform(n: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator)


def augment(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each picture moved, zoomed, turned and slanted a little, and its strokes made thinner or bolder."""
    n = batch.shape[0]
    angle = _uniform(n, -math.radians(12), math.radians(12), generator)
    zoom = _uniform(n, 0.75, 1.15, generator)
    shear = _uniform(n, -0.2, 0.2, generator)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack(
        [
            torch.stack([cos, -sin + shear * cos, _uniform(n, -0.15, 0.15, generator)], dim=1),
            torch.stack([sin, cos + shear * sin, _uniform(n, -0.15, 0.15, generator)], dim=1),
        ],
        dim=1,
    )
    grid = F.affine_grid(theta, list(batch.shape), align_corners=False)
    moved = F.grid_sample(batch, grid, align_corners=False, padding_mode="zeros")
    bolder = F.max_pool2d(moved, 3, stride=1, padding=1)
    thinner = -F.max_pool2d(-moved, 3, stride=1, padding=1)
    pick = torch.rand(n, 1, 1, 1, generator=generator)
    return torch.where(pick < 0.2, bolder, torch.where(pick < 0.4, thinner, moved)).clamp(0, 1)


def train_lenet(inputs: torch.Tensor, labels: torch.Tensor, generator: torch.Generator) -> torch.nn.Module:
    model = get_spec("lenet5").build("cpu").train()  # built after seeding: the same start every run
    optimiser = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=LENET_EPOCHS)
    for epoch in range(LENET_EPOCHS):
        order = torch.randperm(len(labels), generator=generator)
        for start in range(0, len(order), BATCH):
            chosen = order[start : start + BATCH]
            loss = F.cross_entropy(model(augment(inputs[chosen], generator)), labels[chosen])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        schedule.step()
    return model.eval()


def score(model: torch.nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> dict:
    correct = correct_count(model, inputs, labels)
    return {"correct": correct, "count": len(labels), "accuracy": correct / len(labels)}


def lenet5(with_drawings: bool) -> tuple[torch.nn.Module, dict]:
    """The shipped LeNet-5, and a twin trained without the held-out shapes to measure unseen shapes."""
    started = time.perf_counter()
    train_x, train_y = digit_inputs.scan_inputs("train")
    test_x, test_y = digit_inputs.scan_inputs("test")
    scans = len(train_y)
    page_test, new_shapes_test = make_drawings(PAGE_TEST), make_drawings(NEW_SHAPES_TEST)
    shape_experiment = None
    if with_drawings:
        usual_x, usual_y = make_drawings(TRAIN_DRAWINGS)
        extra_x, extra_y = make_drawings(TRAIN_HELD_OUT_SHAPES)
        twin = train_lenet(torch.cat([train_x, usual_x]), torch.cat([train_y, usual_y]), deterministic(SEED))
        shape_experiment = {
            "what": "a twin trained the same way but never shown the held-out shapes, tested on them",
            **NEW_SHAPES_TEST, **score(twin, *new_shapes_test),
        }
        train_x, train_y = torch.cat([train_x, usual_x, extra_x]), torch.cat([train_y, usual_y, extra_y])
    model = train_lenet(train_x, train_y, deterministic(SEED))
    held_out = score(model, test_x, test_y)
    report = {
        "arch": "lenet5",
        "summary": f"held-out accuracy {held_out['accuracy']:.1%} on {held_out['count']} scanned digits",
        "held_out_accuracy": held_out["accuracy"],
        "held_out_correct": held_out["correct"],
        "test_size": held_out["count"],
        "train_size": scans,
        "dataset": ("scikit-learn's 1,797 scanned handwritten digits (8×8 pixels, 17 grey levels) "
                    "and digits drawn by program like drawings on the canvas"),
        "held_out_set": f"the {held_out['count']} scanned digits kept out of training",
        "split": {"method": "sklearn train_test_split, stratified", "test_share": TEST_SHARE,
                  "random_state": SPLIT_SEED},
        "input": "the app's own path: PNG, explorer.inputs.images.load_image, prepare(lenet5, 32, 32)",
        "training_drawings": [TRAIN_DRAWINGS, TRAIN_HELD_OUT_SHAPES] if with_drawings else [],
        "drawn_like_the_page": {**PAGE_TEST, **score(model, *page_test)},
        "drawn_in_the_held_out_shapes": {**NEW_SHAPES_TEST, **score(model, *new_shapes_test)},
        "unseen_shapes_experiment": shape_experiment,
        "seed": SEED,
        "epochs": LENET_EPOCHS,
        "batch_size": BATCH,
        "optimiser": f"Adam, learning rate {LEARNING_RATE:g}, cosine schedule",
        "augmentation": "shift ±2.4 px, zoom 0.75–1.15, rotation ±12°, shear ±0.2, strokes thinner/bolder (20% each)",
        "training_seconds": round(time.perf_counter() - started, 1),
        "torch_version": torch.__version__,
    }
    return model, report


def train_toy(arch_id: str, sides: tuple[int, ...], generator: torch.Generator) -> torch.nn.Module:
    """Many noisy copies of the ten clean digits per step, at every input size the network takes."""
    model = get_spec(arch_id).build("cpu").train()
    optimiser = torch.optim.Adam(model.parameters(), lr=0.02)
    clean = {side: digit_inputs.scoreboard_inputs(arch_id, side) for side in sides}
    for _ in range(TOY_STEPS):
        loss = 0.0
        for inputs, labels in clean.values():
            copies, targets = inputs.repeat(16, 1, 1, 1), labels.repeat(16)
            spread = TOY_NOISE * torch.rand(len(targets), 1, 1, 1, generator=generator)
            noisy = copies + spread * torch.randn(copies.shape, generator=generator)
            loss = loss + F.cross_entropy(model(noisy), targets)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return model.eval()


def toy(arch_id: str) -> tuple[torch.nn.Module, dict]:
    started = time.perf_counter()
    generator = deterministic(SEED)
    spec = get_spec(arch_id)
    sides = tuple(range(spec.min_size, spec.max_size + 1))
    model = train_toy(arch_id, sides, generator)
    report = {"arch": arch_id, "input_sizes": list(sides), "clean": {}, "one_cell_flipped": {}}
    for side in sides:
        report["clean"][str(side)] = score(model, *digit_inputs.scoreboard_inputs(arch_id, side))
        report["one_cell_flipped"][str(side)] = score(model, *digit_inputs.scoreboard_flips(arch_id, side))
    flipped = report["one_cell_flipped"][str(sides[0])]
    report.update({
        "summary": (f"reads {report['clean'][str(sides[0])]['correct']} of 10 clean scoreboard digits and "
                    f"{flipped['accuracy']:.1%} of the {flipped['count']} with one cell flipped"),
        "held_out_accuracy": flipped["accuracy"],
        "dataset": "the lab's ten 5×5 scoreboard digits with random noise added",
        "training": f"{TOY_STEPS} Adam steps, 16 noisy copies of each digit per size per step, "
                    f"Gaussian noise with a standard deviation drawn from 0–{TOY_NOISE}",
        "held_out_set": "the 250 scoreboard digits with one cell flipped, a kind of damage never seen in training",
        "seed": SEED,
        "steps": TOY_STEPS,
        "training_seconds": round(time.perf_counter() - started, 1),
        "torch_version": torch.__version__,
    })
    return model, report


def save(arch_id: str, model: torch.nn.Module, report: dict) -> None:
    digit_checkpoints.CHECKPOINT_DIR.mkdir(exist_ok=True)
    # Cloned tensors, so each file holds only its own weights (never a larger shared storage).
    torch.save({key: value.detach().clone() for key, value in model.state_dict().items()},
               digit_checkpoints.checkpoint_path(arch_id))
    digit_checkpoints.report_path(arch_id).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{arch_id}: {report['summary']} ({report['training_seconds']} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--without-drawings", action="store_true", help="LeNet-5 on scans only; print, write nothing")
    parser.add_argument("--only", choices=sorted(digit_checkpoints.DIGITS_WEIGHTS_ARCHS), help="train just this network")
    options = parser.parse_args()
    if options.without_drawings:
        _, report = lenet5(with_drawings=False)
        print(json.dumps({k: report[k] for k in ("summary", "drawn_like_the_page", "drawn_in_the_held_out_shapes")},
                         indent=2, ensure_ascii=False))
        return
    for arch_id in ("toy_dense", "toy_conv", "lenet5"):
        if options.only in (None, arch_id):
            save(arch_id, *(lenet5(with_drawings=True) if arch_id == "lenet5" else toy(arch_id)))


if __name__ == "__main__":
    main()
