"""The render cache keeps, returns and evicts renders and survives an unwritable folder; the render queue admits
one at a time, tells each waiter its place and refuses when full."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from explorer.core.errors import UserError
from explorer.runs.featurevis import cache as render_cache
from explorer.runs.featurevis.queue import RenderQueue
from explorer.runs.featurevis.render import Recipe, Rendered


def _rendered(seed: int, channels: int = 3) -> Rendered:
    pixels = np.random.default_rng(seed).integers(0, 256, (2, 16, 16, channels), dtype=np.uint8)
    return Rendered(pixels, [0.5, 1.25], [1.0, 2.0], [3.0, 4.5])


def test_a_render_comes_back_as_it_was_kept(tmp_path):
    store = render_cache.RenderCache(tmp_path, max_bytes=10**6)
    key = render_cache.render_key("resnet18", "imagenet", "layer3", 37, Recipe())
    assert store.get(key) is None
    for rendered in (_rendered(0), _rendered(1, channels=1)):
        assert store.put(key, rendered) is None
        back = store.get(key)
        assert np.array_equal(back.pictures, rendered.pictures)
        assert (back.objective, back.means, back.activations) == (rendered.objective, rendered.means,
                                                                  rendered.activations)


def test_the_key_changes_with_everything_that_decides_a_render():
    base = ("resnet18", "imagenet", "layer3", 37, Recipe())
    variants = [("resnet34",) + base[1:], base[:1] + ("random-seed-0",) + base[2:], base[:2] + ("layer4",) + base[3:],
                base[:3] + (38, Recipe()), base[:4] + (Recipe(seed=1),), base[:4] + (Recipe(steps=64),)]
    keys = {render_cache.render_key(*args) for args in [base] + variants}
    assert len(keys) == 1 + len(variants)


def test_the_least_recently_read_render_goes_first_when_the_cache_is_full(tmp_path):
    store = render_cache.RenderCache(tmp_path, max_bytes=10**6)
    a, b, c = (letter * 32 for letter in "abc")  # keys as render_key makes them: 32 hex digits
    for seed, key in enumerate((a, b, c)):
        store.put(key, _rendered(seed))
    one = sum(p.stat().st_size for p in tmp_path.glob(f"{a}.*"))
    import os
    for age, key in enumerate((b, a, c)):  # read order: b longest ago, then a, then c
        os.utime(tmp_path / f"{key}.json", (1000 + age, 1000 + age))
    store.max_bytes = 2 * one + one // 2  # room for two renders
    store.evict()
    assert store.get(b) is None and store.get(a) is not None and store.get(c) is not None


def test_an_unwritable_cache_folder_returns_a_sentence_not_an_error(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("a file where the folder should be")
    store = render_cache.RenderCache(blocked / "microscope")
    sentence = store.put("k", _rendered(0))
    assert sentence.startswith("The render could not be kept in the cache folder") and sentence.endswith(".")
    assert store.get("k") is None


def test_the_cache_folder_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(render_cache.ENV_FOLDER, str(tmp_path / "here"))
    monkeypatch.setenv(render_cache.ENV_MEGABYTES, "5")
    store = render_cache.RenderCache()
    assert store.folder == tmp_path / "here" and store.max_bytes == 5 * 2**20
    monkeypatch.delenv(render_cache.ENV_FOLDER)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert render_cache.default_folder() == tmp_path / "xdg" / "cnn-explorer" / "microscope"


def test_the_queue_runs_one_at_a_time_in_order_and_tells_each_its_place():
    queue = RenderQueue(limit=3)
    first, second, third = queue.join(), queue.join(), queue.join()
    assert [t.place for t in (first, second, third)] == [0, 1, 2]
    with pytest.raises(UserError, match="3 renders are already queued on this server"):
        queue.join()
    assert queue.wait(second, timeout=0) is False  # not its turn while the first holds it
    started, release, order = threading.Event(), threading.Event(), []

    def later() -> None:
        with queue.turn(second):
            order.append("second")
            started.set()
            release.wait()

    worker = threading.Thread(target=later)
    worker.start()
    with queue.turn(first):
        order.append("first")
    assert started.wait(timeout=30)
    assert order == ["first", "second"] and first.place is None and third.place == 1
    release.set()
    worker.join(timeout=30)
    assert third.place == 0 and len(queue) == 1
    queue.leave(third)
    assert len(queue) == 0


def test_a_server_render_is_made_once_then_read_from_the_cache(tmp_path):
    from explorer.core.registry import get_spec
    from explorer.runs.featurevis import service
    from explorer.weights.digit_checkpoints import digits_model

    spec, model = get_spec("lenet5"), digits_model("lenet5")
    store, queue = render_cache.RenderCache(tmp_path), RenderQueue(limit=2)
    recipe = Recipe(steps=5, size=32)
    assert service.cached(store, spec, "digits", "features.3", 2, recipe) is None
    steps = []
    made = service.obtain(store, spec, model, "digits", "digits", "features.3", 2, recipe,
                          progress=lambda step, total, value: steps.append(step), queue=queue)
    assert not made.from_cache and made.note is None and steps == [1, 2, 3, 4, 5] and len(queue) == 0
    again = service.obtain(store, spec, model, "digits", "digits", "features.3", 2, recipe, queue=queue)
    assert again.from_cache and np.array_equal(again.rendered.pictures, made.rendered.pictures)
    blocker = queue.join()
    queue.join()
    with pytest.raises(UserError, match="2 renders are already queued"):
        service.obtain(store, spec, model, "digits", "digits", "features.3", 3, recipe, queue=queue)
    queue.leave(blocker)


def test_a_waiting_render_hears_its_place_and_runs_when_the_one_ahead_leaves(tmp_path):
    from explorer.core.registry import get_spec
    from explorer.runs.featurevis import service
    from explorer.weights.digit_checkpoints import digits_model

    spec, model = get_spec("lenet5"), digits_model("lenet5")
    store, queue = render_cache.RenderCache(tmp_path), RenderQueue(limit=4)
    ahead = queue.join()
    places, heard, results = [], threading.Event(), []

    def hear(place: int) -> None:
        places.append(place)
        heard.set()

    worker = threading.Thread(target=lambda: results.append(service.obtain(
        store, spec, model, "digits", "digits", "features.3", 1, Recipe(steps=3, size=32), on_place=hear,
        queue=queue)))
    worker.start()
    assert heard.wait(timeout=60)
    assert places[0] == 1 and results == []  # one ahead, nothing rendered yet
    queue.leave(ahead)
    worker.join(timeout=120)
    assert len(results) == 1 and not results[0].from_cache and len(queue) == 0


def test_the_estimate_separates_a_renders_fixed_cost_from_its_steps(monkeypatch):
    """A clock that a fake render moves by 0.4 s plus 0.01 s a step: a 512-step recipe is 0.4 + 5.12 s.

    Dividing one short probe by its steps (the old estimate) would say (0.4 + 0.04) / 4 × 512 = 56 s.
    """
    from explorer.runs.featurevis import service
    from explorer.runs.featurevis.render import Recipe

    now = [0.0]

    def fake_render(spec, model, weights, layer, channel, recipe, progress=None):
        now[0] += 0.4 + 0.01 * recipe.steps

    monkeypatch.setattr(service, "render_unit", fake_render)
    monkeypatch.setattr(service.time, "perf_counter", lambda: now[0])
    assert service.estimate_seconds(None, None, "random", "layer", Recipe(steps=512)) == pytest.approx(5.52)
    assert service.estimate_seconds(None, None, "random", "layer", Recipe(steps=16)) == pytest.approx(0.56)


def test_eviction_leaves_files_that_are_not_renders_alone(tmp_path):
    from explorer.runs.featurevis.cache import RenderCache

    other = tmp_path / "notes.txt"
    other.write_bytes(b"x" * 10_000)  # a teacher's file in a shared folder, bigger than the whole budget
    RenderCache(tmp_path, max_bytes=1).evict()
    assert other.read_bytes() == b"x" * 10_000
