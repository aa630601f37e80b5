"""Weights: choices per architecture, torch.hub's cache offline, downloads that fail, uploads that must not run code.

No test touches the internet. Downloads are served by a server on 127.0.0.1 or fail
through a port nobody listens on; the ImageNet loading path is exercised with
checkpoints these tests write themselves, under the file name torchvision expects,
in a temporary TORCH_HOME.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import pickle
import socket
import threading
import urllib.error
from pathlib import Path

import pytest
import torch
import torchvision

from explorer.__main__ import main
from tests.conftest import ROOT
from explorer.core.errors import UserError
from explorer.core.limits import UPLOAD_BYTES
from explorer.core.registry import ARCHITECTURES, get_spec
from explorer.inputs import images, samples
from explorer.runs import predictions
from explorer.weights import catalogue, hub, loading, uploads
from ui.caches.training_copies import session_trainer

FEATURE_MAPS = "pages/feature-maps.py"
FAST_INIT = {"inception_v3": {"init_weights": False}}


@pytest.fixture
def hub_dir(tmp_path, monkeypatch):
    """An empty torch.hub cache of this test's own (TORCH_HOME and torch.hub.set_dir both point at it)."""
    home = tmp_path / "torch_home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    previous = torch.hub.get_dir()
    torch.hub.set_dir(str(home / "hub"))
    yield home / "hub" / "checkpoints"
    torch.hub.set_dir(previous)


def fake_imagenet_checkpoint(hub_dir: Path, arch_id: str, seed: int = 0) -> dict[str, torch.Tensor]:
    """A randomly initialised ``arch_id`` saved where torchvision looks for its IMAGENET1K_V1 file."""
    torch.manual_seed(seed)
    # torchvision's default layer initialisation: Inception's truncated-normal one takes seconds.
    state = torchvision.models.get_model(arch_id, weights=None, **FAST_INIT.get(arch_id, {})).state_dict()
    url = torchvision.models.get_model_weights(arch_id).IMAGENET1K_V1.url
    hub_dir.mkdir(parents=True, exist_ok=True)
    torch.save(state, hub_dir / url.rsplit("/", 1)[1])
    return state


def clear_model_cache() -> None:
    from ui.caches.networks import shared_model

    shared_model.clear()  # st.cache_resource outlives one AppTest: start from what this test wrote


# -- choices ----------------------------------------------------------------------------------------


def test_choices_follow_torchvision_enums_and_the_digit_checkpoints():
    from explorer.weights.digit_checkpoints import DIGITS_WEIGHTS_ARCHS

    for spec in ARCHITECTURES:
        found = catalogue.choices(spec)
        assert found[0] == "random" and found[-1] == "upload"
        members = spec.weights.__members__ if spec.weights else {}
        assert ("imagenet" in found) == ("IMAGENET1K_V1" in members), spec.id
        assert ("imagenet_v2" in found) == ("IMAGENET1K_V2" in members), spec.id
        assert ("digits" in found) == (spec.id in DIGITS_WEIGHTS_ARCHS), spec.id
    # Spot checks written out by hand: ResNet-50 has V2 in torchvision, ResNet-18 and VGG-16 do not.
    assert catalogue.choices(get_spec("resnet50"), upload=False) == ["random", "imagenet", "imagenet_v2"]
    assert catalogue.choices(get_spec("resnet18"), upload=False) == ["random", "imagenet"]
    assert catalogue.choices(get_spec("lenet5"), upload=False) == ["random", "digits"]


def test_a_choice_the_network_lacks_is_one_sentence():
    with pytest.raises(UserError, match=r"^ResNet-18 has no ImageNet \(torchvision V2\) weights; choose one of: random, imagenet"):
        catalogue.check_choice(get_spec("resnet18"), "imagenet_v2")


def test_checkpoint_is_described_from_metadata_alone(hub_dir):
    found = hub.checkpoint(get_spec("resnet18"), "imagenet")
    assert found.url == "https://download.pytorch.org/models/resnet18-f37072fd.pth"
    assert found.path == hub_dir / "resnet18-f37072fd.pth"
    assert found.megabytes == pytest.approx(44.661) and found.hash_prefix == "f37072fd"
    assert not found.cached and hub.needs_download(get_spec("resnet18"), "imagenet")
    assert hub.checkpoint(get_spec("resnet18"), "random") is None


def test_category_names_follow_the_weights():
    resnet = get_spec("resnet50")
    v2 = torchvision.models.ResNet50_Weights.IMAGENET1K_V2.meta["categories"]
    assert catalogue.class_names(resnet, "imagenet_v2") == v2 and v2[281] == "tabby"
    assert catalogue.class_names(get_spec("lenet5"), "digits") == [str(d) for d in range(10)]


# -- preprocessing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("arch_id, choice", [("resnet18", "imagenet"), ("resnet50", "imagenet_v2")])
def test_preprocessing_at_the_usual_size_is_torchvisions_own_transforms(arch_id, choice):
    spec = get_spec(arch_id)
    loaded = images.load_image(samples.sample_bytes("chelsea"))
    ours = images.prepare(loaded, spec, 224, 224, choice).tensor[0]
    reference = catalogue.torchvision_weights(spec, choice).transforms()(loaded.image)
    assert ours.shape == reference.shape == (3, 224, 224)
    assert torch.allclose(ours, reference, atol=2e-2)  # the resize may round a pixel's edge differently
    assert (ours - reference).abs().mean() < 1e-3


def test_resnet50_v2_crops_from_232_and_v1_from_256():
    loaded = images.load_image(samples.sample_bytes("chelsea"))  # 451×300
    spec = get_spec("resnet50")
    assert "shorter side is 232 pixels" in images.prepare(loaded, spec, 224, 224, "imagenet_v2").steps[0]
    assert "shorter side is 256 pixels" in images.prepare(loaded, spec, 224, 224, "imagenet").steps[0]
    # At another size the same ratio (256/224) is kept: 112 × 256/224 = 128.
    assert "shorter side is 128 pixels" in images.prepare(loaded, spec, 112, 112, "imagenet").steps[0]


def test_inception_scaling_matches_torchvisions_transform_input(hub_dir):
    """Our −1…1 preprocessing into the registry's network equals torchvision's own loaded Inception v3.

    At 96×96 rather than 299 to keep the test quick: torchvision's preset class with the
    same resize ratio (342/299) is the reference preprocessing.
    """
    fake_imagenet_checkpoint(hub_dir, "inception_v3")
    spec = get_spec("inception_v3")
    loaded = images.load_image(samples.sample_bytes("coffee"))
    member = torchvision.models.Inception_V3_Weights.IMAGENET1K_V1
    reference = torchvision.models.inception_v3(weights=member).eval()  # loads our file: transform_input=True
    assert reference.transform_input
    preset = type(member.transforms())(crop_size=96, resize_size=round(96 * 342 / 299))
    with torch.no_grad():
        expected = reference(preset(loaded.image).unsqueeze(0))
        ours = loading.build(spec, "imagenet")(images.prepare(loaded, spec, 96, 96, "imagenet").tensor)
    assert torch.allclose(ours, expected, atol=1e-3, rtol=1e-3)


# -- loading from torch.hub's cache (offline) ----------------------------------------------------------


def test_imagenet_weights_load_from_the_hub_cache_like_torchvisions_own_builder(hub_dir):
    state = fake_imagenet_checkpoint(hub_dir, "resnet18")
    spec = get_spec("resnet18")
    ours = loading.build(spec, "imagenet")
    for key, tensor in ours.state_dict().items():
        assert torch.equal(tensor, state[key]), key
    reference = torchvision.models.resnet18(weights="IMAGENET1K_V1").eval()  # torchvision's path, same file
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(ours(x), reference(x))


def test_a_missing_or_damaged_cached_file_falls_back_in_one_sentence(hub_dir):
    spec = get_spec("resnet18")
    with pytest.raises(catalogue.WeightsUnavailable, match="not downloaded yet"):
        loading.build(spec, "imagenet")
    hub_dir.mkdir(parents=True)
    (hub_dir / "resnet18-f37072fd.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(catalogue.WeightsUnavailable, match="could not be read"):
        loading.build(spec, "imagenet")
    torch.save(get_spec("resnet34").build().state_dict(), hub_dir / "resnet18-f37072fd.pth")
    with pytest.raises(catalogue.WeightsUnavailable, match="do not fit ResNet-18"):
        loading.build(spec, "imagenet")


# -- downloads ----------------------------------------------------------------------------------------


class _Files(http.server.BaseHTTPRequestHandler):
    """Serves ``body``; ``promised`` bytes announced (more than sent = an interrupted transfer)."""

    body = b""
    promised: int | None = None

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(self.promised or len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def local_server():
    def serve(body: bytes, promised: int | None = None) -> str:
        handler = type("Handler", (_Files,), {"body": body, "promised": promised})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    servers = []
    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again on leaving: nobody listens there


def test_a_download_arrives_whole_with_progress_and_a_checked_hash(hub_dir, local_server):
    body = bytes(range(256)) * 9000  # 2.3 MB: three pieces
    name = f"tiny-{hashlib.sha256(body).hexdigest()[:8]}.pth"
    found = hub.Checkpoint(url=f"{local_server(body)}/models/{name}", megabytes=len(body) / 2**20)
    seen = []
    path = hub.download(get_spec("resnet18"), found, lambda done, total: seen.append((done, total)))
    assert path == hub_dir / name and path.read_bytes() == body
    assert seen[-1] == (len(body), len(body)) and len(seen) == 3
    assert [p.name for p in hub_dir.iterdir()] == [name]  # no temporary file left behind


@pytest.mark.parametrize("case", ["bad hash", "interrupted"])
def test_a_bad_or_cut_download_leaves_nothing_in_the_cache(hub_dir, local_server, case):
    body = b"x" * 5000
    promised = 9000 if case == "interrupted" else None
    found = hub.Checkpoint(url=f"{local_server(body, promised)}/resnet18-f37072fd.pth", megabytes=0.01)
    with pytest.raises(catalogue.WeightsUnavailable) as raised:
        hub.download(get_spec("resnet18"), found)
    words = "does not match torchvision's checksum" if case == "bad hash" else "stopped after 5,000 of 9,000 bytes"
    assert words in str(raised.value) and str(raised.value).endswith("so it keeps random weights.")
    assert list(hub_dir.iterdir()) == []


def test_nobody_listening_is_one_sentence_not_a_hang(hub_dir):
    found = hub.Checkpoint(url=f"http://127.0.0.1:{closed_port()}/resnet18-f37072fd.pth", megabytes=44.661)
    with pytest.raises(catalogue.WeightsUnavailable, match=r"^The ImageNet weights for ResNet-18 could not be downloaded \(127\.0\.0\.1 refused"):
        hub.download(get_spec("resnet18"), found)
    assert not found.cached


def offline(url, timeout):
    raise urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution"))


def test_offline_names_the_host(hub_dir, monkeypatch):
    monkeypatch.setattr(hub, "_open_url", offline)
    spec = get_spec("resnet18")
    with pytest.raises(catalogue.WeightsUnavailable, match="cannot reach download.pytorch.org; it may be offline"):
        hub.download(spec, hub.checkpoint(spec, "imagenet"))


# -- uploaded state dicts ---------------------------------------------------------------------------------


class _Evil:
    """Unpickling this calls Path.touch on the marker: code that runs while a file is loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def saved(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def test_a_malicious_pickle_is_refused_and_its_code_never_runs(tmp_path):
    marker = tmp_path / "marker"
    data = saved({"conv1.weight": torch.zeros(1), "payload": _Evil(marker)})
    with pytest.raises(UserError, match="contains code, which is never run"):
        uploads.read(data)
    assert not marker.exists()
    # The file really is hostile: a full unpickle, which the app never does, runs its code.
    torch.load(io.BytesIO(data), weights_only=False)
    assert marker.exists()
    marker.unlink()
    with pytest.raises(UserError):
        uploads.load(get_spec("lenet5"), data)
    assert not marker.exists()
    plain = tmp_path / "plain"
    with pytest.raises(UserError):
        uploads.read(pickle.dumps(_Evil(plain)))  # a bare pickle, not torch's zip format
    assert not plain.exists()


def test_a_fitting_state_dict_loads_also_wrapped_and_in_half_precision():
    spec = get_spec("lenet5")
    torch.manual_seed(1)
    state = spec.build().state_dict()
    x = torch.rand(1, 1, 32, 32)
    for data in (saved(state), saved({"state_dict": state, "epoch": 3}), saved({"model": state})):
        model = uploads.load(spec, data)
        for key, tensor in model.state_dict().items():
            assert torch.equal(tensor, state[key]), key
    half = uploads.load(spec, saved({k: v.half() for k, v in state.items()}))
    assert all(p.dtype == torch.float32 for p in half.parameters())
    with torch.no_grad():
        half(x)  # a float32 picture goes through


def test_missing_unexpected_and_misshapen_keys_are_listed():
    spec = get_spec("lenet5")
    state = spec.build().state_dict()
    keys = list(state)
    missing, misshapen = keys[0], keys[2]
    state.pop(missing)
    state[misshapen] = torch.zeros(3, 3)
    state["extra.weight"] = torch.zeros(2)
    with pytest.raises(uploads.StateDictMismatch) as raised:
        uploads.load(spec, saved(state))
    assert str(raised.value) == (
        "These weights do not fit LeNet-5: 1 of LeNet-5's tensors are missing, 1 tensors in the file have no place "
        "in it, 1 have the wrong shape; they were not loaded, so it keeps random weights."
    )
    problems = raised.value.table.set_index("key")["problem"]
    expected_shape = "×".join(map(str, spec.build().state_dict()[misshapen].shape))
    assert problems[misshapen] == f"shape 3×3, needs {expected_shape}"
    assert problems[missing] == "missing" and problems["extra.weight"] == "not in LeNet-5"
    assert len(problems) == 3


def test_too_large_empty_and_non_state_dict_uploads_are_sentences():
    with pytest.raises(UserError, match="more than the 25 MB limit.*ImageNet weights of most networks"):
        uploads.read(b"\0" * (UPLOAD_BYTES + 1))
    with pytest.raises(UserError, match="empty"):
        uploads.read(b"")
    with pytest.raises(UserError, match="no state dict"):
        uploads.read(saved([torch.zeros(2)]))
    with pytest.raises(UserError, match="besides named tensors"):
        uploads.read(saved({"a": torch.zeros(2), "b": 3}))
    state = get_spec("toy_dense").build().state_dict()
    with pytest.raises(UserError, match="NaN or infinite"):
        uploads.load(get_spec("toy_dense"), saved({k: torch.full_like(v, float("nan")) for k, v in state.items()}))


# -- command line --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, words",
    [
        (["activations", "lenet5", "--image", "x.png", "--weights", "imagenet"], "LeNet-5 has no ImageNet"),
        (["train-step", "resnet18", "--size", "64", "--weights", "imagenet_v2"], "ResNet-18 has no ImageNet (torchvision V2)"),
        (["train-step", "resnet18", "--size", "64", "--weights", "digits"], "ResNet-18 has no Trained on handwritten digits"),
        (["train-step", "lenet5", "--weights", "no/such/file.pt"], "is none of these"),
    ],
)
def test_command_line_weights_errors_exit_2(capsys, args, words):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1


def test_command_line_takes_a_state_dict_file_and_lists_a_misfit(tmp_path, capsys):
    torch.manual_seed(2)
    state = get_spec("lenet5").build().state_dict()
    good = tmp_path / "lenet.pt"
    good.write_bytes(saved(state))
    assert main(["train-step", "lenet5", "--weights", str(good), "--json"]) == 0
    assert '"weights": "upload"' in capsys.readouterr().out
    bad = tmp_path / "toy.pt"
    bad.write_bytes(saved(get_spec("toy_conv").build().state_dict()))
    assert main(["train-step", "lenet5", "--weights", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "These weights do not fit LeNet-5" in err and "conv.weight" in err


def test_command_line_imagenet_from_the_cache_names_imagenet_classes(hub_dir, tmp_path, capsys):
    fake_imagenet_checkpoint(hub_dir, "resnet18")
    picture = tmp_path / "cat.png"
    picture.write_bytes(samples.sample_bytes("chelsea"))
    assert main(["activations", "resnet18", "--image", str(picture), "--size", "64", "--weights", "imagenet", "--json"]) == 0
    top = __import__("json").loads(capsys.readouterr().out)["top"]
    categories = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.meta["categories"]
    assert len(top) == 5 and all(entry["class"] in categories for entry in top)


# -- the app (AppTest) ------------------------------------------------------------------------------------


def test_app_loads_cached_imagenet_weights_and_names_imagenet_classes(hub_dir, app_test):
    fake_imagenet_checkpoint(hub_dir, "resnet18", seed=5)
    clear_model_cache()
    at = app_test(query={"arch": "resnet18", "h": "64", "w": "64", "weights": "imagenet"}, page=FEATURE_MAPS)
    assert not at.exception and not at.error
    assert at.selectbox(key="sb_weights").value == "imagenet"
    assert not [b for b in at.sidebar.button if b.key == "sb_weights_download"]
    assert any("IMAGENET1K_V1" in s.value and "69.8% top-1" in s.value for s in at.success)
    assert not any("meaningless" in w.value for w in at.warning)
    # The reference: torchvision's own builder on the same cached file and the same input.
    spec = get_spec("resnet18")
    reference = torchvision.models.resnet18(weights="IMAGENET1K_V1").eval()
    tensor = images.prepare(images.load_image(samples.sample_bytes("chelsea")), spec, 64, 64, "imagenet").tensor
    with torch.no_grad():
        logits = reference(tensor)[0].numpy()
    categories = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.meta["categories"]
    expected = [name for name, _ in predictions.top_classes(spec, logits, 5, categories)]
    assert list(at.dataframe[0].value["class"]) == expected
    assert at.query_params["weights"] == "imagenet"


def test_app_download_failure_falls_back_with_the_sentence(hub_dir, app_test, monkeypatch):
    monkeypatch.setattr(hub, "_open_url", offline)
    clear_model_cache()
    # 72×72: a size no other test file captures at, whose tests count their own forward passes.
    at = app_test(query={"arch": "resnet18", "h": "72", "w": "72", "weights": "imagenet"}, page=FEATURE_MAPS)
    assert not at.exception
    size = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.meta["_file_size"]
    assert any(f"{size:.0f} MB from download.pytorch.org" in c.value for c in at.sidebar.caption)
    assert any("meaningless" in w.value for w in at.warning)  # random weights until downloaded
    at.sidebar.button(key="sb_weights_download").click().run()
    assert not at.exception
    sentences = [w.value for w in at.sidebar.warning]
    assert any(s.startswith("The ImageNet weights for ResNet-18 could not be downloaded") and "offline" in s
               for s in sentences)
    assert any("meaningless" in w.value for w in at.warning) and len(at.dataframe) == 1  # the page still works
    assert at.sidebar.button(key="sb_weights_retry")


def test_app_refuses_a_malicious_upload_and_lists_a_misfit(app_test, tmp_path):
    at = app_test(query={"arch": "lenet5", "weights": "upload"}, page=FEATURE_MAPS)
    marker = tmp_path / "marker"
    at.sidebar.file_uploader(key="sb_weights_file").set_value(("evil.pt", saved({"x": _Evil(marker)}), "application/octet-stream")).run()
    assert not at.exception and not marker.exists()
    assert any("contains code, which is never run" in w.value for w in at.sidebar.warning)
    misfit = saved(get_spec("toy_conv").build().state_dict())
    at.sidebar.file_uploader(key="sb_weights_file").set_value(("toy.pt", misfit, "application/octet-stream")).run()
    assert any("do not fit LeNet-5" in w.value for w in at.sidebar.warning)
    assert "conv.weight" in list(at.sidebar.dataframe[0].value["key"])
    assert any("meaningless" in w.value for w in at.warning)


def test_app_runs_an_uploaded_state_dict_for_this_session_only(app_test):
    torch.manual_seed(3)
    model = get_spec("lenet5").build()
    at = app_test(query={"arch": "lenet5", "weights": "upload"}, page=FEATURE_MAPS)
    at.sidebar.file_uploader(key="sb_weights_file").set_value(("mine.pt", saved(model.state_dict()), "application/octet-stream")).run()
    assert not at.exception and not at.sidebar.warning
    tensor = images.prepare(images.load_image(samples.sample_bytes("handwritten_0")), get_spec("lenet5"), 32, 32).tensor
    with torch.no_grad():
        best = int(model(tensor)[0].argmax())
    assert at.dataframe[0].value["class"].iloc[0] == str(best)
    other = app_test(query={"arch": "lenet5"}, page=FEATURE_MAPS)
    assert "sb_weights_uploaded" not in other.session_state


def test_a_link_asking_for_weights_the_network_lacks_says_so(app_test):
    at = app_test(query={"arch": "resnet18", "h": "64", "w": "64", "weights": "digits"}, page="pages/layer-table.py")
    assert any("has no weights called 'digits'" in w.value for w in at.warning)
    assert at.selectbox(key="sb_weights").value == "random"


def test_changing_architecture_keeps_imagenet_and_drops_what_the_new_one_lacks(hub_dir, app_test):
    at = app_test(query={"arch": "resnet50", "weights": "imagenet_v2"}, page="pages/layer-table.py")
    at.selectbox(key="sb_arch").set_value("resnet18").run()
    assert at.selectbox(key="sb_weights").value == "random"  # ResNet-18 has no V2
    at.selectbox(key="sb_weights").set_value("imagenet").run()
    at.selectbox(key="sb_arch").set_value("vgg11").run()
    assert at.selectbox(key="sb_weights").value == "imagenet"
    at.selectbox(key="sb_arch").set_value("lenet5").run()
    assert at.selectbox(key="sb_weights").value == "random"
    assert not at.exception


def test_digits_weights_on_the_feature_map_and_training_pages(app_test):
    from explorer.weights.digit_checkpoints import digits_report, digits_state_dict

    at = app_test(query={"arch": "toy_conv", "weights": "digits"}, page=FEATURE_MAPS)
    assert not at.exception
    report = digits_report("toy_conv")
    assert any(f"{report['held_out_accuracy']:.1%} correct on" in s.value for s in at.success)
    assert at.dataframe[0].value["class"].iloc[0] == "0"  # the first scoreboard sample is a 0
    at.switch_page("pages/training-step.py").run()
    source = session_trainer(at.session_state)._source
    for key, tensor in digits_state_dict("toy_conv").items():
        assert torch.equal(source.state_dict()[key], tensor), key


def test_random_weights_are_the_same_network_in_every_process_and_leave_the_callers_random_numbers_alone():
    import subprocess
    import sys

    from explorer.core.registry import get_spec
    from explorer.weights import loading

    spec = get_spec("lenet5")
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    here = loading.build(spec, "random")
    assert torch.equal(torch.rand(3), expected_next)  # building drew nothing from the caller's stream
    again = loading.build(spec, "random")
    # Another server (a replica, or this one restarted): a fresh interpreter with another global seed.
    script = ("import sys, torch; torch.manual_seed(7); from explorer.core.registry import get_spec; "
              "from explorer.weights import loading; m = loading.build(get_spec('lenet5'), 'random'); "
              "sys.stdout.write(' '.join(f'{float(p.double().sum()):.17g}' for p in m.state_dict().values()))")
    other = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    sums = [float(p.double().sum()) for p in here.state_dict().values()]
    assert [float(v) for v in other.stdout.split()] == sums
    for name, value in here.state_dict().items():
        assert torch.equal(value, again.state_dict()[name]), name
    # and it is a random network, not zeros: two layers' weights differ
    assert not torch.equal(here.state_dict()["features.0.weight"].flatten()[:6],
                           here.state_dict()["features.3.weight"].flatten()[:6])
