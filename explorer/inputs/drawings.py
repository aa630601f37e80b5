"""Digits drawn the way a student draws them on the feature-map page's canvas, rendered by program.

The page's canvas (streamlit-drawable-canvas) is 280×280 pixels with a black
background; the pen draws white, 22 pixels wide, with round ends, and the page
receives the drawing as an opaque RGBA PNG. Here each digit is a few pen strokes
(polylines through points of a unit box, x to the right and y down), in the shapes
people actually write: an open and a closed 4, a 7 with and without a crossbar,
an 8 as two loops or as one figure-eight stroke, and so on. Every drawing gets its
own size, place, slant, rotation, wobble and pen width, drawn at twice the size and
shrunk, so the edges are smoothed the way a browser smooths them.

``drawing_png`` returns the PNG's bytes: they go through exactly the code the page
uses (``explorer.inputs.images.load_image`` and ``prepare``), so a rate measured on them is
the rate of the page's path, not of a shortcut. Checked once against the real canvas
(Chromium, Playwright drawing the same strokes with the mouse on an st_canvas with the
page's settings): it sends a 280×280 opaque RGBA PNG, and over 28 drawings the 32×32
inputs LeNet-5 received from the two differed by 0.004–0.009 on average (values 0–1),
with the same prediction every time.

Each digit's last shape in ``SHAPES`` (all have three) is its held-out shape (``HELD_OUT_SHAPES``):
``drawings(..., shapes="training")`` never draws it, so a network trained on those
alone can be tested on shapes it has never seen in any form.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

CANVAS_SIDE = 280  # the page's st_canvas(width=280, height=280)
PAGE_PEN_WIDTH = 22  # the page's st_canvas(stroke_width=22)
_SUPERSAMPLE = 2

Stroke = list[tuple[float, float]]


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float, steps: int = 24) -> Stroke:
    """Points of an ellipse arc; angles in degrees, 0 = right, 90 = down (screen coordinates)."""
    angles = np.radians(np.linspace(start, end, steps))
    return [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in angles]


def _figure_eight(steps: int = 48) -> Stroke:
    """An 8 in one stroke: down the right of the top loop, crossing in the middle, and back up."""
    t = np.linspace(0, 2 * np.pi, steps)
    return [(0.5 - 0.36 * np.sin(2 * a), 0.5 - 0.5 * np.cos(a)) for a in t]


# Each digit: a list of shapes; each shape: a list of strokes (pen down ... pen up).
SHAPES: dict[int, list[list[Stroke]]] = {
    0: [
        [_arc(0.5, 0.5, 0.4, 0.5, -90, 270, 36)],
        [_arc(0.5, 0.5, 0.36, 0.5, -60, 310, 36)],
        [_arc(0.5, 0.5, 0.28, 0.5, -100, 265, 36)],
    ],
    1: [
        [[(0.5, 0.0), (0.5, 1.0)]],
        [[(0.25, 0.22), (0.55, 0.0), (0.55, 1.0)]],
        [[(0.3, 0.2), (0.55, 0.0), (0.55, 1.0)], [(0.25, 1.0), (0.85, 1.0)]],
    ],
    2: [
        [_arc(0.5, 0.27, 0.38, 0.27, 195, 380) + [(0.1, 1.0), (0.92, 1.0)]],
        [_arc(0.5, 0.3, 0.4, 0.3, 180, 360) + _arc(0.1, 0.3, 0.8, 0.7, 0, 90, 12)[1:] + [(0.9, 0.98)]],
        [_arc(0.48, 0.25, 0.36, 0.25, 190, 370) + [(0.2, 0.85)] + _arc(0.25, 0.92, 0.1, 0.08, -60, 200, 10)
         + [(0.9, 0.95)]],
    ],
    3: [
        [_arc(0.45, 0.26, 0.38, 0.26, 200, 450) + _arc(0.45, 0.76, 0.42, 0.24, -90, 160)],
        [[(0.12, 0.0), (0.85, 0.0), (0.42, 0.42)] + _arc(0.45, 0.7, 0.4, 0.3, -80, 160)],
        [_arc(0.5, 0.25, 0.33, 0.25, 210, 440) + [(0.35, 0.52)],
         [(0.35, 0.52)] + _arc(0.5, 0.76, 0.38, 0.24, -90, 165)],
    ],
    4: [
        [[(0.22, 0.0), (0.08, 0.62), (0.95, 0.62)], [(0.72, 0.12), (0.72, 1.0)]],
        [[(0.72, 1.0), (0.72, 0.0), (0.05, 0.68), (0.95, 0.68)]],
        [[(0.62, 0.0), (0.05, 0.66), (0.95, 0.66)], [(0.68, 0.3), (0.68, 1.0)]],
    ],
    5: [
        [[(0.85, 0.0), (0.2, 0.0), (0.15, 0.45)] + _arc(0.45, 0.7, 0.4, 0.3, -145, 150)],
        [[(0.22, 0.0), (0.17, 0.46)] + _arc(0.45, 0.71, 0.4, 0.29, -140, 155), [(0.2, 0.0), (0.88, 0.0)]],
        [[(0.8, 0.02), (0.25, 0.02), (0.2, 0.5)] + _arc(0.5, 0.7, 0.35, 0.3, -160, 120)],
    ],
    6: [
        [[(0.75, 0.0)] + _arc(0.62, 0.62, 0.5, 0.62, 255, 170)[1:] + _arc(0.5, 0.72, 0.38, 0.28, 180, -180, 30)],
        [[(0.7, 0.0), (0.2, 0.6)] + _arc(0.5, 0.72, 0.36, 0.28, 200, -160, 30)],
        [_arc(0.7, 0.55, 0.55, 0.55, 240, 175) + _arc(0.5, 0.75, 0.35, 0.25, 180, -170, 30)],
    ],
    7: [
        [[(0.08, 0.0), (0.92, 0.0), (0.38, 1.0)]],
        [[(0.08, 0.0), (0.92, 0.0), (0.4, 1.0)], [(0.3, 0.52), (0.82, 0.52)]],
        [[(0.1, 0.18), (0.1, 0.0), (0.9, 0.0), (0.55, 0.5), (0.45, 1.0)]],
    ],
    8: [
        [_arc(0.5, 0.25, 0.3, 0.25, 90, 450, 30), _arc(0.5, 0.74, 0.38, 0.26, -90, 270, 30)],
        [_figure_eight()],
        [_arc(0.5, 0.27, 0.33, 0.27, 20, 340, 30) + _arc(0.5, 0.74, 0.36, 0.26, -120, 240, 30)],
    ],
    9: [
        [_arc(0.45, 0.28, 0.35, 0.28, 0, -360, 30) + [(0.8, 0.28), (0.74, 1.0)]],
        [_arc(0.45, 0.27, 0.34, 0.27, -10, -370, 30) + _arc(0.35, 0.65, 0.45, 0.35, -40, 90, 12)],
        [_arc(0.48, 0.25, 0.36, 0.25, 10, -350, 30) + [(0.84, 0.3), (0.84, 1.0)]],
    ],
}

HELD_OUT_SHAPES: dict[int, int] = {digit: len(shapes) - 1 for digit, shapes in SHAPES.items()}


@dataclass(frozen=True)
class Style:
    """How varied the drawings are. ``page()`` is what a student on the page produces."""

    height: tuple[float, float]  # digit height as a share of the canvas
    width_share: tuple[float, float]  # digit width as a share of its height
    rotation: tuple[float, float]  # degrees, positive = clockwise
    slant: tuple[float, float]  # horizontal shear: x += slant · (y − centre)
    wobble: float  # hand tremor, in units of the digit box
    pen: tuple[int, int]  # pen width in canvas pixels
    off_centre: float  # largest shift of the digit's centre, as a share of the canvas

    @classmethod
    def page(cls) -> "Style":
        """A student following the page's advice ("large, filling the square") with its 22-pixel pen."""
        return cls((0.55, 0.9), (0.5, 0.8), (-12, 12), (-0.25, 0.15), 0.025, (PAGE_PEN_WIDTH, PAGE_PEN_WIDTH), 0.1)

    @classmethod
    def training(cls) -> "Style":
        """Wider ranges than the page's, so that training covers what the page can produce."""
        return cls((0.4, 0.95), (0.4, 0.9), (-18, 18), (-0.35, 0.25), 0.035, (14, 32), 0.16)


def _densify(stroke: Stroke, spacing: float = 0.03) -> np.ndarray:
    points = np.asarray(stroke, dtype=float)
    out = [points[0]]
    for start, end in zip(points[:-1], points[1:]):
        pieces = max(1, int(np.ceil(np.linalg.norm(end - start) / spacing)))
        out.extend(start + (end - start) * k / pieces for k in range(1, pieces + 1))
    return np.asarray(out)


def _wobble(points: np.ndarray, amount: float, rng: np.random.Generator) -> np.ndarray:
    """A smooth hand tremor: two slow sine waves along the stroke, in random directions."""
    along = np.linspace(0, 1, len(points))[:, None]
    shaky = np.zeros_like(points)
    for _ in range(2):
        frequency, phase = rng.uniform(0.5, 2.5), rng.uniform(0, 2 * np.pi)
        shaky += rng.normal(0, amount, 2) * np.sin(2 * np.pi * frequency * along + phase)
    return points + shaky


def _place(strokes: list[np.ndarray], style: Style, rng: np.random.Generator) -> tuple[list[np.ndarray], int]:
    """Strokes from the unit box to canvas pixels: size, slant, rotation and position."""
    pen = int(rng.integers(style.pen[0], style.pen[1] + 1))
    height = rng.uniform(*style.height) * CANVAS_SIDE
    width = height * rng.uniform(*style.width_share)
    slant, angle = rng.uniform(*style.slant), np.radians(rng.uniform(*style.rotation))
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    placed = []
    for points in strokes:
        xy = (points - 0.5) * [width, height]
        xy[:, 0] += slant * xy[:, 1]
        placed.append(xy @ turn.T)
    # Shift the centre, but never so far that the ink leaves the canvas.
    every = np.concatenate(placed)
    low, high = every.min(axis=0) - pen / 2, every.max(axis=0) + pen / 2
    room_low, room_high = -CANVAS_SIDE / 2 - low, CANVAS_SIDE / 2 - high
    wanted = rng.uniform(-style.off_centre, style.off_centre, 2) * CANVAS_SIDE
    shift = np.clip(wanted, np.minimum(room_low, 0), np.maximum(room_high, 0))
    return [xy + shift + CANVAS_SIDE / 2 for xy in placed], pen


def _render(strokes: list[np.ndarray], pen: int) -> Image.Image:
    side = CANVAS_SIDE * _SUPERSAMPLE
    picture = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(picture)
    radius = pen * _SUPERSAMPLE / 2
    for xy in strokes:
        scaled = [(float(x) * _SUPERSAMPLE, float(y) * _SUPERSAMPLE) for x, y in xy]
        draw.line(scaled, fill=255, width=round(2 * radius), joint="curve")
        for x, y in (scaled[0], scaled[-1]):  # the pen's round ends
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    return picture.resize((CANVAS_SIDE, CANVAS_SIDE), Image.Resampling.BOX)


def drawing_png(digit: int, shape: int, style: Style, rng: np.random.Generator) -> bytes:
    """One drawing as the canvas hands it to the page: a 280×280 opaque RGBA PNG, white ink on black."""
    strokes = [_wobble(_densify(stroke), style.wobble, rng) for stroke in SHAPES[digit][shape]]
    placed, pen = _place(strokes, style, rng)
    grey = _render(placed, pen)
    rgba = Image.merge("RGBA", (grey, grey, grey, Image.new("L", grey.size, 255)))
    buffer = io.BytesIO()
    rgba.save(buffer, format="PNG", compress_level=1)  # fast; the pixels are the same at any level
    return buffer.getvalue()


def allowed_shapes(digit: int, which: str) -> list[int]:
    """The shapes of ``digit`` that ``which`` allows: "all", "training" (no held-out shape) or "held_out"."""
    every, held_out = list(range(len(SHAPES[digit]))), HELD_OUT_SHAPES[digit]
    return {"all": every, "training": [k for k in every if k != held_out], "held_out": [held_out]}[which]


def drawings(per_digit: int, seed: int, style: Style, shapes: str = "all") -> Iterator[tuple[bytes, int]]:
    """``per_digit`` drawings of each digit as (PNG bytes, digit), reproducibly from ``seed``."""
    rng = np.random.default_rng(seed)
    for digit in SHAPES:
        allowed = allowed_shapes(digit, shapes)
        for _ in range(per_digit):
            yield drawing_png(digit, int(rng.choice(allowed)), style, rng), digit
