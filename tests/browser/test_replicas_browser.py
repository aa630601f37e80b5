"""Two replicas behind HAProxy, classes in Redis: the teacher on one replica, a student on the other, follows.

Everything is real and on loopback: redis-server, two `streamlit run app.py` processes (each with
its own pass log) and haproxy running the committed deploy/haproxy.cfg, all started here and
stopped after. Each browser is pinned to a replica by HAProxy's own sticky cookie.

The students' polls are slowed to one in ten seconds, so that a follower that keeps up does so
because the teacher's replica announced the change through Redis and the student's replica
reran the student's page (the class log says which runs a push started).
"""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import expect

from tests.browser.classroom_helpers import (choose_architecture, expect_following, passes, photo_png,
                                             screenshot, sidebar, start_class, upload_picture)
from tests.browser.conftest import settle
from tests.servers import ROOT, RedisServer, free_port, start_app, start_haproxy, stop

FOLLOW_MS = 45_000


@pytest.fixture
def deployment(tmp_path):
    redis = RedisServer().start()
    ports = {"a": free_port(), "b": free_port(), "lb": free_port()}
    secret = secrets.token_hex(16)  # the same on every replica, as the README says
    logs = {name: tmp_path / f"passes-{name}.log" for name in ("a", "b")}
    env = {name: {"EXPLORER_REDIS_URL": redis.url, "EXPLORER_PASS_LOG": str(logs[name]),
                  "EXPLORER_CLASS_LOG": str(tmp_path / f"class-{name}.log"), "EXPLORER_CLASS_POLL_S": "10"}
           for name in ("a", "b")}
    with ThreadPoolExecutor(2) as pool:
        started = {name: pool.submit(start_app, ports[name], env[name], secret, tmp_path / f"server-{name}.log")
                   for name in ("a", "b")}
        replicas = {name: future.result() for name, future in started.items()}
    balancer = None
    try:
        balancer = start_haproxy(ROOT / "deploy" / "haproxy.cfg", {
            "EXPLORER_LB_BIND": f"127.0.0.1:{ports['lb']}",
            "EXPLORER_REPLICA_A": f"127.0.0.1:{ports['a']}",
            "EXPLORER_REPLICA_B": f"127.0.0.1:{ports['b']}",
        }, ports["lb"])
        yield f"http://127.0.0.1:{ports['lb']}", logs, redis
    finally:
        stop(balancer)
        for replica in replicas.values():
            stop(replica)
        redis.kill()


def on_replica(url: str, name: str) -> list[dict]:
    return [{"name": "EXPLORER_REPLICA", "value": name, "url": url}]


def test_the_student_on_the_other_replica_follows_and_redis_down_is_one_sentence(people, deployment):
    url, logs, redis = deployment
    teacher = people(url + "/feature-maps", cookies=on_replica(url, "a"))
    code = start_class(teacher)
    upload_picture(teacher, photo_png(2), "board.png")
    expect(teacher.get_by_role("heading", name="Inside one layer")).to_be_visible()
    settle(teacher)
    assert passes(logs["a"]) >= 1 and passes(logs["b"]) == 0  # the teacher's work was done on replica a
    teachers_passes = passes(logs["a"])

    student = people(f"{url}/?class={code}", cookies=on_replica(url, "b"))
    expect_following(student, "LeNet-5", "Feature maps · LeNet-5")
    # The teacher's own upload travelled through Redis to the other replica.
    expect(student.get_by_text("The teacher's picture", exact=True)).to_be_visible()
    expect(student.get_by_role("heading", name="Inside one layer")).to_be_visible()
    assert passes(logs["b"]) == 1 and passes(logs["a"]) == teachers_passes  # one pass on b, none more on a
    assert {c["value"] for c in student.context.cookies() if c["name"] == "EXPLORER_REPLICA"} == {"b"}
    screenshot(student, "class_follower_other_replica.png")

    teacher.get_by_role("link", name="Layer table").click()
    settle(teacher)
    choose_architecture(teacher, "AlexNet", "AlexNet › AlexNet", 224)
    expect(student.get_by_role("heading", name="Layer table · AlexNet", level=1)).to_be_visible(timeout=FOLLOW_MS)
    expect(sidebar(teacher).get_by_text("1 student")).to_be_visible(timeout=FOLLOW_MS)
    # Replica b reran the student's page for the teacher's changes on replica a (a ten-second poll would
    # have found a change or two on its own, not every one).
    shown = [line.split() for line in (logs["a"].parent / "class-b.log").read_text().splitlines()]
    assert sum(line[1:2] == ["shown"] and line[-1] == "pushed" for line in shown) >= 2, shown

    # Redis goes away: one sentence for the teacher, and the app keeps working.
    redis.kill()
    expect(sidebar(teacher).get_by_text("Class mode is off for now")).to_be_visible(timeout=FOLLOW_MS)
    teacher.get_by_role("link", name="Parameters").click()
    expect(teacher.get_by_role("heading", name="Parameters · AlexNet", level=1)).to_be_visible()
    expect(student.get_by_role("heading", name="Layer table · AlexNet", level=1)).to_be_visible()

    # Redis is back (empty): the old class is gone, and a new one starts.
    redis.start()
    expect(sidebar(teacher).get_by_text("Teach or join a class")).to_be_visible(timeout=FOLLOW_MS)
    assert start_class(teacher) != code
