"""Every bad design file, link or export the issue lists gets one plain sentence (a UserError), nothing else."""

from __future__ import annotations

import base64
import json
import zlib

import pytest

from explorer.analysis.design_file import parse_design, read_design
from explorer.analysis.design_link import decode, encode
from explorer.analysis.design_rows import export_code, require_whole
from explorer.core.errors import UserError
from explorer.models.design_presets import PRESETS

HOSTILE = '<img src=x onerror=alert(1)>"""; import os; os.system("rm -rf /")'


def one_sentence(error: UserError) -> str:
    text = str(error)
    assert "\n" not in text and text.endswith(".") and text[0].isupper() and len(text) < 300, text
    return text


def lenet_with(**changes) -> dict:
    data = json.loads(json.dumps(PRESETS["lenet5"]))
    data.update(changes)
    return data


def first_layer(**settings) -> dict:
    data = lenet_with()
    data["layers"][0] = {"type": "conv", "out": 6, "kernel": 5, **settings}
    return data


FILES = {
    "not JSON": (b"\x89PNG\r\n\x1a\n not json at all", "is not JSON"),
    "broken JSON": (b'{"input": [1, 32, 32], "classes": 10, "layers": [', "is not JSON"),
    "over 100 kB": (json.dumps(lenet_with(padding="x" * 120_000)).encode(), "at most 100 kB"),
    "unknown type": (json.dumps(lenet_with(layers=[{"type": "transformer"}])).encode(), "unknown type 'transformer'"),
    "hostile type": (json.dumps(lenet_with(layers=[{"type": HOSTILE}])).encode(), "Layer 1 has an unknown type;"),
    "negative size": (json.dumps(first_layer(out=-6)).encode(), "the out must be a whole number from 1 to 1,024"),
    "fractional size": (json.dumps(first_layer(kernel=2.5)).encode(), "the kernel must be a whole number"),
    "kernel 0": (json.dumps(first_layer(kernel=0)).encode(), "got 0."),
    # Only 3 bytes a layer fit 10,000 of them in 100 kB; the count is refused before any layer is read.
    "10,000 layers": (json.dumps(lenet_with(layers=[{}] * 10_000)).encode(), "at most 64 layers; this one has 10,000."),
    "too many channels": (json.dumps(first_layer(out=2048)).encode(), "from 1 to 1,024; got 2,048."),
    "hostile name": (json.dumps(first_layer(name=HOSTILE)).encode(), "name may have at most 40 letters"),
    "a list": (b"[1, 2, 3]", "must be a JSON object"),
    "a huge number": (b'{"input": [1, 32, 32], "classes": ' + b"9" * 5000 + b"}", "is not JSON"),
    "bad input": (json.dumps(lenet_with(input=[2, 32, 32])).encode(), "1 channel (grey"),
    "bad dropout": (json.dumps(lenet_with(layers=[{"type": "dropout", "p": 1.5}])).encode(), "probability p"),
}


def refused_in_one_sentence(reader, given, expected: str, *hostile: str) -> None:
    """``reader(given)`` raises one sentence that says ``expected`` and repeats none of the hostile text."""
    with pytest.raises(UserError) as caught:
        reader(given)
    text = one_sentence(caught.value)
    assert expected in text
    assert not [word for word in hostile if word in text]


@pytest.mark.parametrize("case", list(FILES))
def test_bad_files_get_one_sentence(case):
    raw, expected = FILES[case]
    refused_in_one_sentence(read_design, raw, expected, "onerror", "rm -rf")


def test_a_name_made_of_plain_words_is_kept_as_data_and_changes_nothing_else():
    named = parse_design(first_layer(name="edges (first try)"))
    assert named.layers[0].name == "edges (first try)"
    assert decode(encode(named)) == named
    assert export_code(named) == export_code(parse_design(first_layer()))


def test_last_layer_must_give_the_classes():
    data = lenet_with(classes=7)
    with pytest.raises(UserError) as caught:
        require_whole(parse_design(data))
    assert "The last layer gives 10 numbers, but the design has 7 classes" in one_sentence(caught.value)


def test_exporting_an_empty_design_is_refused():
    with pytest.raises(UserError) as caught:
        export_code(parse_design(lenet_with(layers=[])))
    assert "no layers yet" in one_sentence(caught.value)


def _link(payload: bytes, version: str = "v1.") -> str:
    return version + base64.urlsafe_b64encode(zlib.compress(payload)).decode().rstrip("=")


LINK = encode(parse_design(PRESETS["lenet5"]))
LINKS = {
    "truncated": (LINK[: len(LINK) // 2], "cut short or damaged"),
    "one character short": (LINK[:-1], "cut short or damaged"),
    "future version": ("v2." + LINK[3:], "newer version of the app (v2)"),
    "not a link": ("javascript:alert(1)", "is not a design link"),
    "not base64": ("v1.@@@@!!!!", "cut short or damaged"),
    "hostile name": (_link(json.dumps(first_layer(name=HOSTILE)).encode()), "name may have at most 40"),
    "zip bomb": (_link(b" " * 5_000_000), "unpacks to more than 100 kB"),
    "far too long": ("v1." + "A" * 20_000, "a design link has at most 8,000"),
    "JSON but no design": (_link(b'"hello"'), "must be a JSON object"),
}


@pytest.mark.parametrize("case", list(LINKS))
def test_bad_links_get_one_sentence(case):
    link, expected = LINKS[case]
    refused_in_one_sentence(decode, link, expected, "onerror", "alert")


def test_a_good_link_is_short_and_opens_the_same_design():
    assert LINK.startswith("v1.")
    assert len(LINK) < 250
    assert decode(LINK) == parse_design(PRESETS["lenet5"])
