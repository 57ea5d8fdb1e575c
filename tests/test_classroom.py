"""``pac studio --classroom`` over real HTTPS (no browser): joining, one project per student and nothing
of another student's reachable by any path, the certificate kept across restarts, the teacher's page
behind its code, the training queue shared by the class, and the command's startup lines.
"""

from __future__ import annotations

import hashlib
import html
import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from urllib.parse import quote, urlencode

import pytest

from conftest import fsdd
from pac.errors import PacError
from pac.studio.classroom import ClassroomStudio
from pac.studio.tls import qr_lines
from test_studio import Page, snapshot

UNVERIFIED = ssl._create_unverified_context()  # the classroom's certificate is self-signed


class Browserless:
    """HTTPS requests to a classroom as one browser would make them (its own cookies)."""

    def __init__(self, studio: ClassroomStudio):
        self.port = studio.port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body=None, *, headers=None, page: bool = True):
        headers = dict(headers or {})
        if page and method != "GET":
            headers.setdefault("X-Pac-Studio", "1")
            headers.setdefault("Origin", f"https://127.0.0.1:{self.port}")
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        if self.cookies:
            headers.setdefault("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        connection = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=60, context=UNVERIFIED)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";")[0]
        kind = response.getheader("Content-Type", "")
        self.last = response
        return response.status, (json.loads(data) if kind.startswith("application/json") else data)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def form(self, path: str, fields: dict, *, headers=None):
        """POST ``fields`` as the classroom's HTML forms are sent: URL-encoded, with the page's ``Origin``
        and without ``X-Pac-Studio`` (a form cannot send it); a header given ``None`` is left out."""
        sent = {"Origin": f"https://127.0.0.1:{self.port}", "Content-Type": "application/x-www-form-urlencoded"}
        sent.update(headers or {})
        sent = {key: value for key, value in sent.items() if value is not None}
        body = fields if isinstance(fields, bytes) else urlencode(fields).encode()
        return self.request("POST", path, body, headers=sent, page=False)

    def join_form(self, studio: ClassroomStudio, name: str, *, code: str | None = None, class_code=None, **kw):
        """POST the join page's form: the class code (``class_code``, the classroom's unless given), the name
        and, unless ``None``, the student's ``code`` to continue."""
        fields = {"code": studio.classroom.class_code if class_code is None else class_code, "name": name}
        if code is not None:
            fields["student_code"] = code
        return self.form("/join", fields, **kw)

    def teacher_form(self, code: str, **kw):
        """POST the teacher's page's form with ``code``."""
        return self.form("/teacher", {"code": code}, **kw)

    def join(self, studio: ClassroomStudio, name: str, *, code: str | None = None) -> str:
        """Join as ``name`` (``code``: the student's code to continue, for a name taken); the studio's
        address it was sent to.  A new name goes through the welcome page: its code is kept in ``code``."""
        status, _ = self.join_form(studio, name, code=code)
        assert status == 303, (status, _)
        location = self.last.getheader("Location")
        if location == "/welcome":
            status, page = self.get("/welcome")
            assert status == 200, (status, page)
            self.code = re.search(rb'id="student-code">([0-9]{4})<', page).group(1).decode()
            location = html.unescape(re.search(rb'id="continue" href="([^"]+)"', page).group(1).decode())
        return location


class JoiningPage(Page):
    """Headless Chromium (:class:`test_studio.Page`) that opens the classroom's join page ``url`` (``/`` or
    ``/?name=``), types ``fields`` into its form (name -> text; a name the address gave is already there)
    and presses Join, as a student does: the browser POSTs the form with its own Origin, and the page is
    the student's studio once it has loaded."""

    def __init__(self, url: str, fields: dict[str, str], mic, workdir, *, flags: tuple = ()):
        self.joining = True
        super().__init__(url, mic, workdir, flags=flags)
        for name, text in fields.items():
            self.find(f'form[action="/join"] input[name="{name}"]').send_keys(text)
        self.click('form[action="/join"] button[type="submit"]')
        self.joining = False
        self.wait_loaded("the studio after joining")

    def wait_loaded(self, what: str) -> None:
        if self.joining:  # the join page: no studio yet
            self.wait(lambda: self.finds('form[action="/join"][method="post"]'), what=what)
        else:
            super().wait_loaded(what)


@pytest.fixture
def classroom(tmp_path):
    with ClassroomStudio(tmp_path / "class", host="127.0.0.1", port=0, warm=False) as running:
        yield running


def test_two_students_get_separate_projects_and_nothing_of_each_other(classroom):
    alice, bob, stranger = Browserless(classroom), Browserless(classroom), Browserless(classroom)
    assert alice.join(classroom, "Alice") == "/s/Alice/"
    assert bob.join(classroom, "bob 2") == "/s/bob%202/"
    # each student's studio page and API, relative to /s/<name>/
    status, page = alice.get("/s/Alice/")
    assert status == 200 and b"static/studio.js" in page
    assert alice.get("/s/Alice/static/studio.js")[0] == 200
    assert alice.post("/s/Alice/api/labels", {"name": "yes"})[0] == 201
    status, clip = alice.post(
        "/s/Alice/api/labels/yes/clips", fsdd(1, "george", 0).read_bytes(), headers={"X-Clip-Source": "uploaded"}
    )
    assert status == 201
    assert bob.post("/s/bob%202/api/labels", {"name": "no"})[0] == 201
    assert [label["name"] for label in alice.get("/s/Alice/api/project")[1]["labels"]] == ["yes"]
    assert [label["name"] for label in bob.get("/s/bob%202/api/project")[1]["labels"]] == ["no"]
    root = classroom.classroom.root
    assert sorted(p.name for p in (root / "students").iterdir()) == ["Alice", "bob 2"]
    assert (root / "students" / "Alice" / "labels" / "yes" / clip["id"]).is_file()
    before = snapshot(root / "students")
    # Bob (and someone who never joined) reaches nothing of Alice's, by any path
    audio = f"/api/labels/yes/clips/{clip['id']}/audio"
    for who in (bob, stranger):
        for method, path in [
            ("GET", "/s/Alice/api/project"),
            ("GET", "/s/Alice" + audio),
            ("DELETE", f"/s/Alice/api/labels/yes/clips/{clip['id']}"),
            ("DELETE", "/s/Alice/api/labels/yes"),
            ("GET", "/s/alice/api/project"),
            ("GET", "/s/ALICE" + audio),
            ("GET", "/s/bob%202/../Alice/api/project"),
            ("GET", "/s/bob%202/..%2FAlice" + audio),
            ("GET", "/s/..%2Fstudents%2FAlice/api/project"),
            ("GET", "/s/%2E%2E/api/project"),
            ("GET", "/s/Alice%00/api/project"),
            ("GET", "/students/Alice/labels/yes/" + clip["id"]),
            ("GET", "/s/" + quote("../Alice") + audio),
            ("POST", "/s/Alice/api/labels"),
        ]:
            status, answer = who.request(method, path, {"name": "x"} if method == "POST" else None)
            assert status in (403, 404, 405), (method, path, status, answer)
            assert clip["id"].encode() not in (answer if isinstance(answer, bytes) else json.dumps(answer).encode())
    # a cookie made for another name, or a changed one, does not pass
    forged = Browserless(classroom)
    forged.cookies = {
        "pac-student": bob.cookies["pac-student"].replace(bob.cookies["pac-student"].split(".")[0], "QWxpY2U")
    }
    assert forged.get("/s/Alice/api/project")[0] == 403
    # Alice's own cookie from another site's page (its Origin), or without the page's header: refused
    assert alice.post("/s/Alice/api/labels", {"name": "forged"}, headers={"Origin": "https://evil.example"})[0] == 403
    assert alice.post("/s/Alice/api/labels", {"name": "forged"}, page=False)[0] == 403
    assert (
        alice.post("/s/Alice/api/labels", {"name": "forged"}, headers={"Origin": f"http://127.0.0.1:{classroom.port}"})[
            0
        ]
        == 403
    )  # not the https origin
    # Bob's studio page asks him to join when he opens Alice's
    assert bob.get("/s/Alice/")[0] == 303 and bob.last.getheader("Location") == "/?name=Alice"
    assert snapshot(root / "students") == before
    # joining again with another case finds the same student (with Alice's code); bad names and wrong
    # codes are refused
    assert Browserless(classroom).join(classroom, "alice", code=alice.code) == "/s/Alice/"
    for name, says in [
        ("../evil", b"cannot contain"),
        ("a/b", b"cannot contain"),
        ("", b"type a student name"),
        (".", b"cannot contain"),
        ("CON", b"reserved"),
        ("x" * 41, b"at most 40"),
    ]:
        status, page = stranger.join_form(classroom, name)
        assert status == 400 and says in page, (name, page[:300])
    status, page = stranger.join_form(classroom, "Mallory", class_code="000000x")
    assert status == 400 and b"not the class code" in page
    assert sorted(p.name for p in (root / "students").iterdir()) == ["Alice", "bob 2"]
    assert sorted(p.name for p in root.iterdir()) == [".studio.lock", "classroom.json", "students", "tls"]
    zoe = Browserless(classroom)  # any script: the address is percent-encoded UTF-8
    assert zoe.join(classroom, "Zoë 猫") == "/s/Zo%C3%AB%20%E7%8C%AB/"
    assert zoe.get("/s/Zo%C3%AB%20%E7%8C%AB/api/project")[1]["name"] == "Zoë 猫"
    # a student's project tells no path on the teacher's computer (the local studio's does)
    status, project = alice.get("/s/Alice/api/project")
    assert status == 200 and project["path"] == "students/Alice" and str(root) not in json.dumps(project)


def test_wrong_codes_are_limited_per_computer(classroom):
    guesser = Browserless(classroom)
    for i in range(20):
        assert guesser.join_form(classroom, "x", class_code=f"99999{i}")[0] == 400
    for status, answer in (guesser.join_form(classroom, "x"), guesser.teacher_form(classroom.classroom.teacher_code)):
        assert status == 429 and answer == {"error": "too many wrong codes from this computer; wait ten minutes"}
    assert guesser.cookies == {} and classroom.classroom.students() == []
    # wrong teacher's codes count the same way
    classroom.classroom.guesses.clear()
    for i in range(20):
        status, page = guesser.teacher_form(f"wrong-{i}")
        assert status == 401 and b"not the teacher's code" in page
    assert guesser.teacher_form(classroom.classroom.teacher_code)[0] == 429 and guesser.cookies == {}


def test_codes_in_an_address_open_nothing(classroom):
    """The codes travel in the forms' POST bodies only: an address holding them (an old bookmark, the
    browser's history on a shared computer, a log) joins no one, sets no cookie, opens no teacher's page
    and counts no guess; the forms are POSTed and their pages send the Origin the server wants."""
    room = classroom.classroom
    Browserless(classroom).join(classroom, "Ada")
    code, teacher_code, ada = room.class_code, room.teacher_code, room.student_code("Ada")
    visitor = Browserless(classroom)
    for path in (
        f"/join?code={code}&name=Eve",
        f"/join?code={code}&name=Ada&student_code={ada}",
        f"/join?code={code}&name={quote('New kid')}",
        "/join",
    ):
        for method in ("GET", "HEAD"):
            status, _ = visitor.request(method, path)
            assert status == 303 and visitor.last.getheader("Location") == "/", (method, path, status)
            assert visitor.last.getheader("Set-Cookie") is None
    for path in (f"/teacher?code={teacher_code}", f"/teacher?code={quote(teacher_code.upper())}"):
        status, page = visitor.get(path)
        assert status == 401 and b"Teacher's code" in page, (path, page[:300])
        assert b"not the teacher's code" not in page and code.encode() not in page
        assert visitor.last.getheader("Set-Cookie") is None
    assert visitor.get("/teacher/overview")[0] == 401
    # a form POSTed with the codes in its address (not in its body) is a wrong code too
    status, page = visitor.form(f"/join?code={code}&name=Eve", {"name": "Eve"})
    assert status == 400 and b"not the class code" in page
    status, page = visitor.form(f"/teacher?code={teacher_code}", {})
    assert status == 401 and b"not the teacher's code" in page
    assert visitor.cookies == {} and room.students() == ["Ada"] and len(room.guesses["127.0.0.1"]) == 2
    # the pages' forms are POSTed, and the pages ask the browser to send their Origin with them
    for path in ("/", "/?name=Ada", "/teacher"):
        status, page = visitor.get(path)
        assert page.count(b'method="post"') == 1 and b'method="get"' not in page, path
        assert visitor.last.getheader("Referrer-Policy") == "same-origin", path
        assert "form-action 'self'" in visitor.last.getheader("Content-Security-Policy"), path
    joined = Browserless(classroom)
    joined.join(classroom, "Bob")
    assert joined.get("/s/Bob/")[0] == 200 and joined.last.getheader("Referrer-Policy") == "no-referrer"
    assert "form-action 'none'" in joined.last.getheader("Content-Security-Policy")


def test_a_form_from_another_page_or_of_another_kind_is_refused(classroom):
    """A form cannot send X-Pac-Studio, so the forms' POSTs must carry this server's own Origin: one
    from another site's page (which could make a browser join under a name, or log in, with codes it
    chose), a sandboxed page's ("null") or none at all is refused (403) and changes nothing; so is a
    body that is not a URL-encoded form (415), not UTF-8, or of too many fields (400), in one line."""
    room = classroom.classroom
    teacher_code = room.teacher_code
    before = sorted(p.name for p in room.root.iterdir()), json.loads((room.root / "classroom.json").read_text())
    who = Browserless(classroom)
    for origin in (
        None,
        "https://evil.example",
        "null",
        f"http://127.0.0.1:{classroom.port}",
        f"https://127.0.0.1:{classroom.port + 1}",
        f"https://127.0.0.1:{classroom.port}/",
        "",
    ):
        for extra in ({}, {"X-Pac-Studio": "1"}):  # the studio's header does not stand in for the Origin
            headers = {"Origin": origin, **extra}
            for status, answer in (
                who.join_form(classroom, "Eve", headers=headers),
                who.teacher_form(teacher_code, headers=headers),
            ):
                assert status == 403 and answer == {"error": "changes must come from the studio page"}, (origin, answer)
                assert who.last.getheader("Set-Cookie") is None
    for content_type in (
        "application/json",
        "text/plain",
        "multipart/form-data; boundary=x",
        None,
        "application/x-www-form-urlencodedx",
    ):
        for status, answer in (
            who.join_form(classroom, "Eve", headers={"Content-Type": content_type}),
            who.teacher_form(teacher_code, headers={"Content-Type": content_type}),
        ):
            assert status == 415 and answer == {
                "error": "the form must be sent as application/x-www-form-urlencoded"
            }, (content_type, answer)
    fields = urlencode({"code": room.class_code, "name": "Eve"}).encode()
    for body, says in [
        (fields + b"&x=\xff", "the form is not valid UTF-8"),  # raw bytes
        (fields + b"&x=%ff", "the form is not valid UTF-8"),  # percent-encoded
        (fields + b"&x=%ed%a0%80", "the form is not valid UTF-8"),  # a surrogate, UTF-8-encoded
        (fields + b"&x=" * 10, "the form has too many fields (at most 10)"),
    ]:
        status, answer = who.form("/join", body)
        assert status == 400 and answer == {"error": says}, (body, answer)
    status, answer = who.form("/join", b"x" * (64 * 1024 + 1))
    assert status == 413 and "\n" not in answer["error"], answer
    # a form whose type has a charset, its fields in another order, an unknown one beside them: fine
    status, _ = who.form(
        "/join",
        b"name=Eve&zzz=1&code=" + room.class_code.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"},
    )
    assert status == 303 and who.last.getheader("Location") == "/welcome"
    room_now = sorted(p.name for p in room.root.iterdir()), json.loads((room.root / "classroom.json").read_text())
    assert room_now[0] == before[0] and set(room_now[1]) - set(before[1]) == {"students"}
    assert room.students() == ["Eve"] and "127.0.0.1" not in room.guesses
    assert "pac-teacher" not in who.cookies
    # the other classroom pages take no form (no X-Pac-Studio: refused), and no POST at all
    for path in ("/", "/welcome", "/teacher/overview", "/join/", "/teacher/", "/%6Aoin"):
        assert who.form(path, {"code": teacher_code})[0] == 403, path
        assert who.post(path, {"code": teacher_code})[0] == 405, path
    assert "pac-teacher" not in who.cookies and room.students() == ["Eve"]


def test_a_taken_name_needs_its_students_code_or_cookie(classroom):
    """The class code alone no longer opens another student's project: a new name is shown its code to
    continue on another computer (kept in the private classroom.json), and joining under a name that is
    taken, in any case, needs that code, unless the browser holds that student's cookie."""
    room = classroom.classroom
    alice = Browserless(classroom)
    assert alice.join(classroom, "Alice") == "/s/Alice/"
    assert re.fullmatch(r"[0-9]{4}", alice.code) and alice.code == room.student_code("Alice")
    assert alice.post("/s/Alice/api/labels", {"name": "mine"})[0] == 201
    settings = json.loads((room.root / "classroom.json").read_text())
    assert settings["students"] == {"Alice": alice.code}
    if os.name == "posix":
        assert (room.root / "classroom.json").stat().st_mode & 0o777 == 0o600
    # Alice's own browser sees her code on the join page, and goes straight in under her name (any case)
    status, page = alice.get("/")
    assert status == 200 and f"<strong>{alice.code}</strong>".encode() in page
    for name in ("Alice", "ALICE", "alice"):
        assert alice.join(classroom, name) == "/s/Alice/"
    # anyone else (Bob with his own cookie too) needs Alice's code: none or a wrong one is refused
    bob, stranger = Browserless(classroom), Browserless(classroom)
    bob.join(classroom, "Bob")
    wrong = f"{(int(alice.code) + 1) % 10000:04d}"
    secret = f"<strong>{alice.code}</strong>".encode() if bob.code != alice.code else b"\0"
    for who in (stranger, bob):
        for name in ("Alice", "alice", "ALICE"):
            for code, says in [
                (None, b"Someone has joined as Alice already. If that is you, type your code to continue"),
                ("", b"Someone has joined as Alice already"),
                (wrong, b"That is not Alice&#x27;s code to continue; ask your teacher."),
                (" x ", b"That is not Alice&#x27;s code to continue"),
            ]:
                cookies = dict(who.cookies)
                status, page = who.join_form(classroom, name, code=code)
                assert status == 403 and says in page and b'name="student_code"' in page, (name, code, page[-600:])
                assert page.count(b'role="alert"') == 1 and secret not in page
                assert who.cookies == cookies and who.last.getheader("Set-Cookie") is None
            assert who.get("/s/Alice/api/project")[0] == 403
        room.guesses.clear()  # 8 wrong codes each: the limit is tested below
    # the join page asks for the code when it is sent there for a taken name, not for a new one
    assert b'name="student_code"' in stranger.get("/?name=alice")[1]
    assert b'name="student_code"' not in stranger.get("/?name=Carol")[1]
    assert b'name="student_code"' not in alice.get("/?name=Alice")[1]
    # with Alice's code, on another computer, in another case, spaces around: Alice's project
    assert stranger.join(classroom, "aLiCe", code=f" {alice.code} ") == "/s/Alice/"
    assert [label["name"] for label in stranger.get("/s/Alice/api/project")[1]["labels"]] == ["mine"]
    assert sorted(p.name for p in (room.root / "students").iterdir()) == ["Alice", "Bob"]
    # the welcome page is for a browser that has joined; the code is shown to no one else
    fresh = Browserless(classroom)
    assert fresh.get("/welcome")[0] == 303 and fresh.last.getheader("Location") == "/"
    status, page = bob.get("/welcome")
    assert status == 200 and b"Welcome, Bob" in page and bob.code.encode() in page and b"Alice" not in page


def test_wrong_student_codes_count_toward_the_limit(classroom):
    room = classroom.classroom
    Browserless(classroom).join(classroom, "Ann")
    code = room.student_code("Ann")
    guesser = Browserless(classroom)
    for i in range(20):
        guess = f"{(int(code) + 1 + i) % 10000:04d}"
        assert guesser.join_form(classroom, "ann", code=guess)[0] == 403
    for name, student_code in (("ann", code), ("x", None)):
        status, answer = guesser.join_form(classroom, name, code=student_code)
        assert status == 429 and "too many wrong codes" in answer["error"], (name, status, answer)
    assert "pac-student" not in guesser.cookies


def test_students_from_before_the_codes_get_one(classroom):
    """A classroom folder made before the codes: its students have none.  A student joining with their
    cookie is given one (and shown it); the teacher's page shows (so makes) the others'; without either,
    the name stays closed."""
    room = classroom.classroom
    for name in ("Old", "Older"):
        (room.root / "students" / name).mkdir()
    assert "students" not in json.loads((room.root / "classroom.json").read_text())
    old = Browserless(classroom)
    old.cookies = {"pac-student": room.student_cookie("Old")}
    assert old.join(classroom, "old") == "/s/Old/" and re.fullmatch(r"[0-9]{4}", old.code)
    assert old.join(classroom, "Old") == "/s/Old/"  # shown once: now straight in
    assert json.loads((room.root / "classroom.json").read_text())["students"] == {"Old": old.code}
    stranger = Browserless(classroom)
    assert stranger.join_form(classroom, "Older")[0] == 403
    teacher = Browserless(classroom)
    assert teacher.teacher_form(room.teacher_code)[0] == 303
    status, page = teacher.get("/teacher")
    codes = {row["student"]: row["code"] for row in teacher.get("/teacher/overview")[1]["students"]}
    assert codes["Old"] == old.code and re.fullmatch(r"[0-9]{4}", codes["Older"])
    assert f'<td class="code">{codes["Older"]}</td>'.encode() in page
    assert stranger.join(classroom, "older", code=codes["Older"]) == "/s/Older/"


def test_certificate_is_made_once_and_kept(tmp_path):
    folder = tmp_path / "class"
    seen = []
    for _ in range(2):
        with ClassroomStudio(folder, host="127.0.0.1", port=0, warm=False) as studio:
            with (
                ssl.create_connection(("127.0.0.1", studio.port), timeout=10) as raw,
                UNVERIFIED.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
            ):
                served = hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest()
            seen.append(
                (
                    studio.new_certificate,
                    studio.fingerprint,
                    served,
                    studio.classroom.class_code,
                    studio.classroom.teacher_code,
                    studio.url,
                )
            )
    (made, first, served, code, teacher, url), (made_again, second, served_again, code_again, teacher_again, _) = seen
    assert made and not made_again and first == second and served == served_again
    assert first.replace(":", "").lower() == served and len(first) == 95
    assert (code, teacher) == (code_again, teacher_again) and url.startswith("https://127.0.0.1:")
    # the key is for this computer's user only
    if os.name == "posix":
        assert ((folder / "tls" / "key.pem").stat().st_mode & 0o777) == 0o600
    # a damaged certificate is made again (a new fingerprint), never a crash
    (folder / "tls" / "cert.pem").write_text("not a certificate")
    with ClassroomStudio(folder, host="127.0.0.1", port=0, warm=False) as studio:
        assert studio.new_certificate and studio.fingerprint != first
        # http:// typed by hand (browsers add it to a bare address) is sent to https://, path kept
        for host, path, location in [
            (f"127.0.0.1:{studio.port}", "/s/Ann/", f"https://127.0.0.1:{studio.port}/s/Ann/"),
            ("evil host\r\nX: 1", "/a b", f"https://127.0.0.1:{studio.port}/"),
        ]:
            with socket.create_connection(("127.0.0.1", studio.port), timeout=10) as raw:
                raw.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
                answer = raw.recv(4096)
            assert answer.startswith(b"HTTP/1.1 301") and f"Location: {location}\r\n".encode() in answer, answer
        # and the HTTPS server still answers
        connection = http.client.HTTPSConnection("127.0.0.1", studio.port, timeout=10, context=UNVERIFIED)
        connection.request("GET", "/")
        assert connection.getresponse().status == 200
        connection.close()


def test_the_key_and_the_codes_are_for_this_user_only_from_the_first_byte(tmp_path, monkeypatch):
    """The TLS key and classroom.json (the teacher's code, the cookies' secret) are mode 0600 when the first
    byte is written, not made private after the rename (another user of the computer could read them
    meanwhile, or for ever when the chmod failed); files kept from before are made private too."""
    import pac.studio.layout as layout

    if os.name != "posix":
        return  # Windows has no such modes; the folder's ACL decides
    seen = {}

    def spy(path, mode="r", *args, **kwargs):
        seen[os.path.basename(path).split(".")[1]] = os.stat(path).st_mode & 0o777
        return open(path, mode, *args, **kwargs)

    monkeypatch.setattr(layout, "open", spy, raising=False)
    umask = os.umask(0o022)
    try:
        folder = tmp_path / "class"
        with ClassroomStudio(folder, host="127.0.0.1", port=0, warm=False):
            pass
        assert seen["key"] == 0o600 and seen["classroom"] == 0o600 and seen["cert"] == 0o644, seen
        for path in (folder / "tls" / "key.pem", folder / "classroom.json"):
            assert path.stat().st_mode & 0o777 == 0o600
            path.chmod(0o644)  # as made by the first version of the classroom
        with ClassroomStudio(folder, host="127.0.0.1", port=0, warm=False) as again:
            assert not again.new_certificate
        for path in (folder / "tls" / "key.pem", folder / "classroom.json"):
            assert path.stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(umask)


def test_teacher_page_needs_the_teachers_code(classroom):
    student, teacher = Browserless(classroom), Browserless(classroom)
    student.join(classroom, "Ada")
    student.post("/s/Ada/api/labels", {"name": "clap"})
    student.post("/s/Ada/api/labels", {"name": "snap"})
    for i in range(3):
        student.post("/s/Ada/api/labels/clap/clips", fsdd(1, "george", i).read_bytes())
    for who in (student, teacher):
        status, page = who.get("/teacher")
        assert status == 401 and b"Teacher's code" in page and b"Ada" not in page
        assert who.get("/teacher/overview")[0] == 401
    status, page = teacher.teacher_form(classroom.classroom.class_code)  # the class code is not it
    assert status == 401 and b"not the teacher's code" in page and b'method="post"' in page
    assert teacher.last.getheader("Referrer-Policy") == "same-origin"  # else the form's Origin is "null"
    assert teacher.teacher_form(classroom.classroom.teacher_code.upper())[0] == 303
    assert teacher.last.getheader("Location") == "/teacher"
    status, page = teacher.get("/teacher")
    assert status == 200 and teacher.last.getheader("Refresh") == "10"
    assert b'data-student="Ada"' in page and b"clap</span>" not in page and b"clap: 3" in page and b"snap: 0" in page
    assert classroom.url.encode() in page and classroom.classroom.class_code.encode() in page
    assert b"data:image/svg+xml" in page  # the address as a QR code
    status, overview = teacher.get("/teacher/overview")
    assert status == 200 and overview["queue"] == 0
    (ada,) = overview["students"]
    assert ada["student"] == "Ada" and ada["labels"] == [{"name": "clap", "clips": 3}, {"name": "snap", "clips": 0}]
    assert ada["models"] == [] and ada["training"] is None and ada["problems"]
    # the students' codes to continue are on the teacher's page (a student who forgot theirs asks)
    assert ada["code"] == student.code and f'<td class="code">{student.code}</td>'.encode() in page
    # the teacher may open a student's studio (to help); the student still may not open the overview
    assert teacher.get("/s/Ada/api/project")[0] == 200
    assert student.get("/teacher/overview")[0] == 401
    for path in ("/teacher", "/teacher/overview", "/", "/welcome"):  # nobody else's page shows Ada's code
        status, answer = Browserless(classroom).get(path)
        assert student.code.encode() not in (answer if isinstance(answer, bytes) else json.dumps(answer).encode())


def test_the_teachers_cookie_expires(classroom):
    """The teacher's cookie opens every student's studio, so one left in a student's browser (the teacher
    helped there) must stop working: it carries when it was made, signed, and is good for
    TEACHER_SECONDS (the browser is told the same); it was once one fixed value, good for ever."""
    from pac.studio.classroom import TEACHER_SECONDS

    teacher = Browserless(classroom)
    Browserless(classroom).join(classroom, "Ada")
    assert teacher.teacher_form(classroom.classroom.teacher_code)[0] == 303
    assert f"Max-Age={TEACHER_SECONDS};" in teacher.last.getheader("Set-Cookie")
    assert teacher.get("/teacher/overview")[0] == 200 and teacher.get("/s/Ada/api/project")[0] == 200
    issued, signature = teacher.cookies["pac-teacher"].split(".")
    now = time.time()
    for value in (
        classroom.classroom.teacher_cookie(now=now - TEACHER_SECONDS - 5),  # too old
        classroom.classroom.teacher_cookie(now=now + 3600),  # from the future
        f"{int(issued) + 1}.{signature}",  # another date, the same signature
        signature,
        "",
    ):
        stale = Browserless(classroom)
        stale.cookies = {"pac-teacher": value}
        assert stale.get("/teacher/overview")[0] == 401, value
        assert stale.get("/s/Ada/api/project")[0] == 403, value


def hold_training(monkeypatch) -> tuple[threading.Event, list]:
    """Training that only records which student's project started it and waits for ``release``
    (set it to let each run end "done"): the queue is what is tested, not training."""
    import pac.studio.jobs as jobs

    release, started = threading.Event(), []

    def held_training(self, job, options):
        started.append(self.store.root.name)
        release.wait(30)
        job.stage = "done"
        job.finish("done")

    monkeypatch.setattr(jobs.Jobs, "_train_now", held_training)
    return release, started


def test_one_training_at_a_time_across_the_class(classroom, monkeypatch):
    """Two students press Train: the second waits in the queue (state running, queued, its position in
    the stage text the page shows), can cancel there, and trains when the first is done.  The training
    itself is held by an event here (the queue is what is tested; real training is in test_studio)."""
    release, started = hold_training(monkeypatch)
    students = {}
    for name in ("Ann", "Ben", "Cy"):
        students[name] = Browserless(classroom)
        students[name].join(classroom, name)
        for label, digit in (("one", 1), ("two", 2)):
            assert students[name].post(f"/s/{name}/api/labels", {"name": label})[0] == 201
            for i in range(2):
                assert (
                    students[name].post(f"/s/{name}/api/labels/{label}/clips", fsdd(digit, "george", i).read_bytes())[0]
                    == 201
                )
    assert students["Ann"].post("/s/Ann/api/train", {})[0] == 202
    deadline = time.time() + 10
    while started != ["Ann"] and time.time() < deadline:
        time.sleep(0.02)
    status, ben = students["Ben"].post("/s/Ben/api/train", {})
    assert status == 202
    status, cy = students["Cy"].post("/s/Cy/api/train", {})
    time.sleep(0.3)
    ben, cy = students["Ben"].get("/s/Ben/api/train")[1], students["Cy"].get("/s/Cy/api/train")[1]
    assert ben["state"] == "running" and ben["queued"] and ben["position"] == 1, ben
    assert "number 1 in the queue" in ben["stage"] and cy["position"] == 2 and "number 2" in cy["stage"]
    assert students["Ben"].get("/s/Ben/api/project")[1]["training"]["position"] == 1
    # a second press while queued is refused; cancelling in the queue moves the next one up
    assert students["Ben"].post("/s/Ben/api/train", {})[0] == 409
    assert students["Ben"].post("/s/Ben/api/train/cancel")[1]["state"] in ("running", "cancelled")
    deadline = time.time() + 5
    while students["Cy"].get("/s/Cy/api/train")[1]["position"] != 1 and time.time() < deadline:
        time.sleep(0.05)
    assert students["Ben"].get("/s/Ben/api/train")[1]["state"] == "cancelled"
    assert students["Cy"].get("/s/Cy/api/train")[1]["position"] == 1
    teacher = Browserless(classroom)
    teacher.teacher_form(classroom.classroom.teacher_code)
    assert teacher.get("/teacher/overview")[1]["queue"] == 1
    release.set()
    deadline = time.time() + 10
    while students["Cy"].get("/s/Cy/api/train")[1]["state"] == "running" and time.time() < deadline:
        time.sleep(0.05)
    assert started == ["Ann", "Cy"]
    assert students["Ann"].get("/s/Ann/api/train")[1]["state"] == "done"
    assert students["Cy"].get("/s/Cy/api/train")[1]["state"] == "done"


def test_a_student_cannot_name_a_folder_of_the_teachers_computer_as_noise(classroom, monkeypatch):
    """Training's noise folder is read on the computer running the studio: in a classroom that is the
    teacher's, so a student could have it read any folder (another student's clips, the whole disk)
    or learn which folders exist.  Refused the same way for any folder, and nothing starts."""
    import pac.studio.jobs as jobs

    started = []
    monkeypatch.setattr(jobs.Jobs, "_train_now", lambda self, job, options: started.append(job))
    eve, bob = Browserless(classroom), Browserless(classroom)
    eve.join(classroom, "Eve")
    bob.join(classroom, "Bob")
    for label, digit in (("one", 1), ("two", 2)):
        assert eve.post("/s/Eve/api/labels", {"name": label})[0] == 201
        for i in range(2):
            assert eve.post(f"/s/Eve/api/labels/{label}/clips", fsdd(digit, "george", i).read_bytes())[0] == 201
    students = classroom.classroom.root / "students"
    for folder in (students / "Bob", students / "nobody", "/"):
        status, answer = eve.post("/s/Eve/api/train", {"noise": "folder", "noise_folder": str(folder)})
        assert status == 403 and "classroom" in answer["error"] and str(folder) not in answer["error"], answer
    time.sleep(0.2)
    assert started == [] and eve.get("/s/Eve/api/train")[1] is None
    # the other noise choices still train
    assert eve.post("/s/Eve/api/train", {"noise": "generated"})[0] == 202


def test_a_project_folder_is_not_a_classroom_and_back(tmp_path):
    from pac.studio.server import Studio

    with Studio(tmp_path / "project", port=0, warm=False) as local:  # its page is told where the project is
        connection = http.client.HTTPConnection("127.0.0.1", local.port, timeout=10)
        connection.request("GET", "/api/project")
        assert json.loads(connection.getresponse().read())["path"] == str((tmp_path / "project").resolve())
        connection.close()
    with pytest.raises(PacError, match="is one studio project, not a classroom folder"):
        ClassroomStudio(tmp_path / "project", host="127.0.0.1", port=0, warm=False)
    with ClassroomStudio(tmp_path / "class", host="127.0.0.1", port=0, warm=False):
        with pytest.raises(PacError, match="another pac studio has this project open"):
            ClassroomStudio(tmp_path / "class", host="127.0.0.1", port=0, warm=False)
    with pytest.raises(PacError, match="is a classroom folder"):
        Studio(tmp_path / "class", port=0, warm=False)
    for host in ("nonsense.invalid", "999.1.1.1"):  # one line, no traceback, nothing half made
        with pytest.raises(PacError, match=f"cannot listen on {host}:0 .*check --host"):
            ClassroomStudio(tmp_path / "class", host=host, port=0, warm=False)
    assert (tmp_path / "class" / ".studio.lock").read_text() == ""


def test_qr_code_lines_draw_the_code_segno_makes():
    import segno

    text = "https://192.168.1.23:8765/"
    matrix = [[bool(m) for m in row] for row in segno.make(text, error="m").matrix_iter(border=2)]
    lines = qr_lines(text)
    assert len(lines) == (len(matrix) + 1) // 2 and {len(line) for line in lines} == {len(matrix[0])}
    shapes = {"█": (False, False), "▀": (False, True), "▄": (True, False), " ": (True, True)}
    drawn = [[shapes[ch][half] for ch in line] for line in lines for half in (0, 1)][: len(matrix)]
    assert drawn == matrix
    ascii_lines = qr_lines(text, encoding="ascii")
    assert [[ch == " " for ch in line[::2]] for line in ascii_lines] == matrix
    colored = qr_lines(text, color=True)
    assert colored[0].startswith("\x1b[97;40m") and colored[0].endswith("\x1b[0m")


def test_cli_classroom_prints_address_codes_fingerprint_and_qr(tmp_path):
    """``pac studio --classroom``: the students' address (https), the class and teacher codes, the
    certificate's fingerprint, the QR code; serves HTTPS; Ctrl-C stops it."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pac.cli",
            "studio",
            "--classroom",
            str(tmp_path / "class"),
            "--no-browser",
            "--port",
            "0",
            "--speech-base",
            str(tmp_path / "none"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        encoding="utf-8",
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        printed = []
        deadline = time.time() + 90
        while time.time() < deadline and not any(line.startswith("Ctrl-C") for line in printed):
            line = process.stdout.readline()
            if not line:
                break
            printed.append(line.rstrip("\n"))
        text = "\n".join(printed)
        assert "Ctrl-C stops the classroom" in text, (text, process.stderr.read() if process.poll() else "")
        url = next(line.split()[2] for line in printed if line.startswith("students open"))
        assert url.startswith("https://") and url.endswith("/")
        code = next(line.split()[2] for line in printed if line.startswith("class code"))
        settings = json.loads((tmp_path / "class" / "classroom.json").read_text())
        assert code == settings["class_code"] and settings["teacher_code"] in text
        assert "fingerprint" in text and sum(1 for line in printed if "█" in line) >= 10
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=UNVERIFIED)
        connection.request("GET", "/")
        assert b"join the class" in connection.getresponse().read()
        connection.close()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0 and "stopping pac studio" in err, (out, err)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=20)


# -- two students' browsers at once, over HTTPS, with microphones --------------------------------------------


@pytest.mark.slow
def test_browser_two_students_record_over_https_into_their_own_projects(tmp_path):
    """Two headless Chromiums join the class at this computer's LAN address (not localhost, so the
    microphone needs the HTTPS page), as students who joined elsewhere first (with their codes); each
    records with its fake microphone into its own project, and neither page can read or delete the
    other's clips."""
    from pac.studio.tls import lan_address
    from test_studio import mic_file

    address = lan_address()
    with ClassroomStudio(tmp_path / "class", host=address, port=0, warm=False) as studio:
        code = studio.classroom.class_code
        pages = {}
        try:
            for name, digit in (("Alice", 1), ("Bob", 7)):
                studio.classroom.join(name)  # joined first elsewhere; this browser goes on with the code
                pages[name] = JoiningPage(
                    f"{studio.url}?name={name}",
                    {"code": code, "student_code": studio.classroom.student_code(name)},
                    mic_file(tmp_path, fsdd(digit, "george", 0)),
                    tmp_path / name,
                    flags=("--ignore-certificate-errors",),
                )
            seen = {}
            for name, label in (("Alice", "one"), ("Bob", "seven")):
                page = pages[name]
                assert page.driver.current_url == f"{studio.url}s/{name}/"
                page.select("#clip-seconds", "1")
                page.select("#count-in", "0")
                page.add_label(label)
                page.record(label)
                page.record(label)
            for name, page in pages.items():
                seen[name] = page.js("""return {secure: window.isSecureContext, origin: location.origin,
                    labels: Array.from(document.querySelectorAll('.label-card')).map((c) => c.dataset.label),
                    recorded: document.querySelectorAll('.clip.recorded').length};""")
                page.screenshot(f"classroom-{name}")
            alice_clip = next((tmp_path / "class" / "students" / "Alice" / "labels" / "one").glob("rec-*.wav")).name
            # Bob's page asks the server for Alice's project and clip, and to delete it
            tried = pages["Bob"].driver.execute_async_script(
                """const done = arguments[arguments.length - 1];
                const h = {'X-Pac-Studio': '1'};
                Promise.all([fetch('/s/Alice/api/project'),
                             fetch(`/s/Alice/api/labels/one/clips/${arguments[0]}/audio`),
                             fetch(`/s/Alice/api/labels/one/clips/${arguments[0]}`, {method: 'DELETE', headers: h}),
                             fetch(`/s/Bob/..%2FAlice/api/project`), fetch('/teacher/overview')])
                  .then((answers) => done(answers.map((a) => a.status)), (e) => done(String(e)));""",
                alice_clip,
            )
            errors = {name: page.messages("error") for name, page in pages.items()}
        finally:
            for page in pages.values():
                page.close()
    for name, label in (("Alice", "one"), ("Bob", "seven")):
        assert seen[name]["secure"] and seen[name]["origin"] == studio.url.rstrip("/"), seen
        assert seen[name]["labels"] == [label] and seen[name]["recorded"] == 2, seen
        clips = list((tmp_path / "class" / "students" / name / "labels" / label).glob("rec-*.wav"))
        assert len(clips) == 2, clips
    assert sorted(p.name for p in (tmp_path / "class" / "students").iterdir()) == ["Alice", "Bob"]
    assert tried == [403, 403, 403, 404, 401], tried
    assert (tmp_path / "class" / "students" / "Alice" / "labels" / "one" / alice_clip).is_file()
    assert errors == {"Alice": [], "Bob": []}
