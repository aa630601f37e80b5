"""A class on one server, in Chromium: a teacher leads, three students follow, and only the teacher drives.

One `streamlit run app.py` with EXPLORER_PASS_LOG (one line per forward pass) serves the
module. Every person has a browser context of their own (their own cookies), as if on their
own laptop.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from explorer.classroom import classes, codes
from tests.browser.classroom_helpers import (architecture_box, choose_architecture, expect_following, passes, photo_png,
                                             screenshot, sidebar, start_class, upload_picture)
from tests.browser.conftest import settle
from tests.servers import free_port, start_app, stop

FOLLOW_MS = 45_000  # a follower polls every second; a two-core machine shared with four tabs is slow


@pytest.fixture(scope="module")
def class_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    log = folder / "passes.log"
    port = free_port()
    server = start_app(port, env={"EXPLORER_PASS_LOG": str(log)}, log=folder / "server.log")
    try:
        yield f"http://127.0.0.1:{port}", log
    finally:
        stop(server)


def teacher_on_feature_maps(people, url):
    teacher = people(url + "/")
    code = start_class(teacher)
    choose_architecture(teacher, "ResNet-18", "ResNet › ResNet-18", 224, side=64)  # small: a light machine's test
    teacher.get_by_role("link", name="Feature maps").click()
    expect(teacher.get_by_role("heading", name="Inside one layer")).to_be_visible()
    settle(teacher)
    return teacher, code


def test_three_students_follow_the_teachers_page_network_and_picture_for_one_pass_per_picture(people, class_server):
    url, log = class_server
    teacher, code = teacher_on_feature_maps(people, url)
    upload_picture(teacher, photo_png(1), "my-holiday.png")
    expect(teacher.get_by_text("Your picture", exact=True)).to_be_visible()
    settle(teacher)
    teachers_passes = passes(log)

    students = [people(f"{url}/?class={code}") for _ in range(3)]
    for student in students:
        expect_following(student, "ResNet-18", "Feature maps · ResNet-18")
        expect(student.get_by_text("The teacher's picture", exact=True)).to_be_visible()
        expect(student.get_by_role("heading", name="Inside one layer")).to_be_visible()
        assert f"class={code}" in student.url
    # Three students saw the teacher's picture through the teacher's network: no pass of their own.
    for student in students:
        expect(sidebar(student).get_by_role("spinbutton", name="Height")).to_have_value("64")
    assert passes(log) == teachers_passes
    expect(sidebar(teacher).get_by_text(re.compile("3 students"))).to_be_visible(timeout=FOLLOW_MS)
    screenshot(teacher, "class_teacher_panel.png")
    screenshot(students[0], "class_follower.png")

    # The teacher moves on; every follower comes along.
    teacher.get_by_role("link", name="Layer table").click()
    settle(teacher)
    for student in students:
        expect(student.get_by_role("heading", name="Layer table · ResNet-18", level=1)).to_be_visible(timeout=FOLLOW_MS)
        expect(student).to_have_url(re.compile(rf"/layer-table\?(.*&)?class={code}(&|$)"))  # a reload stays there
    screenshot(students[1], "class_follower_moved_to_layer_table.png")

    # One student explores on their own: the sidebar is theirs again, and the teacher sees it.
    explorer = students[0]
    sidebar(explorer).get_by_role("button", name="Explore on my own").click()
    settle(explorer)
    expect(architecture_box(explorer).get_by_role("combobox")).to_be_enabled()
    expect(sidebar(teacher).get_by_text(re.compile("2 students"))).to_be_visible(timeout=FOLLOW_MS)
    expect(sidebar(teacher).get_by_text(re.compile("1 exploring on their own"))).to_be_visible()
    choose_architecture(explorer, "VGG-11", "VGG › VGG-11", 224)
    expect(explorer.get_by_role("heading", name="Layer table · VGG-11", level=1)).to_be_visible()
    expect(students[1].get_by_role("heading", name="Layer table · ResNet-18", level=1)).to_be_visible()
    sidebar(explorer).get_by_role("button", name="Follow the teacher again").click()
    expect_following(explorer, "ResNet-18", "Layer table · ResNet-18")


def test_the_teacher_reloads_and_still_leads_then_leaves_and_ends(people, class_server):
    url, _ = class_server
    teacher = people(url + "/layer-table")
    code = start_class(teacher)
    student = people(f"{url}/?class={code}")
    expect_following(student, "LeNet-5", "Layer table · LeNet-5")

    teacher.reload()
    settle(teacher)
    expect(sidebar(teacher).locator('[data-testid="cl-code"]')).to_have_text(codes.spaced(code))
    expect(sidebar(teacher).get_by_role("button", name="End the class")).to_be_visible()
    assert "lead" not in teacher.url and all(c["value"].split(".")[-1] not in teacher.url
                                             for c in teacher.context.cookies() if c["name"] == "explorer_class_lead")

    # The teacher's tab closes: the follower is told, and keeps what it shows.
    teacher_context = teacher.context
    teacher.close()
    expect(sidebar(student).get_by_text("The teacher has left")).to_be_visible(
        timeout=int(classes.TEACHER_GONE_S * 1000) + FOLLOW_MS)
    expect(student.get_by_role("heading", name="Layer table · LeNet-5", level=1)).to_be_visible()

    # Back in the same browser (the secret is in its cookie), the teacher leads again and ends the class.
    teacher = teacher_context.new_page()
    teacher.goto(url + "/")
    settle(teacher)
    expect(sidebar(student).get_by_text("Following the teacher")).to_be_visible(timeout=FOLLOW_MS)
    expect(student.get_by_role("heading", name="Convolution by hand", level=1)).to_be_visible(timeout=FOLLOW_MS)
    sidebar(teacher).get_by_role("button", name="End the class").click()
    settle(teacher)
    expect(student.get_by_text("The teacher ended the class")).to_be_visible(timeout=FOLLOW_MS)
    expect(architecture_box(student).get_by_role("combobox")).to_be_enabled()
    for _ in range(40):  # the page's script forgets the secret once the run that ended the class is drawn
        if not [c for c in teacher_context.cookies() if c["name"] == "explorer_class_lead" and c["value"]]:
            break
        teacher.wait_for_timeout(250)
    assert not [c for c in teacher_context.cookies() if c["name"] == "explorer_class_lead" and c["value"]]


def test_forged_and_unknown_codes_get_one_sentence_and_the_app_works_as_usual(people, class_server):
    url, _ = class_server
    for typed, shown in (("<script>alert(1)</script>", "scriptalert1"), ("AAAAAA", "AAAAAA"), ("0O1IL5", "0O1IL5")):
        page = people(f"{url}/layer-table?class={typed}")
        expect(page.get_by_text(f"No class with the code {shown} is running; ask your teacher for the link.")
               ).to_be_visible()
        expect(page.get_by_role("heading", name="Layer table · LeNet-5", level=1)).to_be_visible()
        expect(architecture_box(page).get_by_role("combobox")).to_be_enabled()
        assert "class=" not in page.url


def test_a_student_cannot_drive_with_the_teachers_parameters_or_a_forged_cookie(people, class_server):
    url, _ = class_server
    teacher = people(url + "/layer-table")
    code = start_class(teacher)
    secret = next(c["value"] for c in teacher.context.cookies() if c["name"] == "explorer_class_lead")
    token = secret.split(".", 1)[1]
    # Everything the teacher has, put in a link: the student still only follows.
    query = f"class={code}&arch=vgg16&lead={token}&token={token}&teacher=1&explorer_class_lead={secret}"
    student = people(f"{url}/parameter-breakdown?{query}")
    forger = people(f"{url}/?class={code}", cookies=[
        {"name": "explorer_class_lead", "value": f"{code}.{'A' * len(token)}", "url": url}])
    for page in (student, forger):
        expect_following(page, "LeNet-5", "Layer table · LeNet-5")
        expect(sidebar(page).get_by_role("button", name="End the class")).to_have_count(0)
        expect(sidebar(page).get_by_role("button", name="Start a class")).to_have_count(0)
    student.wait_for_timeout(3000)
    expect(teacher.get_by_role("heading", name="Layer table · LeNet-5", level=1)).to_be_visible()
    expect(teacher).to_have_url(re.compile(r"arch=lenet5&"))  # the teacher's selection, as the server holds it
    expect(sidebar(teacher).get_by_role("button", name="End the class")).to_be_visible()


def test_guessing_codes_stops_after_a_few_wrong_ones(people, class_server):
    url, _ = class_server
    teacher = people(url + "/")
    code = start_class(teacher)
    guesser = people(url + "/")
    sidebar(guesser).get_by_text("Teach or join a class").click()
    box = sidebar(guesser).get_by_label("Or join one with its code")
    for guess in ["CCCCCC", "DDDDDD", "EEEEEE", "FFFFFF", "HHHHHH"]:
        box.fill(guess)
        box.press("Enter")
        expect(guesser.get_by_text(f"No class with the code {guess} is running; ask your teacher for the link.")
               ).to_be_visible()
        settle(guesser)
    box.fill(code)  # even the right code now waits: this tab has been guessing
    box.press("Enter")
    expect(guesser.get_by_text(re.compile("Too many wrong class codes from this tab; wait 5 minutes"))).to_be_visible()
    expect(sidebar(guesser).get_by_text("Following the teacher")).to_have_count(0)


def layer_picker(page):
    return page.locator('[data-testid="stSelectbox"]').filter(has_text="calls, in the order").get_by_role("combobox")


def test_a_student_sees_the_teachers_layer_and_the_teachers_last_training_step(people, class_server):
    url, _ = class_server
    teacher, code = teacher_on_feature_maps(people, url)
    student = people(f"{url}/?class={code}")
    expect_following(student, "ResNet-18", "Feature maps · ResNet-18")
    for _ in range(2):
        teacher.get_by_role("button", name="▶").click()
        settle(teacher)
    teachers_layer = layer_picker(teacher).input_value()
    expect(layer_picker(student)).to_have_value(teachers_layer, timeout=FOLLOW_MS)
    expect(layer_picker(student)).to_be_disabled()
    screenshot(student, "class_follower_layer.png")

    teacher.get_by_role("link", name="Training step").click()
    settle(teacher)
    expect(student.get_by_text("has not taken a step yet")).to_be_visible(timeout=FOLLOW_MS)
    teacher.get_by_role("button", name="Take one step").click()
    expect(teacher.get_by_role("heading", name=re.compile("What step 1 did"))).to_be_visible()
    settle(teacher)
    loss_after = teacher.locator('[data-testid="stMetric"]').filter(has_text="Loss after")
    teachers_loss = loss_after.locator('[data-testid="stMetricValue"]').inner_text()
    expect(student.get_by_role("heading", name=re.compile("What step 1 did"))).to_be_visible(timeout=FOLLOW_MS)
    students_loss = student.locator('[data-testid="stMetric"]').filter(has_text="Loss after")
    expect(students_loss.locator('[data-testid="stMetricValue"]')).to_have_text(teachers_loss)
    expect(student.get_by_role("button", name="Take one step")).to_have_count(0)  # no copy of the student's own
    screenshot(student, "class_follower_training.png")
