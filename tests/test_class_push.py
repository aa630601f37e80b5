"""Pushing a class's change to its followers (ui.classroom.push), with the server's sessions played by fakes.

The real thing, a real server rerunning real browsers' pages with the polls too slow to matter,
is tested in tests/browser/test_class_browser.py and, through Redis, in test_replicas_browser.py.
"""

from __future__ import annotations

import time
from collections import deque
from types import SimpleNamespace

import pytest

from explorer.classroom.classes import Classroom
from explorer.classroom.store import MemoryStore
from ui import streamlit_adapter
from ui.classroom import push as class_push


def settled(condition, seconds: float = 10.0) -> bool:
    """Reruns are asked by the pushing thread: whether ``condition()`` came true within ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def queue_passed(room: Classroom, as_session) -> bool:
    """Whether the pushing thread has asked for every rerun queued so far.

    It takes its queue in order, one rerun after another: a probe follower of a class of its own,
    queued now, is rerun only after everything queued before it. (The probe is left following.)
    """
    probe_class = room.start()
    probe = as_session("probe")
    class_push.following(room, probe_class.code, 1)
    room.publish(probe_class, {"page": "probe"})
    return settled(lambda: probe.reruns)


class FakeSession:
    def __init__(self) -> None:
        self.reruns = []
        self.fragments = {"frag-maps"}

    def has_fragment(self, fragment_id: str) -> bool:
        return fragment_id in self.fragments

    def request_rerun(self, client_state) -> None:
        self.reruns.append((client_state.query_string, client_state.page_script_hash, client_state.fragment_id))


@pytest.fixture
def server(monkeypatch):
    """Sessions by id (a missing one has gone), and a way to act as one of them in its run."""
    sessions: dict[str, FakeSession] = {}
    instance = SimpleNamespace(get_app_session=sessions.get, is_active_session=sessions.__contains__)
    fake_runtime = SimpleNamespace(exists=lambda: True, instance=lambda: instance)
    monkeypatch.setattr(streamlit_adapter, "_runtime", lambda: fake_runtime)
    monkeypatch.setattr(class_push, "_followers", {})
    monkeypatch.setattr(class_push, "_pushed", set())
    monkeypatch.setattr(class_push, "_listened", set())
    monkeypatch.setattr(class_push, "_waiting", deque())
    monkeypatch.setattr(class_push, "_running", {})
    monkeypatch.setattr(class_push, "_pruned", [time.monotonic()])
    monkeypatch.setattr(class_push, "_routes", {"name": None, "hashes": {}})
    running = {}
    monkeypatch.setattr(class_push, "get_script_run_ctx", lambda: running.get("ctx"))
    monkeypatch.setattr(streamlit_adapter, "get_script_run_ctx", lambda: running.get("ctx"))

    def as_session(session_id: str, page: str = "hash-fm", query: str = "class=ABC"):
        sessions.setdefault(session_id, FakeSession())
        running["ctx"] = SimpleNamespace(session_id=session_id, query_string=query, page_script_hash=page)
        return sessions[session_id]

    return sessions, as_session


def test_a_change_reruns_each_follower_behind_once_on_the_page_it_shows(server):
    sessions, as_session = server
    room = Classroom(MemoryStore())
    lead, other = room.start(), room.start()
    first, second, elsewhere = as_session("s1", "hash-fm"), as_session("s2", "hash-layers"), as_session("s3")
    for session_id, code in (("s1", lead.code), ("s2", lead.code), ("s3", other.code)):
        as_session(session_id)
        class_push.following(room, code, 1)
    as_session("s2", "hash-layers", f"class={lead.code}&arch=alexnet")
    class_push.following(room, lead.code, 1)  # its run ended on another page: the rerun goes there

    version = room.publish(lead, {"fm.layer": "conv1"})
    assert settled(lambda: first.reruns and second.reruns)
    assert first.reruns == [("class=ABC", "hash-fm", "")]
    assert second.reruns == [(f"class={lead.code}&arch=alexnet", "hash-layers", "")]
    assert elsewhere.reruns == []  # another class's follower
    room.store.announce(f"{lead.code} {version}")  # heard twice (two replicas' messages): still one rerun
    assert queue_passed(room, as_session) and len(first.reruns) == 1
    as_session("s1")
    assert class_push.was_pushed() and not class_push.was_pushed()  # said once, by the run it started


def test_a_follower_whose_page_already_shows_the_change_is_left_alone(server):
    sessions, as_session = server
    room = Classroom(MemoryStore())
    lead = room.start()
    version = room.publish(lead, {"page": "layers"})
    session = as_session("s1")
    class_push.following(room, lead.code, version)  # its run drew this version (a poll got there first)
    room.store.announce(f"{lead.code} {version}")
    assert queue_passed(room, as_session) and session.reruns == []


def test_gone_exploring_and_leaving_sessions_are_not_kept(server):
    sessions, as_session = server
    room = Classroom(MemoryStore())
    lead = room.start()
    for session_id in ("s1", "s2", "s3"):
        as_session(session_id)
        class_push.following(room, lead.code, 1)
    assert class_push.count() == 3
    as_session("s2")
    class_push.not_following()  # it explores on its own now, or left the class
    del sessions["s3"]  # its browser left: Streamlit has no such session any more
    room.publish(lead, {"page": "diagram"})
    assert settled(lambda: class_push.count() == 1 and len(sessions["s1"].reruns) == 1)
    assert sessions["s2"].reruns == []
    room.end(lead)  # ending is a change: the follower learns it now, not at its next poll
    assert settled(lambda: len(sessions["s1"].reruns) == 2)


def test_outside_a_streamlit_server_nothing_is_rerun(server, monkeypatch):
    sessions, as_session = server
    room = Classroom(MemoryStore())
    lead = room.start()
    session = as_session("s1")
    class_push.following(room, lead.code, 1)
    monkeypatch.setattr(streamlit_adapter, "_runtime", lambda: SimpleNamespace(exists=lambda: False))
    room.publish(lead, {"page": "layers"})  # AppTest, a script: no sessions to rerun, and no error
    assert settled(lambda: class_push.count() == 0) and session.reruns == []


def test_a_class_of_thirty_is_rerun_a_couple_at_a_time_in_the_order_it_fell_behind(server, monkeypatch):
    sessions, as_session = server
    monkeypatch.setattr(class_push, "HELD_S", 60.0)  # no rerun's place runs out while a busy machine is slow
    room = Classroom(MemoryStore())
    lead = room.start()
    order = []
    for n in range(30):
        as_session(f"s{n:02}").request_rerun = lambda state, n=n: order.append(n)
        class_push.following(room, lead.code, 1)
    room.publish(lead, {"fm.layer": "conv1"})
    assert settled(lambda: len(order) >= class_push.AT_ONCE)
    # the others wait for these two to end: the pushing thread holds them in its queue
    assert settled(lambda: len(class_push._waiting) == 30 - class_push.AT_ONCE) and len(order) == class_push.AT_ONCE
    as_session("s29")
    assert class_push.on_its_way()  # queued: its own poll need not rerun it as well
    for n in range(30):
        as_session(f"s{n:02}")
        assert class_push.on_its_way()
        assert class_push.was_pushed()  # its run ended: the next one starts (long before HELD_S)
        assert not class_push.on_its_way()  # from now on its poll is the fallback again
        assert settled(lambda n=n: len(order) >= min(30, n + 1 + class_push.AT_ONCE))
        assert len(order) == min(30, n + 1 + class_push.AT_ONCE)
    assert order == list(range(30))


def test_a_change_of_one_fragments_values_reruns_that_fragment_alone(server):
    sessions, as_session = server
    room = Classroom(MemoryStore())
    lead = room.start()
    version = room.publish(lead, {"page": "feature-maps", "fm.layer": "conv1", "fm.channel": 0})
    drawn = room.look(lead.code).values
    session = as_session("s1")
    # Its last run drew those values; the layer fragment shows the layer and the channel.
    class_push.following(room, lead.code, version, drawn, {"frag-maps": frozenset({"fm.layer", "fm.channel"})})
    room.publish(lead, {"fm.layer": "conv2", "fm.channel": 3})  # ▶ on Feature maps
    assert settled(lambda: session.reruns) and session.reruns == [("class=ABC", "hash-fm", "frag-maps")]
    as_session("s1")
    class_push.was_pushed()
    class_push.drawn(version + 1, room.look(lead.code).values)  # the fragment's rerun drew it
    room.publish(lead, {"fm.layer": "conv3", "picture": {"digest": "ab"}})  # more than the fragment shows
    assert settled(lambda: len(session.reruns) == 2) and session.reruns[1][2] == ""  # the whole page
    class_push.was_pushed()
    session.fragments.clear()  # a full run dropped the fragment (another page): the page is rerun instead
    class_push.following(room, lead.code, version + 2, room.look(lead.code).values,
                         {"frag-maps": frozenset({"fm.layer"})})
    room.publish(lead, {"fm.layer": "conv4"})
    assert settled(lambda: len(session.reruns) == 3) and session.reruns[2][2] == ""


def test_a_change_inside_nested_fragments_reruns_the_smallest_that_shows_it(server):
    sessions, as_session = server
    room = Classroom(MemoryStore())
    lead = room.start()
    version = room.publish(lead, {"page": "feature-maps", "fm.layer": "conv1", "picture": {"digest": "aa"}})
    session = as_session("s1")
    session.fragments = {"frag-picture", "frag-maps"}
    # Feature maps: the picture's fragment holds the layer's; the outer one is listed first here.
    scopes = {"frag-picture": frozenset({"picture", "fm.layer"}), "frag-maps": frozenset({"fm.layer"})}
    class_push.following(room, lead.code, version, room.look(lead.code).values, scopes)
    room.publish(lead, {"fm.layer": "conv2"})
    assert settled(lambda: session.reruns) and session.reruns[0][2] == "frag-maps"
    as_session("s1")
    class_push.was_pushed()
    class_push.drawn(version + 1, room.look(lead.code).values)
    room.publish(lead, {"picture": {"digest": "bb"}})  # the teacher's new photo: the picture's fragment
    assert settled(lambda: len(session.reruns) == 2) and session.reruns[1][2] == "frag-picture"


def test_a_change_of_page_reruns_the_follower_on_the_teachers_new_page(server):
    sessions, as_session = server
    room = Classroom(MemoryStore())
    lead = room.start()
    class_push.route("page", {"feature-maps": "hash-fm", "layer-table": "hash-layers", "": None})
    version = room.publish(lead, {"page": "feature-maps", "fm.layer": "conv1"})
    session = as_session("s1", "hash-fm")
    class_push.following(room, lead.code, version, room.look(lead.code).values, {"frag-maps": frozenset({"fm.layer"})})
    room.publish(lead, {"page": "layer-table"})  # the teacher opens Layer table
    # One run, on the new page: not the old page's run that would then move on to it.
    assert settled(lambda: session.reruns) and session.reruns == [("class=ABC", "hash-layers", "")]
    as_session("s1", "hash-layers")
    class_push.was_pushed()
    class_push.following(room, lead.code, version + 1, room.look(lead.code).values)
    room.publish(lead, {"page": "no-such-page", "ly.depth": 2})  # a page this server does not have: where it is
    assert settled(lambda: len(session.reruns) == 2) and session.reruns[1] == ("class=ABC", "hash-layers", "")


def test_a_tab_that_closed_in_a_quiet_class_is_dropped_within_a_minute(server, monkeypatch):
    sessions, as_session = server
    room = Classroom(MemoryStore())
    lead = room.start()
    for session_id in ("s1", "s2"):
        as_session(session_id)
        class_push.following(room, lead.code, 1)
    del sessions["s1"]  # its browser left, and the teacher changes nothing
    monkeypatch.setattr(class_push, "_pruned", [time.monotonic() - class_push.PRUNE_S - 1])
    as_session("s2")
    class_push.following(room, lead.code, 1)  # any follower's next run drops the gone ones
    assert class_push.count() == 1

