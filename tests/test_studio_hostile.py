"""``pac studio`` against hostile requests: malformed JSON bodies, fields of the wrong type, odd
``Content-Length`` values and clients that stop sending get a 4xx with a JSON error (or, for a client
that went silent, a closed connection), never a 500 or a hung thread, and the project stays as it was.
"""

from __future__ import annotations

import socket

import pytest

from conftest import fsdd
from pac.limits import LIMITS
from pac.studio.server import StudioHandler
from test_studio import Client, snapshot, studio  # noqa: F401 - studio: the running-studio fixture

#: Bodies that are not a usable JSON object, and what the error must say.
BAD_BODIES = {
    "nested 5000 deep": (b"[" * 5000 + b"]" * 5000, "nested"),
    "nested object": (b'{"name": ' + b'{"a": ' * 2000 + b"1" + b"}" * 2000 + b"}", "nested"),
    "a list": (b'["one"]', "JSON object"),
    "null": (b"null", "JSON object"),
    "a number": (b"42", "JSON object"),
    "a string": (b'"one"', "JSON object"),
    "not UTF-8": (b'{"name": "\xff\xfe"}', "UTF-8"),
    "NaN": (b'{"name": NaN}', "NaN"),
    "Infinity": (b'{"seed": Infinity}', "Infinity"),
    "truncated": (b'{"name": "on', "not valid JSON"),
    "not JSON": (b"name=one", "not valid JSON"),
}

#: Every route that reads a JSON body, with the field it reads as text.
JSON_ROUTES = {
    "/api/labels": "name",
    "/api/labels/one/rename": "name",
    "/api/settings": "profile",
    "/api/train": "head",
    "/api/models/m-nothere/tests/t-nothere": "expected",
}


@pytest.fixture
def client(studio):
    client = Client(studio)
    assert client.post("/api/labels", {"name": "one"})[0] == 201
    return client


def raw_exchange(port: int, request: bytes, *, timeout: float = 20) -> bytes:
    """Send raw bytes, close the sending half, and read the whole answer (b"" if the server just closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(request)
        connection.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def test_malformed_json_bodies_get_a_400_on_every_json_route(studio, client):
    """Deep nesting gave a 500 (RecursionError) before; every bad body now gets a readable 400."""
    before = snapshot(studio.store.root)
    for route in JSON_ROUTES:
        for case, (body, says) in BAD_BODIES.items():
            status, answer = client.post(route, body, headers={"Content-Type": "application/json"})
            assert status == 400, (route, case, answer)
            assert says in answer["error"] and "Traceback" not in answer["error"], (route, case, answer)
    assert snapshot(studio.store.root) == before
    assert client.get("/api/train")[1] is None


@pytest.mark.parametrize(
    "value, kind", [([1], "a list"), ({"a": 1}, "an object"), (7, "a number"), (True, "true/false")]
)
def test_fields_of_the_wrong_type_get_a_400(studio, client, value, kind):
    """A list or object where text is expected gave a 500 (unhashable type) in /api/settings before."""
    before = snapshot(studio.store.root)
    for route, field in JSON_ROUTES.items():
        status, answer = client.post(route, {field: value})
        assert status == 400, (route, answer)
        assert repr(field) in answer["error"] and kind in answer["error"], (route, answer)
    assert snapshot(studio.store.root) == before


def ready_to_train(client) -> None:
    assert client.post("/api/labels", {"name": "two"})[0] == 201
    for label, digit in (("one", 1), ("two", 2)):
        for i in range(2):
            assert client.upload(label, fsdd(digit, "jackson", 10 + i).read_bytes(), f"{digit}_{i}.wav")[0] == 201


@pytest.mark.parametrize(
    "options, says",
    [
        ({"seed": True}, "'seed' must be"),  # was taken as seed 1
        ({"l2": [0.1]}, "'l2' must be"),
        ({"epochs": {"n": 5}, "head": "conv"}, "'epochs' must be"),
        ({"noise": "folder", "noise_folder": "~no-such-user-of-pac/noise"}, "no such folder"),  # was a 500
        ({"noise": "folder", "noise_folder": "\ud800"}, "'noise_folder' is not valid Unicode"),
        ({"bases": 3}, "'bases' must be"),
    ],
)
def test_training_options_of_the_wrong_type_start_nothing(studio, client, options, says):
    ready_to_train(client)
    status, answer = client.post("/api/train", options)
    assert status == 400 and says in answer["error"], answer
    assert client.get("/api/train")[1] is None


@pytest.mark.parametrize("length", ["-1", "+12", " 1_2", "0x0c", "12.0", "9" * 5000, "١٢"])
def test_content_lengths_that_are_not_plain_digits_are_refused_before_reading(studio, client, length):
    body = b'{"name": "x"}'
    request = (
        f"POST /api/labels HTTP/1.1\r\nHost: 127.0.0.1:{studio.port}\r\nX-Pac-Studio: 1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    ).encode() + body
    answer = raw_exchange(studio.port, request)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b"Content-Length" in answer.split(b"\r\n\r\n", 1)[1]
    assert [label["name"] for label in client.project()["labels"]] == ["one"]


def test_a_large_json_body_is_refused_from_its_length_with_a_readable_size(studio, client):
    status, answer = client.post(
        "/api/labels", b" " * (LIMITS.request_json_max_bytes + 1), headers={"Content-Type": "application/json"}
    )
    assert status == 413 and "65.5 KB" in answer["error"], answer  # said "at most 0 MB" before


def test_a_body_that_stops_arriving_frees_the_connection(studio, client, monkeypatch, capfd):
    """A client that promises 100 bytes and sends 10 held a server thread for ever before (no timeout);
    now the connection is dropped after ``StudioHandler.timeout`` seconds (1 s here), without a 500."""
    assert 0 < StudioHandler.timeout <= 300
    monkeypatch.setattr(StudioHandler, "timeout", 1)
    request = (
        f"POST /api/labels HTTP/1.1\r\nHost: 127.0.0.1:{studio.port}\r\nX-Pac-Studio: 1\r\n"
        f"Content-Length: 100\r\n\r\n" + '{"name": "'
    ).encode("ascii")
    with socket.create_connection(("127.0.0.1", studio.port), timeout=30) as connection:
        connection.sendall(request)
        assert connection.recv(65536) == b""  # closed by the server, without an answer nobody reads
    assert client.project()["labels"][0]["name"] == "one"
    assert "Traceback" not in capfd.readouterr().err


def test_a_chunked_body_on_a_get_does_not_leak_into_the_next_request(studio, client):
    """The body of a chunked GET was read as the next request on the same connection before."""
    smuggled = f"GET /api/project HTTP/1.1\r\nHost: 127.0.0.1:{studio.port}\r\n\r\n"
    request = (
        f"GET /api/project HTTP/1.1\r\nHost: 127.0.0.1:{studio.port}\r\nTransfer-Encoding: chunked\r\n\r\n" + smuggled
    ).encode("ascii")
    answer = raw_exchange(studio.port, request)
    assert answer.startswith(b"HTTP/1.1 200") and answer.count(b"HTTP/1.1 ") == 1, answer[:300]


def test_the_page_gets_the_limits_it_checks_uploads_against(client):
    limits = client.project()["limits"]
    assert limits["max_clip_bytes"] == LIMITS.upload_max_bytes
    assert limits["max_label_chars"] == LIMITS.label_max_chars
    assert limits["max_request_bytes"] == LIMITS.request_json_max_bytes and limits["min_clips"] >= 1
    status, answer = client.post("/api/labels", {"name": "x" * (LIMITS.label_max_chars + 1)})
    assert status == 400 and str(LIMITS.label_max_chars) in answer["error"]


def test_lone_surrogates_in_text_fields_are_refused(studio, client):
    """JSON may spell a lone surrogate (``"\\ud800"``); such text can name no file and be sent back in no
    UTF-8 message, so it is refused as the request's problem."""
    for route, field in JSON_ROUTES.items():
        status, answer = client.post(route, {field: "a\ud800"})
        assert status == 400 and "not valid Unicode" in answer["error"], (route, answer)


@pytest.mark.parametrize("method", ["PROPFIND", "BREW", "get", "M-SEARCH"])
def test_unknown_methods_get_a_405_like_the_known_ones(studio, client, method):
    """http.server answers a method it has no ``do_`` function for with 501 (a 5xx) before."""
    request = f"{method} /api/labels HTTP/1.1\r\nHost: 127.0.0.1:{studio.port}\r\nContent-Length: 0\r\n\r\n"
    answer = raw_exchange(studio.port, request.encode("ascii"))
    assert answer.startswith(b"HTTP/1.1 405") and b"Allow: GET, HEAD, POST, DELETE" in answer, answer[:300]


def test_a_hand_edited_studio_json_is_one_clear_error_or_the_default_profile(tmp_path):
    """A deeply nested studio.json was a RecursionError traceback, a list as profile a TypeError."""
    from pac.errors import PacError
    from pac.studio.store import ProjectStore

    project = tmp_path / "p"
    ProjectStore(project)
    settings = project / "studio.json"
    settings.write_text('{"format": "pac-studio-project", "x": ' + "[" * 100000 + "]" * 100000 + "}")
    with pytest.raises(PacError, match="unreadable studio settings.*nested") as info:
        ProjectStore(project)
    assert "\n" not in str(info.value)
    settings.write_text('{"format": "pac-studio-project", "profile": ["paper"]}')
    assert ProjectStore(project).profile == "default"


# -- project files (POST /api/project/import) -----------------------------------------------------------


def project_zip(entries: dict[str, bytes], *, settings: bool = True, top: str = "p/") -> bytes:
    """A project file with ``entries`` (names under ``top``) and, unless told, a valid studio.json."""
    import io
    import json
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if settings:
            archive.writestr(f"{top}studio.json", json.dumps({"format": "pac-studio-project", "profile": "default"}))
        for name, data in entries.items():  # "!name": the name as it is, not under ``top``
            archive.writestr(name[1:] if name.startswith("!") else top + name, data)
    return buffer.getvalue()


def hostile_project_files() -> dict[str, tuple[bytes, str]]:
    """``{case: (body, what the 400 says)}``."""
    import io
    import zipfile

    wav = fsdd(1, "george", 0).read_bytes()
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("p/studio.json", '{"format": "pac-studio-project"}')
        archive.writestr("p/labels/one/big.wav", b"\0" * (8 << 20))  # 8 MB of zeros: about 8 KB compressed
    many = io.BytesIO()
    with zipfile.ZipFile(many, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("p/studio.json", '{"format": "pac-studio-project"}')
        for i in range(5001):
            archive.writestr(f"p/labels/one/{i}.wav", b"")
    return {
        "not a zip": (b"this is not a zip file at all", "not a zip file"),
        "empty": (b"", "empty"),
        "truncated zip": (project_zip({"labels/one/a.wav": wav})[:-30], "not a zip file"),
        "parent path": (project_zip({"!p/../evil.wav": wav}), "unsafe entry name"),
        "parent in label": (project_zip({"labels/../../evil.wav": wav}), "unsafe entry name"),
        "absolute path": (project_zip({"!/etc/evil.wav": wav}), "unsafe entry name"),
        "backslashes": (project_zip({"labels\\one\\a.wav": wav}), "unsafe entry name"),
        "drive letter": (project_zip({"!C:/evil.wav": wav}), "unsafe entry name"),
        "outside the folder": (project_zip({"!other/labels/one/a.wav": wav}), "outside the project's folder"),
        "a dot in a label": (project_zip({"labels/a.b/a.wav": wav}), "cannot contain '.'"),
        "a reserved label": (project_zip({"labels/CON/a.wav": wav}), "reserved"),
        "not a wav": (project_zip({"labels/one/a.wav": b"RIFF....not a wave"}), "a.wav"),
        "unknown entry": (project_zip({"run-me.sh": b"#!/bin/sh"}), "unexpected entry"),
        "deeper entry": (project_zip({"labels/one/x/a.wav": wav}), "unexpected entry"),
        "no settings": (project_zip({"labels/one/a.wav": wav}, settings=False), "studio.json missing"),
        "settings a list": (project_zip({"!p/studio.json": b"[]"}, settings=False), "not a pac studio project's"),
        "two settings": (project_zip({"!q/studio.json": b"{}"}), "studio.json missing"),
        "nested settings": (project_zip({"!a/b/c/studio.json": b"{}"}, settings=False), "studio.json missing"),
        "other settings": (
            project_zip({"!studio.json": b'{"format": "pac-other"}'}, settings=False),
            "not a pac studio project's settings",
        ),
        "settings not JSON": (project_zip({"!studio.json": b'{"format": '}, settings=False), "studio.json"),
        "a broken model": (
            project_zip({"models/m-20261202-101010/pac.json": b"{}", "models/m-20261202-101010/model.json": b"{}"}),
            "model m-20261202-101010",
        ),
        "a model file of another kind": (project_zip({"models/m-20261202-101010/run.exe": b"MZ"}), "unexpected entry"),
        "zip bomb": (bomb.getvalue(), "a zip bomb?"),
        "a clip too large": (project_zip({"labels/one/big.wav": b"\0" * (11 << 20)}), "is too large"),
        "too many entries": (many.getvalue(), "5,002 entries (at most 5,000)"),
    }


def test_hostile_project_files_are_refused_whole(studio, client):
    """Every hostile or broken project file gets one 400 line naming the problem; the project is as it
    was and nothing is left behind (no file outside the project, no staging folder)."""
    before = snapshot(studio.store.root)
    outside = sorted(studio.store.root.parent.iterdir())
    for case, (body, says) in hostile_project_files().items():
        status, answer = client.post("/api/project/import", body, headers={"Content-Type": "application/zip"})
        assert status == 400, (case, status, answer)
        assert says in answer["error"] and "\n" not in answer["error"] and "Traceback" not in answer["error"], (
            case,
            answer,
        )
        assert answer["error"].startswith("the project file"), (case, answer)
    assert snapshot(studio.store.root) == before
    assert sorted(studio.store.root.parent.iterdir()) == outside
    assert not list((studio.store.root / ".trash").glob("*")) if (studio.store.root / ".trash").exists() else True


def test_a_project_file_over_the_limit_is_refused_from_its_length(studio, client):
    from pac.studio.transfer import IMPORT_MAX_BYTES

    request = (
        f"POST /api/project/import HTTP/1.1\r\nHost: 127.0.0.1:{studio.port}\r\nX-Pac-Studio: 1\r\n"
        f"Content-Length: {IMPORT_MAX_BYTES + 1}\r\n\r\n"
    ).encode("ascii") + b"PK"
    answer = raw_exchange(studio.port, request)
    assert answer.startswith(b"HTTP/1.1 413") and b"the project file is too large" in answer, answer[:300]
    assert client.project()["limits"]["max_import_bytes"] == IMPORT_MAX_BYTES
    # and it needs the page's header, like every change
    status, answer = client.post("/api/project/import", project_zip({}), page=False)
    assert status == 403


def test_a_project_file_with_decomposed_label_names_imports_as_the_studio_names_them(studio, client):
    """A zip tool may write "été" decomposed (e + U+0301); the label is the composed name, once."""
    import unicodedata

    wav, other = fsdd(1, "george", 0).read_bytes(), fsdd(1, "george", 1).read_bytes()
    decomposed = unicodedata.normalize("NFD", "été")
    body = project_zip({f"labels/{decomposed}/a.wav": wav, "labels/été/b.wav": other})
    status, answer = client.post("/api/project/import", body)
    assert status == 200 and answer["clips"] == 2, answer
    assert [label["name"] for label in client.project()["labels"]] == ["one", "été"]
