"""The Streamlit internals the app relies on (ui/streamlit_adapter.py): each one is there, and the app copes without one.

An upgrade of Streamlit that drops or renames one of them fails here with a sentence naming it,
in CI, rather than in a classroom where the class push or the freeing of closed tabs stops working.
"""

from __future__ import annotations

import logging
import re
from importlib.metadata import version

import pytest

from tests.conftest import ROOT
from ui import streamlit_adapter


@pytest.mark.parametrize("internal", sorted(streamlit_adapter.INTERNALS))
def test_this_streamlit_has_the_internal(internal):
    missing = streamlit_adapter.missing_internals()
    assert internal not in missing, (
        f"Streamlit {version('streamlit')} has no {internal}, which ui/streamlit_adapter.py uses; "
        "adapt the adapter before widening the pin in requirements.txt.")


def test_the_adapters_docstring_lists_every_internal_it_uses():
    listed = streamlit_adapter.__doc__
    for internal in streamlit_adapter.INTERNALS:
        for name in re.findall(r"[A-Za-z_]+", internal.split("(")[0]):
            assert name in listed, f"the adapter's docstring does not say why it uses {internal}"


def test_the_pin_admits_only_the_minor_the_tests_run_on():
    pin = next(line for line in (ROOT / "requirements.txt").read_text().splitlines() if line.startswith("streamlit>="))
    low, high = re.fullmatch(r"streamlit>=(\d+)\.(\d+),<(\d+)\.(\d+)", pin).groups()[:2], pin.split("<")[1]
    major, minor = (int(part) for part in version("streamlit").split(".")[:2])
    assert (int(low[0]), int(low[1])) == (major, minor) and high == f"{major}.{minor + 1}"


def test_a_missing_internal_is_found_and_said_once_while_the_app_carries_on(monkeypatch, caplog):
    # A Streamlit without the rerun request: the check names it, the class falls back to its poll.
    class OlderSession:  # no request_rerun
        pass

    monkeypatch.setattr(streamlit_adapter, "_app_session", lambda: OlderSession)
    monkeypatch.setattr(streamlit_adapter, "_said", set())
    assert "AppSession.request_rerun" in streamlit_adapter.missing_internals()
    with caplog.at_level(logging.WARNING, logger="explorer.streamlit_adapter"):
        assert streamlit_adapter.can_push() is False
        assert streamlit_adapter.can_push() is False
        assert streamlit_adapter.rerun_session("s1", "", "hash", None) is None
    lines = [record.getMessage() for record in caplog.records]
    assert lines == ["This Streamlit has no AppSession.request_rerun: "
                     "class changes arrive by the students' regular poll instead of a push."]


def test_without_the_session_check_closed_tabs_are_kept_not_crashed(monkeypatch, caplog):
    class OlderRuntime:  # a server runs, but cannot say which sessions are connected
        @staticmethod
        def exists():
            return True

        @staticmethod
        def instance():
            return object()

    monkeypatch.setattr(streamlit_adapter, "_runtime", lambda: OlderRuntime)
    monkeypatch.setattr(streamlit_adapter, "_said", set())
    with caplog.at_level(logging.WARNING, logger="explorer.streamlit_adapter"):
        assert streamlit_adapter.session_is_active("gone") is True
    assert [record.getMessage() for record in caplog.records] == [
        "This Streamlit has no Runtime.is_active_session: closed tabs keep their training copies until the store "
        "evicts them."]


def test_a_follower_is_not_registered_for_a_push_that_cannot_happen(monkeypatch):
    from types import SimpleNamespace

    from explorer.classroom.classes import Classroom
    from explorer.classroom.store import MemoryStore
    from ui.classroom import push

    monkeypatch.setattr(streamlit_adapter, "can_push", lambda: False)
    monkeypatch.setattr(push, "_followers", {})
    monkeypatch.setattr(push, "get_script_run_ctx", lambda: SimpleNamespace(session_id="s1", query_string=""))
    room = Classroom(MemoryStore())
    push.following(room, room.start().code, 1)
    assert push.count() == 0  # the student's poll brings each change instead


def test_a_waiting_rerun_is_seen_in_streamlits_own_request_queue(monkeypatch):
    from types import SimpleNamespace

    from streamlit.runtime.scriptrunner_utils.script_requests import RerunData, ScriptRequests

    requests = ScriptRequests()
    monkeypatch.setattr(streamlit_adapter, "get_script_run_ctx", lambda: SimpleNamespace(script_requests=requests))
    assert streamlit_adapter.rerun_waiting() is False  # nothing asked yet
    requests.request_rerun(RerunData(fragment_id="uploader-fragment"))  # what a widget in a fragment sends
    assert streamlit_adapter.rerun_waiting() is True
    requests.on_scriptrunner_ready()  # the runner takes the request up: nothing waits any more
    assert streamlit_adapter.rerun_waiting() is False
