"""Image files, good and bad, made byte by byte here: each one gives a plain sentence or a right tensor."""

import io
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.inputs import images, samples
from explorer.weights import catalogue
from explorer.core.errors import UserError
from explorer.inputs.scoreboard import DIGITS
from explorer.core.registry import get_spec


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def noise(width: int, height: int, mode: str = "RGB", seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    channels = {"RGB": 3, "L": 1}[mode]
    pixels = rng.integers(0, 256, (height, width, channels), dtype=np.uint8)
    return Image.fromarray(pixels.squeeze(-1) if channels == 1 else pixels, mode=mode)


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims width×height 8-bit RGB, with one tiny compressed row and no more."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" + b"\x00" * 30)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def sentence(error: pytest.ExceptionInfo) -> str:
    text = str(error.value)
    assert text.endswith(".") and "\n" not in text and "Traceback" not in text
    return text


# --- files that are refused, each with one sentence -------------------------------------------


def test_an_empty_file_is_refused():
    with pytest.raises(UserError) as error:
        images.load_image(b"")
    assert "empty" in sentence(error)


def test_random_bytes_named_png_are_not_an_image():
    with pytest.raises(UserError) as error:
        images.load_image(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    assert "could not be read as an image" in sentence(error)


def test_a_truncated_jpeg_is_damaged():
    whole = encode(noise(64, 64), "JPEG", quality=90)
    with pytest.raises(UserError) as error:
        images.load_image(whole[: len(whole) // 2])
    assert "damaged or cut short" in sentence(error)


def test_a_png_header_claiming_50000_by_50000_is_refused_before_decoding():
    with pytest.raises(UserError) as error:
        images.load_image(png_header_only(50_000, 50_000))
    assert "far too large" in sentence(error)


def test_a_header_just_over_the_app_limit_is_refused_with_its_size():
    # 10,000 × 7,000 = 70 million pixels: below Pillow's own bomb check, above the app's 60 million.
    with pytest.raises(UserError) as error:
        images.load_image(png_header_only(10_000, 7_000))
    assert "10,000×7,000" in sentence(error)


@pytest.mark.parametrize("size", [(1, 4000), (4000, 1), (10, 101)])
def test_long_thin_strips_are_refused(size):
    with pytest.raises(UserError) as error:
        images.load_image(encode(Image.new("RGB", size, (200, 10, 10)), "PNG"))
    assert f"{size[0]}×{size[1]}" in sentence(error)


def test_a_ten_to_one_panorama_is_still_accepted():
    loaded = images.load_image(encode(Image.new("RGB", (100, 10)), "PNG"))
    assert loaded.image.size == (100, 10)


def test_a_format_outside_the_list_is_refused_even_if_pillow_reads_it():
    with pytest.raises(UserError):
        images.load_image(encode(noise(8, 8), "TIFF"))


# --- files that are accepted after a change the page reports ---------------------------------


def test_greyscale_is_copied_into_three_equal_channels_for_colour_networks():
    loaded = images.load_image(encode(noise(40, 30, "L"), "PNG"))
    assert loaded.image.mode == "L" and loaded.notes == ()
    prepared = images.prepare(loaded, get_spec("resnet18"), 224, 224)
    assert prepared.tensor.shape == (1, 3, 224, 224)
    # Undo the per-channel normalisation: the three channels must carry the same picture.
    mean = torch.tensor(catalogue.IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(catalogue.IMAGENET_STD).view(3, 1, 1)
    raw = prepared.tensor[0] * std + mean
    assert torch.allclose(raw[0], raw[1], atol=1e-5) and torch.allclose(raw[1], raw[2], atol=1e-5)
    assert any("red, green and blue" in step for step in prepared.steps)


def test_cmyk_becomes_rgb():
    cyan_free_red = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # no cyan, full magenta and yellow: red
    loaded = images.load_image(encode(cyan_free_red, "JPEG", quality=95))
    assert loaded.original_mode == "CMYK" and loaded.image.mode == "RGB"
    r, g, b = loaded.image.getpixel((8, 8))
    assert r > 200 and g < 60 and b < 60
    assert any("CMYK" in note for note in loaded.notes)


def test_16_bit_greyscale_is_scaled_over_its_own_range():
    levels = np.array([[0, 25700, 65535, 13107]], dtype=np.uint16)  # 25700 = 100 × 257, 13107 = 51 × 257
    data = encode(Image.fromarray(levels.repeat(4, axis=0)), "PNG")
    loaded = images.load_image(data)
    assert loaded.image.mode == "L"
    assert list(np.asarray(loaded.image)[0]) == [0, 100, 255, 51]
    assert any("more than 8 bits" in note for note in loaded.notes)


def test_palette_with_a_transparent_colour_is_filled_with_white():
    picture = Image.new("P", (4, 4), 0)
    picture.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)  # index 0 red, index 1 blue
    picture.putpixel((0, 0), 1)
    loaded = images.load_image(encode(picture, "PNG", transparency=1))
    assert loaded.image.mode == "RGB"
    assert loaded.image.getpixel((0, 0)) == (255, 255, 255)  # the transparent blue
    assert loaded.image.getpixel((3, 3)) == (255, 0, 0)
    assert any("white" in note for note in loaded.notes)


def test_half_transparent_black_over_white_is_mid_grey():
    loaded = images.load_image(encode(Image.new("RGBA", (4, 4), (0, 0, 0, 128)), "PNG"))
    # Alpha 128/255 of black over white: 255 × (1 − 128/255) = 127.
    assert all(abs(v - 127) <= 1 for v in loaded.image.getpixel((1, 1)))


def test_an_animated_gif_gives_its_first_frame():
    frames = [Image.new("RGB", (20, 20), colour) for colour in ((255, 0, 0), (0, 0, 255), (0, 255, 0))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    loaded = images.load_image(data)
    assert loaded.image.getpixel((10, 10)) == (255, 0, 0)
    assert any("3 frames" in note for note in loaded.notes)


def test_an_exif_rotated_phone_photo_is_turned_upright():
    stored = Image.new("RGB", (40, 20), (0, 0, 255))
    stored.paste((255, 0, 0), (0, 0, 40, 4))  # a red band along the stored top edge
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display", what phones write when held upright
    loaded = images.load_image(encode(stored, "JPEG", quality=95, exif=exif.tobytes()))
    # Turned clockwise, the 40×20 picture stands 20×40 and its top edge becomes its right edge.
    assert loaded.image.size == (20, 40)
    right, left = loaded.image.getpixel((18, 20)), loaded.image.getpixel((1, 20))
    assert right[0] > 200 and right[2] < 60
    assert left[2] > 200 and left[0] < 60
    assert any("upright" in note for note in loaded.notes)


def test_a_webp_and_a_bmp_load():
    for fmt in ("WEBP", "BMP"):
        assert images.load_image(encode(noise(30, 20), fmt)).image.size == (30, 20)


# --- preprocessing -------------------------------------------------------------------------------


@pytest.mark.parametrize("arch_id", ["resnet18", "inception_v3", "alexnet"])
def test_at_the_usual_size_preprocessing_is_exactly_torchvisions_own(arch_id):
    spec = get_spec(arch_id)
    loaded = images.load_image(encode(noise(300, 200), "PNG"))
    prepared = images.prepare(loaded, spec, spec.default_size, spec.default_size)
    reference = spec.weights.IMAGENET1K_V1.transforms()(loaded.image)
    assert torch.equal(prepared.tensor[0], reference)


def test_other_sizes_keep_the_presets_resize_margin():
    spec = get_spec("resnet18")
    loaded = images.load_image(encode(noise(400, 300), "PNG"))
    prepared = images.prepare(loaded, spec, 112, 160)
    assert prepared.tensor.shape == (1, 3, 112, 160)
    # 256/224 of the longer crop side 160 is 182.86, so the shorter side becomes 183.
    assert "shorter side is 183 pixels" in prepared.steps[0]
    assert prepared.shown.shape == (112, 160, 3)


def test_lenet_gets_a_32_by_32_grey_picture_scaled_to_0_1():
    spec = get_spec("lenet5")
    prepared = images.prepare(images.load_image(encode(noise(64, 48), "PNG")), spec, 32, 32)
    assert prepared.tensor.shape == (1, 1, 32, 32)
    assert 0 <= prepared.tensor.min() and prepared.tensor.max() <= 1
    assert any("grey" in step for step in prepared.steps)


@pytest.mark.parametrize("digit", [0, 3, 8])
def test_a_scoreboard_digit_reaches_the_toy_network_cell_for_cell(digit):
    sample = samples.get_sample(f"scoreboard_{digit}")
    prepared = images.prepare(images.load_image(samples.sample_bytes(sample.key)), get_spec("toy_conv"), 5, 5)
    assert torch.equal(prepared.tensor[0, 0], torch.tensor(DIGITS[digit], dtype=torch.float32))


def test_handwritten_digits_are_scikit_learns_held_out_scans():
    from sklearn.datasets import load_digits

    from explorer.inputs.scans import scan_split

    digits = load_digits()
    held_out = scan_split()["test"]
    first_held_out_seven = digits.images[held_out[digits.target[held_out] == 7][0]]
    loaded = images.load_image(samples.sample_bytes("handwritten_7"))
    # 17 grey levels (0–16) stretched to 0–255.
    assert np.array_equal(np.asarray(loaded.image), np.rint(first_held_out_seven * 255 / 16).astype(np.uint8))


def test_every_bundled_photo_loads_without_a_download():
    for sample in samples.PHOTOS:
        loaded = images.load_image(samples.sample_bytes(sample.key))
        assert min(loaded.image.size) >= 200, sample.key


def test_a_large_photo_is_kept_at_most_2048_pixels_a_side_with_its_shape():
    loaded = images.load_image(encode(Image.new("RGB", (4000, 3000), (10, 120, 30)), "PNG"))
    assert loaded.original_size == (4000, 3000)
    assert loaded.image.size == (2048, 1536)  # 3000 × 2048 / 4000
