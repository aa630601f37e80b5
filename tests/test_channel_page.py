"""The "What a channel looks for" page, run headlessly with AppTest.

A student renders a channel of LeNet-5's second convolution with a short recipe and sees it
beside its nine dataset examples, whose values are checked against a forward hook over the
1,797 scans prepared by another path (the training sets'); the sixteen strongest channels
on a picture against the same hook; and each bad input (a channel the layer lacks, a full
render queue, a cache folder that cannot be written, a class follower) ends in one sentence.
"""

from __future__ import annotations

import pytest
import torch

from explorer.inputs.digit_sets import digit_data
from explorer.runs.featurevis.queue import SERVER_QUEUE
from ui.caches.networks import shared_model

PAGE = "pages/what-a-channel-looks-for.py"
DIGITS = {"arch": "lenet5", "weights": "digits"}


@pytest.fixture(autouse=True)
def render_folder(tmp_path, monkeypatch):
    """Every test renders into a fresh, empty cache folder of its own."""
    folder = tmp_path / "renders"
    monkeypatch.setenv("CNN_EXPLORER_MICROSCOPE_CACHE", str(folder))
    return folder


def captions(at) -> list[str]:
    """Every picture's caption on the page, in order (the pictures' text alternatives)."""
    return [img.caption for element in at.get("image") for img in element.proto.imgs]


def renders(at) -> list[str]:
    return [caption for caption in captions(at) if caption.startswith("A picture made to excite")]


def examples(at) -> list[str]:
    return [caption for caption in captions(at) if " · " in caption]


def conv2_best(model, inputs: torch.Tensor) -> torch.Tensor:
    """Each picture's best unit of each channel of features.3 (a Conv2d, read before the ReLU after it)."""
    kept = []
    handle = model.features[3].register_forward_hook(lambda module, args, output: kept.append(output.clone()))
    try:
        with torch.no_grad():
            model(inputs)
    finally:
        handle.remove()
    return kept[0].flatten(2).amax(2)


def test_a_channel_rendered_on_request_beside_its_nine_true_best_scans(app_test, render_folder):
    at = app_test(query=DIGITS, page=PAGE)
    assert not at.exception and not at.error
    assert at.selectbox(key="ch_layer").value == "features.3"  # LeNet-5's second convolution
    # "about N s", or "less than a second" on a quick machine (the estimate's arithmetic: test_featurevis_cache_queue)
    estimate = [i.value for i in at.info if i.value.startswith("Rendering channel 0 takes ")]
    assert estimate and "512 steps of a 32-pixel picture" in estimate[0]
    assert len(examples(at)) == 9 and not renders(at)  # the examples at once, no render yet
    at.selectbox(key="ch_steps").set_value(16).run()
    at.button(key="ch_render").click().run()
    assert not at.exception and not at.error
    assert renders(at) == ["A picture made to excite channel 0 (16 steps)."]
    assert "ch_render" not in [button.key for button in at.button]  # the offer went once the render was made
    assert len(examples(at)) == 9
    shown = [float(caption.split(" · ")[0]) for caption in examples(at)]
    data = digit_data("lenet5", 32, "digits")
    best = conv2_best(shared_model("lenet5", "cpu", "digits"), torch.cat([data.train_inputs, data.test_inputs]))
    assert len(best) == 1797
    expected = best[:, 0].sort(descending=True).values[:9]
    assert shown == pytest.approx(expected.tolist(), abs=0.006)  # captions carry two decimals
    numbers = [m.value for m in at.markdown if m.value.startswith("**Render:**")]
    assert numbers and f"**Best example:** {expected[0]:.2f}" in numbers[0]
    assert list(render_folder.glob("*.json"))  # kept for the next student
    at.run()
    assert "ch_render" not in [button.key for button in at.button]  # now shown from the cache at once


def test_the_sixteen_strongest_channels_on_a_picture_are_ranked_by_the_same_layer(app_test):
    at = app_test(query=DIGITS, page=PAGE)
    at.radio(key="ch_mode").set_value("strongest").run()
    at.selectbox(key="ch_handwritten").set_value("handwritten_7").run()
    assert not at.exception and not at.error
    shown = [int(m.value.split("**Channel ")[1].split("**")[0]) for m in at.markdown if m.value.startswith("**Channel ")]
    from explorer.inputs import images as pictures
    from explorer.inputs.samples import sample_bytes
    from explorer.core.registry import get_spec

    prepared = pictures.prepare(pictures.load_image(sample_bytes("handwritten_7")), get_spec("lenet5"), 32, 32, "digits")
    kept = []
    model = shared_model("lenet5", "cpu", "digits")
    handle = model.features[3].register_forward_hook(lambda m, a, output: kept.append(output.clone()))
    try:
        with torch.no_grad():
            model(prepared.tensor)
    finally:
        handle.remove()
    means = kept[0][0].flatten(1).mean(1)
    assert shown == means.argsort(descending=True).tolist()  # all 16, strongest first


def test_a_channel_the_layer_lacks_is_one_sentence(app_test):
    at = app_test(query=DIGITS, page=PAGE)
    at.text_input(key="ch_channels").input("3,99").run()
    assert not at.exception
    assert [e.value for e in at.error] == ["This layer has channels 0 to 15, so channel 99 does not exist."]
    at.text_input(key="ch_channels").input("2-4").run()
    assert not at.error and len(examples(at)) == 27 and not renders(at)  # three channels' examples, no renders yet


def test_a_full_queue_is_one_sentence_and_the_page_goes_on(app_test):
    at = app_test(query=DIGITS, page=PAGE)
    at.selectbox(key="ch_steps").set_value(16).run()
    tickets = [SERVER_QUEUE.join() for _ in range(SERVER_QUEUE.limit)]
    try:
        at.button(key="ch_render").click().run()
    finally:
        for ticket in tickets:
            SERVER_QUEUE.leave(ticket)
    assert not at.exception
    assert [e.value for e in at.error] == [f"{SERVER_QUEUE.limit} renders are already queued on this server; "
                                           "try again when one has finished."]
    assert len(examples(at)) == 9 and not renders(at)  # the examples still shown


def test_a_cache_folder_that_cannot_be_written_shows_the_render_without_keeping_it(app_test, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("CNN_EXPLORER_MICROSCOPE_CACHE", str(blocker / "renders"))
    at = app_test(query=DIGITS, page=PAGE)
    at.selectbox(key="ch_steps").set_value(16).run()
    at.button(key="ch_render").click().run()
    assert not at.exception and not at.error
    notes = [w.value for w in at.warning if "could not be kept in the cache folder" in w.value]
    assert len(notes) == 1 and notes[0].endswith("it is shown but will be made again next time.")
    at.run()
    assert renders(at) == ["A picture made to excite channel 0 (16 steps)."]  # kept for this session


def test_a_class_sees_the_teachers_channel_and_render_and_never_starts_one(app_test):
    from ui.classroom import session as class_session

    class_session.classroom.clear()
    try:
        teacher = app_test(query=DIGITS, page=PAGE)
        teacher.button(key="cl_start").click().run()
        code = teacher.session_state["cl_code"]
        teacher.text_input(key="ch_channels").input("5").run()
        teacher.selectbox(key="ch_steps").set_value(16).run()
        student = app_test(query={"class": code})
        assert student.session_state["cl_mode"] == "follow"
        assert [t.value for t in student.title] == ["What a channel looks for · LeNet-5"]
        assert student.text_input(key="ch_channels").value == "5" and student.text_input(key="ch_channels").disabled
        assert "ch_render" not in [button.key for button in student.button]  # a follower never starts a render
        assert any(c.value == "Channel 5 has no render yet; when your teacher renders it, it appears here."
                   for c in student.caption)
        teacher.button(key="ch_render").click().run()
        assert renders(teacher) == ["A picture made to excite channel 5 (16 steps)."]
        student.run()
        assert renders(student) == ["A picture made to excite channel 5 (16 steps)."]  # read from the cache
        assert not student.exception and not student.error
    finally:
        class_session.classroom.clear()


def test_random_weights_get_the_warning_and_the_trained_render_beside_theirs(app_test):
    trained = app_test(query=DIGITS, page=PAGE)
    trained.selectbox(key="ch_steps").set_value(16).run()
    trained.button(key="ch_render").click().run()
    at = app_test(query={"arch": "lenet5"}, page=PAGE)
    assert not at.exception
    assert any("random weights here" in w.value and "means nothing until it is trained" in w.value
               for w in at.warning)
    assert at.radio(key="ch_corpus").value == "samples"
    at.selectbox(key="ch_steps").set_value(16).run()
    twin = "The same channel with its digit-trained weights: what training made it look for, beside what random " \
           "weights do."
    assert twin in captions(at) and not renders(at)  # the trained render, read from the cache, before any other
    at.button(key="ch_render").click().run()
    assert renders(at) == ["A picture made to excite channel 0 (16 steps)."] and twin in captions(at)


def test_uploaded_pictures_are_searched_and_a_refused_one_is_named(app_test):
    from explorer.inputs.samples import PHOTOS, sample_bytes

    at = app_test(query={"arch": "resnet18"}, page=PAGE)
    at.radio(key="ch_corpus").set_value("upload").run()
    assert any(c.value.startswith("Upload a few pictures") for c in at.caption)
    good = [(f"{s.key}.png", sample_bytes(s.key), "image/png") for s in PHOTOS[:2]]
    at.file_uploader(key="ch_uploads").set_value([*good, ("broken.png", b"not a picture", "image/png")]).run()
    assert not at.exception and not at.error
    assert [w.value.split(":")[0] for w in at.warning if w.value.startswith("Picture")] == ["Picture 3 was left out"]
    shown = sorted(caption.split(" · ")[1].removesuffix(" (clipped at the border)") for caption in examples(at))
    assert shown == ["your picture 1", "your picture 2"]  # layer4's field reaches past the border


def test_imagenette_is_fetched_only_on_its_button_and_a_failed_download_is_one_sentence(app_test, tmp_path,
                                                                                        monkeypatch):
    from explorer.inputs import corpora

    missing = tmp_path / "nowhere" / "imagenette2-160.tgz"
    monkeypatch.setenv(corpora.ENV_DATA, str(tmp_path / "data"))
    monkeypatch.setattr(corpora, "IMAGENETTE_URL", missing.as_uri())
    at = app_test(query={"arch": "resnet18"}, page=PAGE)
    at.radio(key="ch_corpus").set_value("imagenette").run()
    assert not (tmp_path / "data").exists()  # nothing fetched before the button
    assert not examples(at)
    at.button(key="ch_imagenette").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith(f"Imagenette could not be downloaded from {missing.as_uri()}")
