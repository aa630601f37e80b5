"""Phone-sized photos decoded only as large as the network needs, and odd files a class may upload.

Every file is made here. A picture decoded at reduced JPEG scale must give the network
what a full decode and the same preprocessing give, within a few grey levels.
"""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from explorer.core.errors import UserError
from explorer.core.registry import get_spec
from explorer.inputs import images
from tests.test_images import encode, png_chunk


@pytest.fixture(scope="module")
def phone_photo() -> bytes:
    """A 4032×3024 JPEG like a phone's: a real photo enlarged, with sensor-like grain."""
    import skimage.data

    photo = Image.fromarray(skimage.data.chelsea()).resize((4032, 3024), Image.Resampling.BICUBIC)
    grain = np.random.default_rng(0).normal(0, 6, (3024, 4032, 3)).astype(np.int16)
    pixels = np.clip(np.asarray(photo, dtype=np.int16) + grain, 0, 255).astype(np.uint8)
    return encode(Image.fromarray(pixels), "JPEG", quality=92)


def full_decode(data: bytes) -> images.LoadedImage:
    """The reference: every pixel of the file decoded, no DCT scaling."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return images.LoadedImage(image.convert("RGB"), image.format, image.size, image.mode, ())


def one_sentence(text: str) -> bool:
    return text.endswith(".") and "\n" not in text and text.count(". ") == 0


def assert_as_full_decode(data: bytes, arch_id: str = "resnet18", side: int = 224) -> images.LoadedImage:
    spec = get_spec(arch_id)
    loaded = images.load_image(data, images.needed_side(spec, side, side))
    ours = images.prepare(loaded, spec, side, side)
    reference = images.prepare(full_decode(data), spec, side, side)
    difference = np.abs(ours.shown.astype(int) - reference.shown.astype(int))
    # Half a grey level on average; at sharp edges (the coffee cup's rim) a value may differ by more.
    assert difference.mean() < 0.5 and np.percentile(difference, 99) <= 4 and difference.max() <= 16, (
        difference.mean(), np.percentile(difference, 99), difference.max())
    return loaded


def test_the_side_a_network_needs_is_its_resize_before_the_crop():
    assert images.needed_side(get_spec("resnet18"), 224, 224) == 256  # resize 256, crop 224 (torchvision)
    assert images.needed_side(get_spec("alexnet"), 448, 448) == 512  # the same 256/224 margin at twice the size


def test_a_12_megapixel_photo_is_decoded_at_a_quarter_and_gives_the_network_the_same_picture(phone_photo):
    loaded = assert_as_full_decode(phone_photo)
    # 2 × 256 = 512 must remain on the shorter side: 3024 / 4 = 756 does, 3024 / 8 = 378 does not.
    assert loaded.image.size == (4032 // 4, 3024 // 4)
    assert loaded.original_size == (4032, 3024)


def test_without_a_needed_side_the_photo_is_decoded_as_before(phone_photo):
    assert images.load_image(phone_photo).image.size == (4032 // 2, 3024 // 2)  # at least 1024 a side


def test_a_larger_input_size_decodes_more_of_the_photo(phone_photo):
    spec = get_spec("resnet18")
    loaded = images.load_image(phone_photo, images.needed_side(spec, 448, 448))
    assert loaded.image.size == (4032 // 2, 3024 // 2)  # 2 × 512 = 1024 needs half scale


def test_a_progressive_jpeg_is_drawn_like_a_baseline_one(phone_photo):
    progressive = encode(Image.open(io.BytesIO(phone_photo)), "JPEG", quality=92, progressive=True)
    assert Image.open(io.BytesIO(progressive)).info.get("progressive") == 1
    assert_as_full_decode(progressive)


def test_a_50_megapixel_jpeg_is_drawn_from_a_quarter_of_it():
    import skimage.data

    width, height = 8660, 5774  # 50.0 million pixels, under the 60-megapixel limit
    photo = Image.fromarray(skimage.data.coffee()).resize((width, height), Image.Resampling.BILINEAR)
    loaded = assert_as_full_decode(encode(photo, "JPEG", quality=85))
    # Decoded at 1/4 (2165×1444: 1/8 would do for the network, but differs more from a full decode),
    # then kept at most 2048 pixels a side.
    assert loaded.image.size == (2048, round(1444 * 2048 / 2165))
    assert loaded.original_size == (width, height)


def palette_png(entries: int) -> bytes:
    """A 16×16 8-bit palette PNG whose PLTE chunk holds ``entries`` colours (the format allows 256)."""
    header = struct.pack(">IIBBBBB", 16, 16, 8, 3, 0, 0, 0)
    palette = bytes((i * 7) % 256 for i in range(entries * 3))
    rows = b"".join(b"\x00" + bytes((x + y) % 256 for x in range(16)) for y in range(16))
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"PLTE", palette)
            + png_chunk(b"IDAT", zlib.compress(rows)) + png_chunk(b"IEND", b""))


def test_a_full_256_colour_palette_is_drawn():
    loaded = images.load_image(palette_png(256))
    assert loaded.image.mode == "RGB" and loaded.image.size == (16, 16)
    # Pixel (x, y) is palette entry (x + y) % 256, whose red value is 3 × entry × 7 mod 256.
    assert loaded.image.getpixel((5, 2))[0] == (3 * 7 * 7) % 256


@pytest.mark.parametrize("entries", [1000, 100_000])
def test_a_palette_larger_than_the_format_allows_is_refused_in_one_sentence(entries):
    with pytest.raises(UserError) as refused:
        images.load_image(palette_png(entries))
    assert str(refused.value) == "This image file is damaged or cut short and could not be decoded; try saving it again."


def test_a_heic_photo_renamed_to_jpg_is_refused_in_one_sentence():
    # An iPhone's HEIC file begins with an ISO box "ftyp" naming its brand; only the bytes are read, never a name.
    heic = struct.pack(">I", 24) + b"ftypheic" + b"\x00" * 4 + b"mif1heic" + bytes(range(256)) * 4
    with pytest.raises(UserError) as refused:
        images.load_image(heic, 256)
    assert str(refused.value) == images._NOT_AN_IMAGE
    assert one_sentence(str(refused.value))
