"""``python -m explorer microscope``: one PNG and one JSON entry per channel, one sentence and status 2 when refused."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from explorer.cli.main import main
from explorer.runs.featurevis.cache import ENV_FOLDER


@pytest.fixture
def run(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_FOLDER, str(tmp_path / "cache"))

    def call(*args: str) -> tuple[int, str, str]:
        try:
            code = main(["microscope", *args])
        except SystemExit as stop:  # argparse's own refusals
            code = stop.code
        out, err = capsys.readouterr()
        return code, out, err

    return call


def test_two_channels_give_two_pngs_and_two_entries(run, tmp_path):
    out = tmp_path / "renders"
    code, stdout, _ = run("lenet5", "--weights", "digits", "--layer", "features.3", "--channels", "3,5",
                          "--steps", "8", "--out", str(out), "--gallery", str(tmp_path / "g.png"), "--json")
    assert code == 0
    # One row of tiles: 4 × (128 render + 8 + 40 crops + 16) + 8 wide, 128 + 34 + 8 + 16 + 18 high.
    assert Image.open(tmp_path / "g.png").size == (4 * 192 + 8, 204)
    entries = json.loads(stdout)
    assert [e["channel"] for e in entries] == [3, 5]
    for entry in entries:
        assert len(entry["objective"]) == 8 and len(entry["examples"]) == 9
        assert entry["corpus"] == "the 1,797 digit scans"
        assert entry["dataset_best"] == max(e["activation"] for e in entry["examples"])
        assert entry["examples"][0]["source"].startswith("scan ")
        box = entry["examples"][0]["box"]
        assert box["bottom"] - box["top"] == 13  # LeNet-5's second convolution sees 14 pixels
        assert np.asarray(Image.open(entry["image"])).shape == (32, 32)
    # A second run takes the renders from the cache: the same objective curves.
    code, again, _ = run("lenet5", "--weights", "digits", "--layer", "features.3", "--channels", "3,5",
                         "--steps", "8", "--out", str(out), "--json")
    assert [e["objective"] for e in json.loads(again)] == [e["objective"] for e in entries]


@pytest.mark.parametrize("args, words", [
    (("--layer", "features.9", "--channels", "0"), "no layer called 'features.9'"),
    (("--layer", "features.3", "--channels", "16"), "channels 0 to 15, so channel 16 does not exist"),
    (("--layer", "features.3", "--channels", "0", "--steps", "10000"), "--steps must be 1 to 2,048"),
    (("--layer", "features.3", "--channels", "0", "--size", "0"), "--size must be 1 to 512"),
    (("--layer", "features.3", "--channels", "0", "--size", "5000"), "--size must be 1 to 512"),
    (("--layer", "features.3", "--channels", "0", "--size", "8"), "32 to 512 pixels a side, not 8"),
    (("--layer", "features.3", "--channels", "zero"), "written like 0-15"),
])
def test_bad_requests_exit_2_with_one_sentence(run, args, words):
    code, stdout, stderr = run("lenet5", "--weights", "digits", *args)
    assert code == 2 and stdout == ""
    assert words in stderr and len(stderr.strip().splitlines()) == 1


def test_corpus_folders_without_pictures_or_with_hostile_files_are_refused(run, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, stderr = run("lenet5", "--layer", "features.3", "--channels", "0", "--corpus", str(empty))
    assert code == 2 and "holds no pictures" in stderr and len(stderr.strip().splitlines()) == 1
    (empty / "bomb.gif").write_bytes(b"GIF89a" + b"\xff\xff\xff\xff" + b"\x00" * 20)  # claims 65,535² pixels
    code, _, stderr = run("lenet5", "--layer", "features.3", "--channels", "0", "--corpus", str(empty))
    assert code == 2 and "'bomb.gif' in the corpus folder was refused" in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_an_offline_imagenette_download_is_one_sentence(run, tmp_path, monkeypatch):
    from explorer.inputs import corpora

    monkeypatch.setenv(corpora.ENV_DATA, str(tmp_path / "data"))
    monkeypatch.setattr(corpora, "IMAGENETTE_URL", "http://127.0.0.1:9/imagenette2-160.tgz")
    code, _, stderr = run("lenet5", "--layer", "features.3", "--channels", "0", "--corpus", "imagenette")
    assert code == 2 and stderr.startswith("Imagenette could not be downloaded from http://127.0.0.1:9/")
    assert len(stderr.strip().splitlines()) == 1
