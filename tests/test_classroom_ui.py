"""The classroom's training queue on a student's page, in headless Chromium over the classroom's HTTPS:
two other students' runs are ahead (one training, one waiting), so the page shows its place in the
queue, moves up when a run ahead of it is cancelled, and trains when its turn comes.  The training
itself is held by an event (as in test_classroom); the queue and what the page shows are what is
tested.  About 5 s after the browser has started.
"""

from __future__ import annotations

import time
from urllib.parse import quote

import pytest

from conftest import fsdd
from pac.studio.classroom import ClassroomStudio
from test_classroom import Browserless, JoiningPage, hold_training
from test_studio import Page

pytestmark = pytest.mark.slow


def add_clips(student: Browserless, name: str) -> None:
    for label, digit in (("one", 1), ("two", 2)):
        assert student.post(f"/s/{name}/api/labels", {"name": label})[0] == 201
        for i in range(2):
            clip = fsdd(digit, "george", i).read_bytes()
            assert student.post(f"/s/{name}/api/labels/{label}/clips", clip)[0] == 201


def queue_box(page: Page) -> dict | None:
    """What the progress panel says about the queue (None while it shows none)."""
    return page.js("""const q = document.querySelector('#train-queued');
        const s = document.querySelector('#train-state');
        return q ? {position: q.dataset.position, text: q.textContent, state: s.textContent,
                    bar: !!document.querySelector('#train-progress .progress'),
                    announced: document.querySelector('#train-announce').textContent} : null;""")


def test_a_waiting_students_page_shows_its_place_in_the_queue(tmp_path, monkeypatch):
    release, started = hold_training(monkeypatch)
    with ClassroomStudio(tmp_path / "class", host="127.0.0.1", port=0, warm=False) as classroom:
        others = {name: Browserless(classroom) for name in ("Ann", "Cy")}
        for name, student in others.items():
            student.join(classroom, name)
            add_clips(student, name)
        ben = Browserless(classroom)
        ben.join(classroom, "Ben")
        add_clips(ben, "Ben")
        assert others["Ann"].post("/s/Ann/api/train", {})[0] == 202  # training (held)
        deadline = time.time() + 10
        while started != ["Ann"] and time.time() < deadline:
            time.sleep(0.02)
        assert others["Cy"].post("/s/Cy/api/train", {})[0] == 202  # number 1 in the queue
        # Ben goes on in a browser: the join page (his name taken, so it asks for his code), filled in and
        # sent as the browser sends it (a form's POST with the page's Origin)
        url = f"https://127.0.0.1:{classroom.port}/?name={quote('Ben')}"
        fields = {"code": classroom.classroom.class_code, "student_code": ben.code}
        page = JoiningPage(url, fields, None, tmp_path / "ben", flags=("--ignore-certificate-errors",))
        try:
            assert page.driver.current_url == f"https://127.0.0.1:{classroom.port}/s/Ben/"
            page.view("train")
            page.click("#train-button")
            second = page.wait(lambda: (b := queue_box(page)) and b["position"] == "2" and b, what="number 2")
            assert others["Cy"].post("/s/Cy/api/train/cancel")[0] == 200  # the run ahead leaves the queue
            first = page.wait(lambda: (b := queue_box(page)) and b["position"] == "1" and b, what="number 1")
            release.set()
            page.wait(lambda: page.find("#train-state").get_attribute("data-state") == "done", what="its turn")
            after = {"queue": queue_box(page), "state": page.text("#train-state")}  # found again if re-rendered
            errors = page.messages("error")
        finally:
            release.set()
            page.close()
    assert second["state"] == "Waiting: number 2 in the queue" and second["announced"] == second["state"], second
    assert "1 other training run goes first" in second["text"] and "Cancel" in second["text"], second
    assert not second["bar"], second  # nothing moves while it waits: no progress bar
    assert first["state"] == "Waiting: number 1 in the queue" and "This run is next" in first["text"], first
    assert after == {"queue": None, "state": "Done: the new model is ready."}, after
    assert started == ["Ann", "Ben"] and not errors, (started, errors)
