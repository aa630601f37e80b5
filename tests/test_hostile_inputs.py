"""A classroom as a fuzzer: every hostile file, link and command line gets one plain sentence, and the app keeps going.

Each file is made here, byte by byte, and checked three ways: by the library
(``explorer.inputs.images``: a ``UserError`` with one sentence, or a valid picture), on
the Feature maps and Training step pages (AppTest: one sentence, no exception,
and the page works again with the next picture), and, where a file name or a
number can come from a shell, through the command line (exit 2, one line).
"""

from __future__ import annotations

import io
import json
import os
import struct
import tomllib
import zlib
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
from PIL import Image, ImageFile

from explorer.inputs import images
from explorer.runs import training
from explorer.__main__ import main as cli_main
from explorer.core.errors import UserError
from explorer.core.limits import UPLOAD_BYTES
from explorer.core.registry import get_spec
from tests.conftest import ROOT, as_shown

# Words of raw library errors that must never reach a person as they are.
RAW_ERROR_FRAGMENTS = (
    "Traceback", "Error:", "Calculated output size", "mat1 and mat2", "Kernel size can't",
    "cannot identify image file", "PIL.", "torch.", "Expected more than 1 value",
)


def assert_one_sentence(text: str) -> None:
    assert text and "\n" not in text.strip(), repr(text)
    assert text.strip()[-1] in ".!?", repr(text)
    for fragment in RAW_ERROR_FRAGMENTS:
        assert fragment not in text, (fragment, text)


# --- the files ---------------------------------------------------------------------------------


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def bomb_png(width: int = 50_000, height: int = 50_000) -> bytes:
    """A valid PNG signature and IHDR claiming width×height RGB, then one tiny row: nothing is allocated."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
            + png_chunk(b"IDAT", zlib.compress(b"\x00" * 31)) + png_chunk(b"IEND", b""))


def halves(width: int, height: int, left=(220, 30, 30), right=(30, 30, 220)) -> Image.Image:
    """Red left half, blue right half: easy to find again after scaling or turning."""
    picture = Image.new("RGB", (width, height), right)
    picture.paste(left, (0, 0, width // 2, height))
    return picture


def small_png() -> bytes:
    return encode(halves(96, 64), "PNG")


def truncated_jpeg() -> bytes:
    whole = encode(Image.fromarray(np.random.default_rng(0).integers(0, 256, (96, 96, 3), dtype=np.uint8)), "JPEG")
    return whole[: len(whole) // 2]


def sixteen_bit_png() -> bytes:
    ramp = (np.arange(64 * 64, dtype=np.uint32).reshape(64, 64) * 16).astype(np.uint16)  # 0 … 65,520
    picture = Image.fromarray(ramp)
    assert picture.mode == "I;16"
    return encode(picture, "PNG")


def cmyk_jpeg() -> bytes:
    return encode(Image.new("CMYK", (48, 48), (0, 255, 255, 0)), "JPEG", quality=95)  # magenta + yellow = red


def palette_png_with_transparency() -> bytes:
    picture = Image.new("P", (40, 40), 0)
    picture.putpalette([0, 160, 0, 0, 0, 255] + [0] * 762)  # index 0 green, index 1 blue
    picture.paste(1, (0, 0, 20, 40))  # left half blue, made see-through below
    return encode(picture, "PNG", transparency=1)


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (40, 40), colour) for colour in ((250, 0, 0), (0, 0, 250), (0, 250, 0), (9, 9, 9))]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)


def exif_rotated_jpeg() -> bytes:
    stored = Image.new("RGB", (80, 40), (0, 0, 230))
    stored.paste((230, 0, 0), (0, 0, 80, 8))  # a red band along the stored top edge
    exif = Image.Exif()
    exif[0x0112] = 6  # "turn 90° clockwise to show": what a phone held upright writes
    return encode(stored, "JPEG", quality=95, exif=exif.tobytes())


def strip_png() -> bytes:
    return encode(Image.new("RGB", (1, 4000), (90, 90, 90)), "PNG")


def over_the_limit() -> bytes:
    # A real PNG at the front, so only its size can be the reason to refuse it.
    return small_png() + b"\x00" * (UPLOAD_BYTES + 1)


@dataclass(frozen=True)
class Hostile:
    id: str
    name: str  # the file name a browser would send
    make: Callable[[], bytes]
    mime: str
    refused: str | None = None  # words of the refusal, or None where a picture must come out
    note: str | None = None  # words of the note the page shows about a change it made


HOSTILE = [
    Hostile("empty", "empty.png", lambda: b"", "image/png", refused="empty"),
    Hostile("random-bytes", "noise.png", lambda: np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
            "image/png", refused="could not be read as an image"),
    Hostile("truncated-jpeg", "cut.jpg", truncated_jpeg, "image/jpeg", refused="damaged or cut short"),
    Hostile("html-as-jpg", "page.jpg", lambda: b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
            "image/jpeg", refused="could not be read as an image"),
    Hostile("svg-as-jpg", "drawing.jpg",
            lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"><circle r="4"/></svg>',
            "image/jpeg", refused="could not be read as an image"),
    Hostile("pdf-as-png", "homework.png", lambda: b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n",
            "image/png", refused="could not be read as an image"),
    Hostile("bomb", "bomb.png", bomb_png, "image/png", refused="far too large"),
    Hostile("over-the-limit", "huge.png", over_the_limit, "image/png", refused="MB limit"),
    Hostile("strip", "strip.png", strip_png, "image/png", refused="1×4000"),
    Hostile("16-bit", "depth.png", sixteen_bit_png, "image/png", note="more than 8 bits"),
    Hostile("cmyk", "print.jpg", cmyk_jpeg, "image/jpeg", note="CMYK"),
    Hostile("palette-transparency", "sticker.png", palette_png_with_transparency, "image/png", note="transparency"),
    Hostile("animated-gif", "dance.gif", animated_gif, "image/gif", note="4 frames"),
    Hostile("exif-rotated", "phone.jpg", exif_rotated_jpeg, "image/jpeg", note="upright"),
    # What a browser sends for a name written in another encoding: the bytes it could not
    # decode as U+FFFD, or Latin-1 read as UTF-8. The name is never used, so these just work.
    Hostile("non-utf8-name", "caf\ufffd \u00c3\u00a9t\u00c3\u00a9.PNG", small_png, "image/png"),
]
BY_ID = {case.id: case for case in HOSTILE}


# --- library level -----------------------------------------------------------------------------


@pytest.mark.parametrize("case", [c for c in HOSTILE if c.refused], ids=lambda c: c.id)
def test_the_library_refuses_with_one_sentence(case):
    with pytest.raises(UserError) as error:
        images.load_image(case.make())
    assert case.refused in str(error.value)
    assert_one_sentence(str(error.value))


@pytest.mark.parametrize("case", [c for c in HOSTILE if not c.refused], ids=lambda c: c.id)
def test_the_library_makes_a_valid_picture_and_says_what_it_changed(case):
    loaded = images.load_image(case.make())
    assert loaded.image.mode in ("RGB", "L")
    if case.note:
        assert any(case.note in note for note in loaded.notes), loaded.notes
    for note in loaded.notes:
        assert_one_sentence(note)
    prepared = images.prepare(loaded, get_spec("resnet18"), 64, 64)
    assert prepared.tensor.shape == (1, 3, 64, 64) and bool(prepared.tensor.isfinite().all())


def test_what_each_accepted_file_becomes():
    grey = np.asarray(images.load_image(sixteen_bit_png()).image)
    # The ramp 0 … 65,520 in steps of 16 over 65,535 → 0 … 254.9 in 8 bits: first and last pixels by hand.
    assert grey[0, 0] == 0 and grey[-1, -1] == round(4095 * 16 / 65535 * 255)
    r, g, b = images.load_image(cmyk_jpeg()).image.getpixel((24, 24))
    assert r > 200 and g < 60 and b < 60
    sticker = images.load_image(palette_png_with_transparency()).image
    assert sticker.getpixel((5, 20)) == (255, 255, 255) and sticker.getpixel((35, 20)) == (0, 160, 0)
    assert images.load_image(animated_gif()).image.getpixel((20, 20)) == (250, 0, 0)


def test_the_exif_orientation_is_applied():
    upright = images.load_image(exif_rotated_jpeg()).image
    # Stored 80×40 with a red top band; turned 90° clockwise it stands 40×80 with the band on the right.
    assert upright.size == (40, 80)
    right, left = upright.getpixel((37, 40)), upright.getpixel((2, 40))
    assert right[0] > 180 and right[2] < 80, right
    assert left[2] > 180 and left[0] < 80, left


@pytest.fixture(scope="module")
def phone_photo() -> bytes:
    """An 8000×6000 JPEG (48 megapixels, a few MB because it is smooth), made once for the module."""
    return encode(halves(8000, 6000), "JPEG", quality=80)


@pytest.fixture
def decoded_sizes(monkeypatch) -> list[tuple[int, int]]:
    """The size of every real pixel decode Pillow performs (a load with tiles still to decode)."""
    sizes = []
    original = ImageFile.ImageFile.load

    def counting(self):
        if self.tile:
            sizes.append(self.size)
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counting)
    return sizes


def test_a_48_megapixel_jpeg_is_never_decoded_at_full_size(phone_photo, decoded_sizes):
    assert len(phone_photo) < UPLOAD_BYTES
    loaded = images.load_image(phone_photo)
    assert loaded.original_size == (8000, 6000)
    assert decoded_sizes, "nothing was decoded"
    # JPEG's DCT scaling decodes at 1/2, 1/4 or 1/8 of the size: never the 48 million pixels themselves.
    assert all(w * h < 8000 * 6000 for w, h in decoded_sizes), decoded_sizes
    assert len(decoded_sizes) == 1
    width, height = loaded.image.size
    assert max(width, height) <= images.KEPT_SIDE and abs(width / height - 8000 / 6000) < 0.01
    r, _, b = loaded.image.getpixel((width // 4, height // 2))
    assert r > 180 and b < 80  # still red on the left after scaling


def test_a_48_megapixel_png_is_decoded_at_full_size_once(decoded_sizes):
    data = encode(halves(8000, 6000), "PNG", compress_level=1)
    loaded = images.load_image(data)
    assert decoded_sizes == [(8000, 6000)]
    assert max(loaded.image.size) <= images.KEPT_SIDE


# --- the serving configuration -----------------------------------------------------------------


def test_the_server_config_keeps_xsrf_on_limits_uploads_like_the_library_and_sends_no_statistics():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["enableXsrfProtection"] is True
    # Streamlit's maxUploadSize is in megabytes of 1024 × 1024 bytes.
    assert config["server"]["maxUploadSize"] * 1024 * 1024 == UPLOAD_BYTES
    assert config["browser"]["gatherUsageStats"] is False


# --- the pages (AppTest) -----------------------------------------------------------------------


def started(page: str, query: dict[str, str]):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


@pytest.fixture(scope="module")
def feature_page():
    """One student's Feature maps session (ResNet-18 at 64×64), kept across the cases like a real session."""
    at = started("pages/feature-maps.py", {"arch": "resnet18", "h": "64", "w": "64"})
    at.radio(key="fm_source").set_value("upload").run()
    return at


@pytest.fixture(scope="module")
def training_page():
    """One student's Training step session; LeNet-5 keeps each step cheap (the page code is the same for all)."""
    at = started("pages/training-step.py", {"arch": "lenet5"})
    at.radio(key="train_source").set_value("upload").run()
    return at


def page_sentences(at) -> list[str]:
    return [e.value for e in at.error] + [w.value for w in at.warning]


def upload_and_check(at, uploader_key: str, case: Hostile) -> None:
    """Upload the case's file: one plain error sentence if it is refused, none if it is accepted, never an exception."""
    at.file_uploader(key=uploader_key).set_value((case.name, case.make(), case.mime)).run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    if case.refused:
        assert len(errors) == 1 and case.refused in errors[0], errors
        assert_one_sentence(errors[0])
    else:
        assert not errors, errors


@pytest.mark.parametrize("case", HOSTILE, ids=lambda c: c.id)
def test_the_feature_maps_page_answers_each_file_and_keeps_working(feature_page, case):
    at = feature_page
    upload_and_check(at, "fm_upload", case)
    if case.note:
        assert any(case.note in info.value for info in at.info), [i.value for i in at.info]
    # The next picture works at once, in the same session.
    at.file_uploader(key="fm_upload").set_value(("next.png", small_png(), "image/png")).run()
    assert not at.exception and not at.error
    assert at.selectbox(key="fm_layer").value, "the layer picker is back"
    assert len(at.get("image")) >= 3


def test_after_a_bad_file_a_sample_photo_works(feature_page):
    at = feature_page
    at.file_uploader(key="fm_upload").set_value(("x.png", bomb_png(), "image/png")).run()
    assert len(at.error) == 1
    at.radio(key="fm_source").set_value("photo").run()
    assert not at.exception and not at.error and at.dataframe
    at.radio(key="fm_source").set_value("upload").run()


@pytest.mark.parametrize("case", [BY_ID[i] for i in ("pdf-as-png", "bomb", "over-the-limit", "cmyk", "non-utf8-name")],
                         ids=lambda c: c.id)
def test_the_training_page_answers_each_file_and_keeps_the_settings(training_page, case):
    at = training_page
    at.file_uploader(key="train_upload").set_value(("first.png", small_png(), "image/png")).run()
    at.radio(key="train_optimizer").set_value("adam").run()
    upload_and_check(at, "train_upload", case)
    at.file_uploader(key="train_upload").set_value(("next.png", small_png(), "image/png")).run()
    assert not at.exception and not at.error
    assert at.radio(key="train_optimizer").value == "adam", "the optimiser the student chose survived the bad file"


@pytest.mark.parametrize("rate", [1e6, 1e12])
def test_a_huge_learning_rate_gives_a_result_or_one_sentence_and_training_goes_on(training_page, rate):
    at = training_page
    at.file_uploader(key="train_upload").set_value(("next.png", small_png(), "image/png")).run()
    at.radio(key="train_optimizer").set_value("sgd").run()
    at.select_slider(key="train_rate").set_value(rate).run()
    at.button(key="train_one").click().run()
    assert not at.exception, at.exception
    for sentence in [e.value for e in at.error]:
        assert_one_sentence(sentence)
    at.select_slider(key="train_rate").set_value(0.01).run()
    at.button(key="train_one").click().run()
    assert not at.exception and not at.error
    assert at.metric, "the step's loss is shown again"


@pytest.mark.parametrize("rate", [float("nan"), float("inf"), 0.0, -0.1])
def test_the_trainer_refuses_a_learning_rate_that_is_not_a_positive_number(rate):
    spec = get_spec("toy_dense")
    with pytest.raises(UserError) as error:
        training.Trainer(spec, spec.build(), "sgd", rate)
    assert_one_sentence(str(error.value))


# --- links (URL query) ---------------------------------------------------------------------------

BAD_LINKS = [
    ({"arch": "resnet9000"}, "There is no architecture called"),
    ({"arch": "resnet18", "h": "0"}, "input height must be a whole number from 1 to 1024; got '0'"),
    ({"arch": "resnet18", "w": "-3"}, "input width must be a whole number from 1 to 1024; got '-3'"),
    ({"arch": "resnet18", "h": "tall"}, "got 'tall'"),
    ({"arch": "resnet18", "h": "99999999999999999999999"}, "from 1 to 1024"),
    ({"arch": "resnet18", "batch": "0"}, "batch size must be a whole number from 1 to 64; got '0'"),
    ({"arch": "resnet18", "batch": "10000"}, "got '10000'"),
    ({"arch": "resnet18", "h": "1e3"}, "got '1e3'"),
]


# The sidebar reads a link the same way for every page: every link on Feature maps, every other one on Training step.
LINK_CASES = [("pages/feature-maps.py", q, w) for q, w in BAD_LINKS] + [("pages/training-step.py", q, w) for q, w in BAD_LINKS[::2]]


@pytest.mark.parametrize(("page", "query", "words"), LINK_CASES, ids=[f"{p[6:-3]}-{q}" for p, q, _ in LINK_CASES])
def test_a_bad_link_gets_one_sentence_and_the_page_runs_with_defaults(page, query, words):
    at = started(page, query)
    warnings = [as_shown(w.value) for w in at.warning if words in as_shown(w.value)]  # link values are escaped
    assert len(warnings) == 1, page_sentences(at)
    assert_one_sentence(warnings[0])
    assert at.title and not at.error


# --- the command line ----------------------------------------------------------------------------


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    try:
        code = cli_main(list(args))
    except SystemExit as exit_:  # argparse's own refusals leave through SystemExit
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


BAD_COMMANDS = [
    (("summary", "resnet9000"), "There is no architecture called"),
    (("summary", "vgg16", "--size", "-7"), "got '-7'"),
    (("summary", "vgg16", "--height", "12", "--width", "99999"), "got '99999'"),
    (("summary", "vgg16", "--batch", "0"), "batch size"),
    (("train-step", "lenet5", "--lr", "nan"), "learning rate must be a positive number"),
    (("train-step", "lenet5", "--lr", "-1"), "learning rate must be a positive number"),
    (("train-step", "lenet5", "--lr", "lots"), "invalid float value: 'lots'"),
    (("train-step", "lenet5", "--steps", "0"), "number of steps"),
    (("train-step", "lenet5", "--steps", "10000000"), "number of steps"),
    (("train-step", "lenet5", "--label", "10"), "target class"),
    # The network's own limits, before any tensor reaches torch (36 used to escape as "mat1 and mat2 ...").
    (("train-step", "lenet5", "--size", "36"), "LeNet-5's first fully-connected layer"),
    (("activations", "alexnet", "--image", "missing.png", "--size", "62"), "AlexNet needs inputs of at least 63×63"),
    (("activations", "vgg19_bn", "--image", "missing.png", "--size", "1024"), "would need about"),
]


@pytest.mark.parametrize(("args", "words"), BAD_COMMANDS, ids=[" ".join(a) for a, _ in BAD_COMMANDS])
def test_a_bad_command_exits_2_with_one_line(capsys, args, words):
    code, out, err = run_cli(capsys, *args)
    assert code == 2 and out == ""
    assert words in err and err.count("\n") == 1, err
    assert "Traceback" not in err


@pytest.mark.parametrize("case", [BY_ID[i] for i in ("empty", "pdf-as-png", "bomb", "truncated-jpeg")], ids=lambda c: c.id)
def test_the_command_line_refuses_a_bad_picture_under_a_name_that_is_not_utf8(capsys, tmp_path, case):
    path = tmp_path / os.fsdecode(b"caf\xe9-" + case.id.encode() + b".png")  # Latin-1 bytes on disk
    path.write_bytes(case.make())
    code, out, err = run_cli(capsys, "activations", "lenet5", "--image", str(path))
    assert code == 2 and out == "" and case.refused in err and err.count("\n") == 1, err


def test_the_command_line_reads_a_good_picture_under_a_name_that_is_not_utf8(capsys, tmp_path):
    path = tmp_path / os.fsdecode(b"\xff\xfe photo.png")
    path.write_bytes(small_png())
    code, out, err = run_cli(capsys, "activations", "lenet5", "--image", str(path), "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["architecture"] == "lenet5" and len(result["top"]) == 5
