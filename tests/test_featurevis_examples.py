"""Dataset examples are the true top 9, each crop is its unit's receptive-field patch, and the corpora refuse
what uploads refuse; Imagenette downloads only when asked and a failed download is one sentence."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch

from explorer.analysis.receptive_field import Field
from explorer.core.errors import UserError
from explorer.core.registry import get_spec
from explorer.inputs import corpora, images
from explorer.runs.featurevis import examples, microscope
from explorer.weights.digit_checkpoints import digits_model


@pytest.fixture(scope="module")
def lenet_scans():
    spec, model = get_spec("lenet5"), digits_model("lenet5")
    corpus = corpora.scans()
    return spec, model, corpus, microscope.scan_corpus(spec, model, "digits", "features.3", corpus)


def test_the_examples_are_a_brute_force_top_nine(lenet_scans):
    spec, model, corpus, found = lenet_scans
    # Brute force: each scan alone through the whole network, the convolution's output read by a plain hook.
    kept = {}
    handle = model.features[3].register_forward_hook(lambda module, args, output: kept.update(out=output))
    values = []
    try:
        with torch.no_grad():
            for picture in corpus.pictures:
                model(images.prepare(images.load_image(picture.data), spec, 32, 32, "digits").tensor)
                values.append(kept["out"][0].flatten(1).max(1).values)
    finally:
        handle.remove()
    values = torch.stack(values).numpy()
    for channel in (0, 7, 15):
        best = sorted(range(len(values)), key=lambda i: -values[i, channel])[:9]
        shown = examples.top_examples(spec, "digits", found, channel, microscope.layer_field(spec, "features.3", 32))
        assert [e.source for e in shown] == [corpus.pictures[i].source for i in best]
        assert np.allclose([e.value for e in shown], values[best, channel], atol=1e-4)
        assert found.best(channel) == pytest.approx(values[:, channel].max(), abs=1e-4)


def test_each_crop_is_the_units_receptive_field_patch(lenet_scans):
    spec, model, corpus, found = lenet_scans
    # By hand: 5×5 convolution, 2×2 pooling, 5×5 convolution: 14 pixels wide, units 2 pixels apart, from 0.
    for example in examples.top_examples(spec, "digits", found, 4, microscope.layer_field(spec, "features.3", 32)):
        row, column = example.position
        assert example.box == (2 * row, 2 * row + 13, 2 * column, 2 * column + 13) and not example.clipped
        picture = next(p for p in corpus.pictures if p.source == example.source)
        shown = images.prepare(images.load_image(picture.data), spec, 32, 32, "digits").shown
        assert np.array_equal(example.crop, shown[2 * row:2 * row + 14, 2 * column:2 * column + 14])


def test_a_field_past_the_border_is_clipped_and_says_so():
    field = Field((11, 11), (Fraction(4), Fraction(4)), (-3, -3))  # like a padded first layer
    assert examples.crop_box(field, (0, 0), 32) == ((0, 7, 0, 7), True)
    assert examples.crop_box(field, (7, 2), 32) == ((25, 31, 5, 15), True)  # rows 25…35 cut at 31
    assert examples.crop_box(field, (2, 2), 32) == ((5, 15, 5, 15), False)


def test_a_folder_corpus_reads_pictures_and_refuses_hostile_or_empty_folders(tmp_path):
    (tmp_path / "notes.txt").write_text("not a picture, and not read")
    with pytest.raises(UserError, match="holds no pictures"):
        corpora.folder(tmp_path)
    from explorer.inputs.samples import sample_bytes

    (tmp_path / "cat.png").write_bytes(sample_bytes("chelsea"))
    (tmp_path / "link.png").symlink_to(tmp_path / "cat.png")  # links are never followed
    found = corpora.folder(tmp_path)
    assert [p.source for p in found.pictures] == ["cat.png"]
    (tmp_path / "evil.png").write_bytes(b"<script>alert(1)</script>")
    with pytest.raises(UserError, match="'evil.png' in the corpus folder was refused: This file could not be read"):
        corpora.folder(tmp_path)
    with pytest.raises(UserError, match="is not a folder"):
        corpora.folder(tmp_path / "cat.png")


def test_imagenette_is_fetched_only_when_asked_and_an_offline_download_is_one_sentence(tmp_path):
    seen = []
    with pytest.raises(UserError, match="Imagenette could not be downloaded"):
        corpora.imagenette(tmp_path, progress=lambda done, total: seen.append(done), url="http://127.0.0.1:9/none.tgz")
    assert seen == [] and not (tmp_path / "imagenette2-160").exists()


def test_imagenette_when_asked_is_unpacked_and_read_through_torchvision(tmp_path):
    import io
    import tarfile

    from PIL import Image

    # A stand-in archive in Imagenette's own layout, fetched through a file:// address: nothing leaves the machine.
    archive = tmp_path / "imagenette2-160.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        for wnid, name in (("n01440764", "fish.JPEG"), ("n03888257", "chute.JPEG")):
            buffer = io.BytesIO()
            Image.new("RGB", (160, 120), (200, 30, 30)).save(buffer, "JPEG")
            info = tarfile.TarInfo(f"imagenette2-160/val/{wnid}/{name}")
            info.size = len(buffer.getvalue())
            tar.addfile(info, io.BytesIO(buffer.getvalue()))
    seen = []
    found = corpora.imagenette(tmp_path / "data", progress=lambda done, total: seen.append((done, total)),
                               url=archive.as_uri())
    assert [p.source for p in found.pictures] == ["fish.JPEG (tench)", "chute.JPEG (parachute)"]
    assert seen[-1][0] == archive.stat().st_size and not (tmp_path / "data" / "imagenette2-160.tgz").exists()
    assert images.load_image(found.pictures[0].data).image.size == (160, 120)


def test_logit_examples_are_whole_pictures_ranked_by_the_logit():
    spec, model = get_spec("lenet5"), digits_model("lenet5")
    corpus = corpora.Corpus("forty scans", corpora.scans().pictures[:40])
    found = microscope.scan_corpus(spec, model, "digits", "logits", corpus)
    with torch.no_grad():
        logits = torch.cat([model(images.prepare(images.load_image(p.data), spec, 32, 32, "digits").tensor)
                            for p in corpus.pictures])
    shown = examples.top_examples(spec, "digits", found, 7, microscope.layer_field(spec, "logits", 32))
    assert [e.source for e in shown] == [corpus.pictures[i].source for i in logits[:, 7].argsort(descending=True)[:9]]
    assert all(e.box == (0, 31, 0, 31) and not e.clipped and e.position == (0, 0) for e in shown)
    assert shown[0].source.endswith("(a 7)")  # the digit-trained LeNet-5's best 7 among forty scans is a 7
