"""The server-wide line for heavy work: who runs, who waits, in what order, and the places each is told."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from explorer.core.admission import Line, capacity_from_environment, ordinal, place_sentence

WAIT_S = 10  # a bound on each wait for a condition, so a broken line fails instead of hanging


class Students:
    """Threads that each take a turn in one line, recording the places they are told and when they get in."""

    def __init__(self, line: Line) -> None:
        self.line, self.changed = line, threading.Condition()
        self.places: dict[str, list[int]] = {}
        self.entered: list[str] = []
        self.leave: dict[str, threading.Event] = {}
        self.threads: list[threading.Thread] = []

    def _told(self, name: str, place: int) -> None:
        with self.changed:
            self.places[name].append(place)
            self.changed.notify_all()

    def _take_turn(self, name: str) -> None:
        with self.line.turn(on_place=lambda place: self._told(name, place), poll_s=WAIT_S * 3):
            with self.changed:
                self.entered.append(name)
                self.changed.notify_all()
            self.leave[name].wait(WAIT_S)

    def arrive(self, name: str) -> None:
        """One more student, who is either in or in line when this returns."""
        self.places[name], self.leave[name] = [], threading.Event()
        thread = threading.Thread(target=self._take_turn, args=(name,), daemon=True)
        self.threads.append(thread)
        thread.start()
        self.wait_until(lambda: name in self.entered or self.places[name])

    def wait_until(self, condition) -> None:
        with self.changed:
            assert self.changed.wait_for(condition, timeout=WAIT_S)

    def finish(self) -> None:
        for event in self.leave.values():
            event.set()
        for thread in self.threads:
            thread.join(WAIT_S)


def test_the_first_two_go_in_and_the_rest_wait_in_order_told_their_places():
    line = Line(2)
    students = Students(line)
    try:
        for name in "ABCDE":
            students.arrive(name)
        assert students.entered == ["A", "B"]
        assert (line.holding, line.waiting) == (2, 3)
        assert {n: students.places[n] for n in "ABCDE"} == {"A": [], "B": [], "C": [1], "D": [2], "E": [3]}

        students.leave["B"].set()  # the second holder leaves first: the first in line goes in
        students.wait_until(lambda: students.places["E"][-1:] == [2] and students.places["D"][-1:] == [1]
                            and len(students.entered) == 3)
        assert students.entered == ["A", "B", "C"]
        assert students.places["D"] == [2, 1]

        students.leave["A"].set()
        students.wait_until(lambda: students.places["E"][-1:] == [1] and len(students.entered) == 4)
        assert students.entered == ["A", "B", "C", "D"]
        assert students.places["E"] == [3, 2, 1]
    finally:
        students.finish()
    assert students.entered == ["A", "B", "C", "D", "E"]
    assert (line.holding, line.waiting) == (0, 0)


def test_one_who_gives_up_waiting_leaves_the_line_and_those_behind_move_up():
    line = Line(1)
    students = Students(line)
    gave_up = threading.Event()

    def impatient() -> None:
        def told(place: int) -> None:
            if place == 1:
                raise KeyboardInterrupt  # as a page's rerun stops its script while it waits
        try:
            with line.turn(on_place=told, poll_s=WAIT_S * 3):
                pytest.fail("the impatient student was let in")
        except KeyboardInterrupt:
            gave_up.set()

    try:
        students.arrive("A")
        thread = threading.Thread(target=impatient, daemon=True)
        thread.start()
        assert gave_up.wait(WAIT_S)
        students.arrive("B")
        assert students.places["B"] == [1]  # not 2: the one who gave up is no longer ahead
        students.leave["A"].set()
        students.wait_until(lambda: "B" in students.entered)
    finally:
        students.finish()
    assert (line.holding, line.waiting) == (0, 0)


@contextmanager
def students_in_a_line(capacity: int) -> Iterator[tuple[Line, Students]]:
    """A line and its students; at the end all of them leave, and the line must be empty."""
    line = Line(capacity)
    students = Students(line)
    try:
        yield line, students
    finally:
        students.finish()
    assert (line.holding, line.waiting) == (0, 0)


def test_a_holder_that_steps_aside_goes_behind_those_waiting_and_then_goes_on():
    told: list[tuple[int, list[str]]] = []
    with students_in_a_line(1) as (line, students):
        def while_aside(place: int) -> None:  # each one ahead is let in, and leaves, in turn
            expected = ["B", "C"][: 3 - place]
            students.wait_until(lambda: students.entered == expected)
            told.append((place, list(students.entered)))
            assert (line.holding, line.waiting) == (1, place)  # one let in holds; the holder waits at the back
            students.leave[expected[-1]].set()

        with line.turn(poll_s=WAIT_S * 3) as turn:
            students.arrive("B")
            students.arrive("C")
            assert students.places == {"B": [1], "C": [2]}
            assert turn.step_aside(while_aside) is True
            assert (line.holding, line.waiting) == (1, 0)  # in again, and nobody else
    assert told == [(2, ["B"]), (1, ["B", "C"])]


@pytest.mark.parametrize("capacity", [1, 2])
def test_stepping_aside_with_nobody_waiting_keeps_the_place(capacity):
    def told(place: int) -> None:
        pytest.fail(f"told place {place} with nobody waiting")

    with students_in_a_line(capacity) as (line, students):
        with line.turn() as turn:
            for name in "BC"[: capacity - 1]:  # the other places held, none waiting
                students.arrive(name)
            assert turn.step_aside(told) is False
            assert (line.holding, line.waiting) == (capacity, 0)


def test_a_holder_that_gives_up_while_aside_leaves_the_line():
    def told(place: int) -> None:
        raise KeyboardInterrupt  # as a page's rerun stops its script while it waits

    with students_in_a_line(1) as (line, students):
        with pytest.raises(KeyboardInterrupt):
            with line.turn(poll_s=WAIT_S * 3) as turn:
                students.arrive("B")
                turn.step_aside(told)
        students.wait_until(lambda: students.entered == ["B"])
        assert (line.holding, line.waiting) == (1, 0)  # B holds; the one who gave up is not in line
        students.arrive("C")
        assert students.places["C"] == [1]
    assert students.entered == ["B", "C"]


def test_a_line_needs_room():
    with pytest.raises(ValueError, match="at least one"):
        Line(0)


@pytest.mark.parametrize("n, text", [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (12, "12th"),
                                     (13, "13th"), (21, "21st"), (22, "22nd"), (101, "101st"), (111, "111th")])
def test_ordinals(n, text):
    assert ordinal(n) == text


def test_the_sentence():
    assert place_sentence(4, 2) == "Your picture is 4th in line; the server works on 2 at a time."


@pytest.mark.parametrize("text, capacity", [("3", 3), ("1", 1), ("0", 2), ("two", 2), ("-1", 2), ("", 2)])
def test_the_servers_capacity_from_its_environment(monkeypatch, text, capacity):
    monkeypatch.setenv("EXPLORER_PICTURE_TURNS", text)
    assert capacity_from_environment() == capacity
