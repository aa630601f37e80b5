"""Classes that follow a teacher: the same rules in both stores, the in-process one and a real redis-server.

The class logic runs on a fake clock (expiry after two hours, a teacher who left, followers
who closed their tab); the Redis tests start a real redis-server on loopback and stop it
after, and one kills it mid-test to show the sentence the teacher gets and that new classes
work again once it is back.
"""

from __future__ import annotations

import json

import pytest
import redis

from explorer.classroom import classes, codes, redis_store
from explorer.classroom.classes import Classroom, NoSuchClass, NotTheTeacher
from explorer.classroom.store import MemoryStore, StoreUnavailable


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
def make_room(request):
    """Classroom factories on one shared store: several calls are several replicas of one deployment."""
    clock = Clock()
    if request.param == "memory":
        store = MemoryStore(clock)
        yield (lambda: Classroom(store, clock)), clock
    else:
        server = request.getfixturevalue("redis_server")
        yield (lambda: Classroom(redis_store.RedisStore(server.url), clock)), clock


def test_a_follower_on_another_replica_sees_what_the_teacher_publishes(make_room):
    new_room, _ = make_room
    teacher_side, student_side = new_room(), new_room()
    lead = teacher_side.start()
    assert codes.is_well_formed(lead.code)
    first = student_side.look(lead.code)
    assert first.version == 1 and first.values == {} and first.teacher_here and not first.ended
    version = teacher_side.publish(lead, {"page": "feature-maps", "selection": {"arch": "resnet18", "h": 224}})
    seen = student_side.look(lead.code.lower())  # a code typed in small letters still finds the class
    assert (seen.version, seen.values["page"], seen.values["selection"]["arch"]) == (version, "feature-maps", "resnet18")
    # Publishing the same values again changes nothing, so followers have nothing to rerun for.
    assert teacher_side.publish(lead, {"page": "feature-maps"}) == version
    assert teacher_side.publish(lead, {"fm.layer": "layer2"}) == version + 1
    assert student_side.look(lead.code).values["page"] == "feature-maps"  # merged, not replaced


def test_the_secret_is_never_stored_and_only_it_leads(make_room):
    new_room, _ = make_room
    room = new_room()
    lead, other = room.start(), room.start()
    assert lead.code != other.code and lead.token != other.token
    assert lead.token not in repr(lead)
    raw = b"".join(v or b"" for v in room.store.get_many(room._keys(lead.code, "meta", "snap", "seen")))
    assert lead.token.encode() not in raw and codes.token_digest(lead.token).encode() in raw
    assert room.lead(lead.code, lead.token) == lead
    assert room.lead(lead.code, other.token) is None  # another class's teacher
    assert room.lead(lead.code, lead.token[:-1] + ("A" if lead.token[-1] != "A" else "B")) is None
    assert room.lead(lead.code, "") is None
    for forged in (codes.ALPHABET[:6], "<b>x</b>", lead.code + "X", "000000"):
        assert room.lead(forged, lead.token) is None
    with pytest.raises(NotTheTeacher):
        room.publish(classes.Lead(lead.code, other.token), {"page": "layer-table"})
    with pytest.raises(NotTheTeacher):
        room.end(classes.Lead(lead.code, "guess"))
    assert room.look(lead.code).values == {} and not room.look(lead.code).ended


def test_a_class_ends_two_hours_after_the_teachers_last_action(make_room):
    new_room, clock = make_room
    room = new_room()
    lead = room.start()
    clock.now += classes.EXPIRY_S - 60
    room.touch(lead)  # an action just before the two hours: two more hours from here
    clock.now += classes.EXPIRY_S - 60
    assert room.look(lead.code) is not None
    clock.now += 120
    assert room.look(lead.code) is None and room.lead(lead.code, lead.token) is None
    with pytest.raises(NoSuchClass, match=f"No class with the code {lead.code} is running; ask your teacher"):
        room.find(lead.code, codes.WrongCodes(clock))


def test_followers_learn_that_the_teacher_left_and_came_back(make_room):
    new_room, clock = make_room
    room = new_room()
    lead = room.start()
    clock.now += classes.TEACHER_GONE_S + 1  # no heartbeat: the tab was closed
    assert not room.look(lead.code).teacher_here
    room.teacher_here(lead)
    assert room.look(lead.code).teacher_here


def test_the_teacher_counts_who_follows_and_who_explores_right_now(make_room):
    new_room, clock = make_room
    room = new_room()
    lead = room.start()
    for student in ("s1", "s2", "s3"):
        room.follow_beat(lead.code, student, following=True)
    room.follow_beat(lead.code, "s3", following=False)  # "Explore on my own"
    assert room.audience(lead.code) == classes.Audience(following=2, exploring=1)
    clock.now += classes.FOLLOWER_GONE_S / 2
    room.follow_beat(lead.code, "s1", following=True)
    clock.now += classes.FOLLOWER_GONE_S / 2 + 1  # s2 and s3 closed their tabs
    assert room.audience(lead.code) == classes.Audience(following=1, exploring=0)
    room.leave(lead.code, "s1")
    assert room.audience(lead.code) == classes.Audience(0, 0)


def test_ending_tells_followers_and_frees_what_the_class_held(make_room):
    new_room, _ = make_room
    room = new_room()
    lead = room.start()
    digest = room.put_blob(lead, "picture", b"picture bytes", 100)
    room.end(lead)
    view = room.look(lead.code)
    assert view.ended and not view.teacher_here
    assert room.blob(lead.code, digest) is None and room.lead(lead.code, lead.token) is None
    with pytest.raises(NoSuchClass):
        room.find(lead.code, codes.WrongCodes(lambda: 0.0))
    with pytest.raises(NotTheTeacher):
        room.publish(lead, {"page": "x"})


def test_a_shared_picture_is_bounded_and_replaces_the_last_one(make_room):
    new_room, _ = make_room
    room = new_room()
    lead = room.start()
    first = room.put_blob(lead, "picture", b"first picture", 100)
    assert room.blob(lead.code, first) == b"first picture"
    with pytest.raises(classes.BlobTooLarge, match="keeps the last one"):
        room.put_blob(lead, "picture", b"x" * 101, 100)
    assert room.blob(lead.code, first) == b"first picture"  # a refused picture changes nothing
    second = room.put_blob(lead, "picture", b"second picture", 100)
    result = room.put_blob(lead, "train.last", b"results", 100)  # another slot keeps its own blob
    assert room.blob(lead.code, first) is None and room.blob(lead.code, second) == b"second picture"
    assert room.blob(lead.code, result) == b"results"


def test_guessing_codes_from_one_tab_stops_after_a_few(make_room):
    new_room, clock = make_room
    room = new_room()
    lead = room.start()
    wrong = codes.WrongCodes(clock)
    for attempt in range(codes.MAX_WRONG):
        with pytest.raises(NoSuchClass) as refused:
            room.find(f"<script>{attempt}", wrong)
        assert "<" not in str(refused.value)  # what was typed is shown as letters and digits only
    with pytest.raises(codes.TooManyWrongCodes, match="wait 5 minutes"):
        room.find(lead.code, wrong)  # even the right code waits: the tab is guessing
    clock.now += codes.WINDOW_S
    assert room.find(lead.code, wrong).code == lead.code


def test_a_deployment_runs_a_bounded_number_of_classes(make_room):
    new_room, clock = make_room
    room = new_room()
    leads = [room.start() for _ in range(classes.MAX_CLASSES)]
    with pytest.raises(classes.ClassesFull):
        room.start()
    room.end(leads[0])
    room.start()
    clock.now += classes.EXPIRY_S + 1  # abandoned classes stop counting
    room.start()


def test_codes_avoid_look_alikes_and_read_back_as_typed():
    assert len(set(codes.ALPHABET)) == len(codes.ALPHABET) == 20
    assert not set("0O1IL2Z5S8B6GUVQ") & set(codes.ALPHABET)
    made = {codes.new_code() for _ in range(200)}
    assert len(made) > 190 and all(codes.is_well_formed(code) for code in made)
    assert codes.normalise(" kxm-4tr ") == "KXM4TR"
    assert codes.spaced("KXM4TR") == "KXM 4TR" and codes.shown("[a](http://x)") == "ahttpx"


def test_a_snapshot_refuses_large_values(make_room):
    new_room, _ = make_room
    room = new_room()
    with pytest.raises(ValueError):
        room.publish(room.start(), {"big": "x" * classes.MAX_VALUES_BYTES})


def test_redis_down_is_one_sentence_and_new_classes_work_once_it_is_back(redis_server, monkeypatch):
    monkeypatch.setattr(redis_store, "PAUSE_S", 0.2)
    room = Classroom(redis_store.RedisStore(redis_server.url))
    lead = room.start()
    redis_server.kill()
    with pytest.raises(StoreUnavailable) as down:
        room.look(lead.code)
    sentence = str(down.value)
    assert sentence.count(".") == 1 and "Class mode is off" in sentence and "everything else keeps working" in sentence
    with pytest.raises(StoreUnavailable):
        room.start()
    redis_server.start()  # the same port, empty: the old class is gone, a new one works
    assert _wait_for(lambda: store_answers(room))  # once the store's pause after a failure is over
    fresh = room.start()
    assert room.look(fresh.code).version == 1 and room.look(lead.code) is None


def test_the_redis_records_expire_by_themselves(redis_server):
    room = Classroom(redis_store.RedisStore(redis_server.url))
    lead = room.start()
    ttl = room.store.client.pttl(room._key(lead.code, "meta")) / 1000
    assert classes.EXPIRY_S < ttl <= classes.KEPT_S
    room.end(lead)
    assert room.store.client.pttl(room._key(lead.code, "snap")) / 1000 <= classes.ENDED_KEPT_S
    assert json.loads(room.store.client.get(room._key(lead.code, "snap")))["ended"] is True


def store_answers(room: Classroom) -> bool:
    """Whether ``room``'s store takes calls (not down, and not pausing after a failure)."""
    try:
        room.look("AAAAAA")
    except StoreUnavailable:
        return False
    return True


def subscribers(url: str) -> int:
    """How many connections the Redis server at ``url`` has subscribed to the class announcements."""
    client = redis.Redis.from_url(url)
    try:
        return dict(client.pubsub_numsub(redis_store.CHANNEL))[redis_store.CHANNEL.encode()]
    finally:
        client.close()


def _wait_for(condition, seconds: float = 5.0) -> bool:
    import time

    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def test_every_replica_hears_each_change_with_the_version_a_follower_then_reads(make_room):
    new_room, _ = make_room
    teacher_side, student_side = new_room(), new_room()
    heard: list[tuple[str, int]] = []
    student_side.on_change(lambda code, version: heard.append((code, version)))
    lead = teacher_side.start()
    version = teacher_side.publish(lead, {"fm.layer": "conv1"})
    assert _wait_for(lambda: heard == [(lead.code, version)]), heard
    teacher_side.publish(lead, {"fm.layer": "conv1"})  # no change: nothing to tell
    teacher_side.end(lead)  # ending is a change too: followers learn it without waiting for a poll
    assert _wait_for(lambda: len(heard) == 2), heard
    assert heard[1] == (lead.code, version + 1) and student_side.look(lead.code).version == version + 1
    assert student_side.look(lead.code).ended


def test_a_listener_that_fails_never_fails_the_teachers_change(make_room):
    new_room, _ = make_room
    room = new_room()
    heard = []
    room.on_change(lambda code, version: 1 / 0)
    room.on_change(lambda code, version: heard.append((code, version)))
    lead = room.start()
    assert room.publish(lead, {"page": "layers"}) == 2
    room.store.announce("not-a-code 7")  # what is not a class's change is not handed on
    room.store.announce(f"{lead.code} x")
    assert room.publish(lead, {"page": "diagram"}) == 3
    assert _wait_for(lambda: len(heard) >= 2) and heard == [(lead.code, 2), (lead.code, 3)]


def test_announcements_come_back_after_redis_restarts(redis_server, monkeypatch):
    monkeypatch.setattr(redis_store, "PAUSE_S", 0.2)
    listening = Classroom(redis_store.RedisStore(redis_server.url))
    heard = []
    listening.on_change(lambda code, version: heard.append((code, version)))
    teacher = Classroom(redis_store.RedisStore(redis_server.url))
    lead = teacher.start()
    version = teacher.publish(lead, {"page": "layers"})
    assert _wait_for(lambda: heard == [(lead.code, version)]), heard
    assert subscribers(redis_server.url) == 1  # the listening replica's thread (the teacher's store listens not)
    redis_server.kill()
    redis_server.start()  # empty: a new class, and its changes are heard again
    assert _wait_for(lambda: subscribers(redis_server.url) == 1, 10)  # the listening thread subscribed anew
    fresh = teacher.start()
    version = teacher.publish(fresh, {"page": "layers"})
    assert _wait_for(lambda: (fresh.code, version) in heard, 10), heard
