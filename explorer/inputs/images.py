"""From the bytes of an image file to the tensor a network receives.

Two steps, each with its own result:

1. ``load_image(data)`` checks the bytes and decodes them into an upright 8-bit
   RGB or greyscale picture, refusing anything a person could upload by mistake
   (an empty or truncated file, something that is not an image, a decompression
   bomb, a sliver of a strip) with one plain sentence, and noting in words what
   it had to change (a rotated phone photo, an animated GIF, CMYK, 16-bit...).
2. ``prepare(loaded, spec, height, width)`` turns that picture into the input
   tensor for one architecture, following the weights' own preprocessing where
   torchvision ships it, and says what it did in sentences.

Only bytes come in: an uploaded file's name is never used, least of all as a path.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageOps

from explorer.core.errors import UserError
from explorer.core.limits import UPLOAD_BYTES, UPLOAD_MIB
from explorer.core.registry import ArchSpec
from explorer.weights import catalogue

# Formats a browser can show and a camera or drawing program writes. Naming them
# keeps Pillow from trying exotic decoders (EPS would even start Ghostscript).
# (Pillow opens a phone's multi-picture JPEG through its JPEG plugin, as "MPO".)
FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF")
# About a 60-megapixel photo, above any phone camera and well below Pillow's own
# bomb threshold; decoding that much still costs about 180 MB, once.
MAX_PIXELS = 60_000_000
# A longer-than-this strip leaves nothing recognisable after a square crop.
MAX_ASPECT = 10
# Large photos are decoded at reduced scale where the format allows (JPEG's DCT
# scaling): nothing the app shows or feeds a network needs more than this.
DECODE_SIDE = 1024
# Told the side a network's resize makes, a JPEG is decoded at the smallest DCT scale keeping twice it,
# but never below 1/4: against a full decode the network's input then differs by 0.2–0.3 grey levels
# on average (at 1/8, 2.5 levels on a 50-megapixel photo). A 12 MP photo for 224×224: 1008×756.
DRAFT_MARGIN, MOST_REDUCED = 2, 4
# What is kept of a decoded picture (it is cached per server): enough for any input size
# the app offers (1024 plus the presets' resize margin), about 12 MB at most.
KEPT_SIDE = 2048

# One-channel pictures at most this many pixels a side are never inverted (see _is_dark_on_light).
SMALL_PICTURE_SIDE = 16

Image.init()  # register every plugin now, so naming WEBP in FORMATS works

_NOT_AN_IMAGE = "This file could not be read as an image; choose a JPEG, PNG, WebP, BMP or GIF file."


@dataclass(frozen=True)
class LoadedImage:
    """A decoded picture: upright, first frame, 8-bit RGB or greyscale ("L")."""

    image: Image.Image
    format: str
    original_size: tuple[int, int]  # width, height as stored in the file
    original_mode: str
    notes: tuple[str, ...]  # one sentence per change made to the picture


@dataclass(frozen=True)
class PreparedInput:
    """What one network receives, and how it came to be."""

    tensor: torch.Tensor  # 1×C×H×W float32, normalised as the network expects
    shown: np.ndarray  # H×W×3 or H×W uint8: the same picture before normalisation
    steps: tuple[str, ...]  # what was done, in order, one sentence each


def _open(data: bytes) -> Image.Image:
    if not data:
        raise UserError("The file is empty; choose a photo (JPEG, PNG, WebP, BMP or GIF).")
    # The server refuses larger uploads before the app sees them; this check covers every other way
    # in (the command line, a server started with another limit) and keeps Pillow from a huge buffer.
    if len(data) > UPLOAD_BYTES:
        raise UserError(
            f"This file is {len(data) / 1024**2:.1f} MB, more than the {UPLOAD_MIB} MB limit; "
            "choose a smaller picture."
        )
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.DecompressionBombError:
        raise UserError(_bomb_sentence()) from None
    except (OSError, SyntaxError, ValueError) as error:  # UnidentifiedImageError is an OSError
        raise UserError(_NOT_AN_IMAGE) from error
    width, height = image.size
    # The header alone gives the size: refuse before a single pixel is decoded.
    if width * height > MAX_PIXELS:
        raise UserError(_bomb_sentence(width, height))
    if width < 1 or height < 1:
        raise UserError(_NOT_AN_IMAGE)
    return image


def _bomb_sentence(width: int | None = None, height: int | None = None) -> str:
    claimed = f" ({width:,}×{height:,} pixels)" if width else ""
    return (
        f"This image claims to be far too large{claimed}; "
        f"the limit is {MAX_PIXELS // 1_000_000} megapixels, so please choose a smaller picture."
    )


def _draft_size(size: tuple[int, int], short_side: int | None) -> tuple[int, int]:
    """The least width and height to decode a JPEG at (Pillow picks the smallest DCT scale that keeps them)."""
    if short_side is None:
        return DECODE_SIDE, DECODE_SIDE
    side = min(DECODE_SIDE, DRAFT_MARGIN * short_side)
    return max(side, size[0] // MOST_REDUCED), max(side, size[1] // MOST_REDUCED)


def _decode_first_frame(image: Image.Image, short_side: int | None) -> tuple[Image.Image, list[str]]:
    notes = []
    frames = getattr(image, "n_frames", 1)
    if frames > 1:
        image.seek(0)
        notes.append(f"The file is an animation with {frames} frames; the first frame is used.")
    if image.format in ("JPEG", "MPO"):
        image.draft("RGB" if image.mode != "L" else "L", _draft_size(image.size, short_side))
    try:
        image.load()
    except Image.DecompressionBombError:
        raise UserError(_bomb_sentence(*image.size)) from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise UserError(
            "This image file is damaged or cut short and could not be decoded; try saving it again."
        ) from error
    return image, notes


def _upright(image: Image.Image) -> tuple[Image.Image, list[str]]:
    orientation = image.getexif().get(0x0112, 1)  # the EXIF Orientation tag
    if orientation in (None, 1):
        return image, []
    turned = ImageOps.exif_transpose(image)
    return turned, ["The photo was stored sideways with a note saying how to turn it; it has been turned upright."]


def _scale_to_8_bit(image: Image.Image) -> Image.Image:
    """Greyscale with more than 8 bits per pixel as 256 grey levels."""
    values = np.asarray(image, dtype=np.float64)
    low, high = float(values.min(initial=0)), float(values.max(initial=0))
    if image.mode.startswith("I") and low >= 0 and high <= 65535:
        scaled = values / 65535 * 255  # the 16-bit range itself, so a dark picture stays dark
    else:
        scaled = (values - low) / (high - low or 1) * 255
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), mode="L")


def _flatten_alpha(image: Image.Image) -> Image.Image:
    rgba = image.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def _to_rgb_or_grey(image: Image.Image) -> tuple[Image.Image, list[str]]:
    """Every mode Pillow can hand us, as 8-bit "RGB" or "L", with a sentence for each change."""
    mode = image.mode
    if mode in ("RGB", "L"):
        return image, []
    if mode == "P":
        has_alpha = "transparency" in image.info or image.palette.mode == "RGBA"
        if has_alpha:
            return _flatten_alpha(image), ["The picture uses a colour palette with transparency; see-through parts were filled with white."]
        return image.convert("RGB"), ["The picture uses a colour palette; it was converted to ordinary RGB colours."]
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        if image.getextrema()[-1][0] == 255:  # fully opaque: the alpha channel says nothing
            return image.convert("RGB" if mode.startswith(("RGB", "P")) else "L"), []
        return _flatten_alpha(image), ["The picture has transparent parts; they were filled with white."]
    if mode == "CMYK":
        return image.convert("RGB"), ["The picture is stored in printers' CMYK colours; it was converted to RGB."]
    if mode == "1":
        return image.convert("L"), ["The picture is pure black and white; it was read as greyscale."]
    if mode.startswith("I") or mode == "F":
        return _scale_to_8_bit(image), ["The picture has more than 8 bits per pixel; it was scaled to 256 grey levels."]
    return image.convert("RGB"), [f"The picture's colours ({mode}) were converted to RGB."]


def load_image(data: bytes, short_side: int | None = None) -> LoadedImage:
    """Decode ``data`` into an upright 8-bit picture, or raise ``UserError`` with one sentence.

    ``short_side`` is what the picture's shorter side will be resized to (``needed_side``): a JPEG
    is then decoded only as large as that needs. The checks on the file's header come first.
    """
    image = _open(data)
    original_size, original_mode, file_format = image.size, image.mode, image.format
    image, notes = _decode_first_frame(image, short_side)
    image, turned = _upright(image)
    image, converted = _to_rgb_or_grey(image)
    width, height = image.size
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise UserError(
            f"This image is {width}×{height} pixels, too long and thin to show a network; "
            f"choose one whose long side is at most {MAX_ASPECT} times its short side."
        )
    if max(width, height) > KEPT_SIDE:
        image.thumbnail((KEPT_SIDE, KEPT_SIDE))
    return LoadedImage(
        image=image,
        format=file_format,
        original_size=original_size,
        original_mode=original_mode,
        notes=tuple(notes + turned + converted),
    )


def _resize_side(recipe: catalogue.Preprocessing, height: int, width: int) -> int:
    """The shorter side's length before the centre crop: the preset's margin carried over to this size."""
    return round(max(height, width) * recipe.resize_per_crop)


def needed_side(spec: ArchSpec, height: int, width: int, weights: str = catalogue.RANDOM) -> int:
    """The shorter side ``prepare`` resizes a picture to for this network, input size and weights."""
    return _resize_side(catalogue.preprocessing(spec, weights), height, width)


def _fit(image: Image.Image, recipe: catalogue.Preprocessing, height: int, width: int) -> Image.Image:
    from torchvision.transforms import functional as F

    resized = F.resize(image, [_resize_side(recipe, height, width)], interpolation=recipe.interpolation,
                       antialias=True)
    return F.center_crop(resized, [height, width])


def _resize_sentence(size: tuple[int, int], recipe: catalogue.Preprocessing, height: int, width: int) -> str:
    w0, h0 = size
    side = _resize_side(recipe, height, width)
    if (w0, h0) == (width, height) and side == min(width, height):
        return f"The picture is already {width}×{height} pixels, the network's input size, so it was not resized."
    short = min(w0, h0)
    w1, h1 = round(w0 * side / short), round(h0 * side / short)
    sentence = (
        f"Resized ({recipe.interpolation.value}) so the shorter side is {side} pixels: "
        f"{w0}×{h0} became about {w1}×{h1}"
    )
    if (w1, h1) == (width, height):
        return sentence + "."
    return sentence + f", and the centre {width}×{height} was cut out."


def _is_dark_on_light(grey_image: Image.Image) -> bool:
    """Whether a one-channel picture looks like ink on paper (a photo of a written digit).

    The edge decides, not the whole picture, because a thick digit can cover most of
    it. Pictures of 16 pixels or less a side are left alone: the lab's 5×5 scoreboard
    digits and 8×8 scans are made light-on-dark, and their edges are often lit.
    """
    if min(grey_image.size) <= SMALL_PICTURE_SIDE:
        return False
    pixels = np.asarray(grey_image, dtype=np.float32)
    edge = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    return float(edge.mean()) > 127.5


def _numbers(values) -> str:
    return "(" + ", ".join(f"{v:g}" for v in values) + ")"


def prepare(loaded: LoadedImage, spec: ArchSpec, height: int, width: int,
            weights: str = catalogue.RANDOM) -> PreparedInput:
    """The 1×C×H×W tensor ``spec`` with ``weights`` receives for this picture at ``height``×``width``."""
    from torchvision.transforms import functional as F

    recipe = catalogue.preprocessing(spec, weights)
    steps = []
    image = loaded.image
    grey = spec.in_channels == 1
    if grey and image.mode != "L":
        image = image.convert("L")
        steps.append(f"{spec.name} reads one channel, so the colours were turned into grey.")
    elif not grey and image.mode != "RGB":
        image = image.convert("RGB")
        steps.append("The greyscale picture was copied into the red, green and blue channels.")
    if grey and _is_dark_on_light(image):
        image = ImageOps.invert(image)
        steps.append(
            "The picture's edge is light, so it was inverted: the digit networks read light strokes "
            "on a dark background, like the scans and the drawing canvas."
        )
    fitted = _fit(image, recipe, height, width)
    steps.append(_resize_sentence(image.size, recipe, height, width))
    tensor = F.convert_image_dtype(F.pil_to_tensor(fitted), torch.float)
    steps.append("Pixel values 0–255 were scaled to 0–1.")
    if recipe.std != (1.0,):
        tensor = F.normalize(tensor, mean=list(recipe.mean), std=list(recipe.std))
        steps.append(
            f"Each colour channel had the mean {_numbers(recipe.mean)} subtracted and was divided by "
            f"the standard deviation {_numbers(recipe.std)}, as in {recipe.source}."
        )
    return PreparedInput(tensor=tensor.unsqueeze(0), shown=np.asarray(fitted), steps=tuple(steps))
