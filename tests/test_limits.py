"""The limits table (pac.limits), the JSON guard (pac.jsonsafe) and the bounded file reader
(pac.fsutil.read_limited): declared once, documented in the README, enforced before the work."""

from __future__ import annotations

import json
import os
import re
import socket
import threading
from pathlib import Path

import pytest

from pac import jsonsafe
from pac.errors import PacError
from pac.features.config import FeatureConfig
from pac.fsutil import read_limited
from pac.limits import CONFIG_BOUNDS, LIMITS, table

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_limits_table_is_the_declared_one():
    text = README.read_text(encoding="utf-8")
    section = text.split("\n### Limits\n", 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^\| (.+?) \| (.+?) \|$", section, flags=re.M)
    assert rows[0] == ("What", "Limit")
    assert rows[1:] == table()


def test_every_bounded_config_field_exists_and_defaults_are_inside():
    defaults = FeatureConfig().to_dict()
    for name, (low, high) in CONFIG_BOUNDS.items():
        assert name in defaults, name
        value = defaults[name]
        assert value is None or low <= value <= high, (name, value)


def test_limits_reach_json_unchanged():
    assert json.loads(json.dumps(LIMITS.to_dict())) == LIMITS.to_dict()


# -- jsonsafe ---------------------------------------------------------------------------------------


def test_depth_ignores_brackets_inside_strings():
    assert jsonsafe.nesting_depth(b'{"a": "[[[[{{{{\\"[[", "b": [1, [2]]}') == 3
    assert jsonsafe.nesting_depth("7") == 0


def test_deep_nesting_is_one_line_error_not_recursion():
    deep = "[" * 200000 + "]" * 200000
    with pytest.raises(PacError, match=r"^conf.json: JSON nested 200000 levels deep, more than the limit of 32$"):
        jsonsafe.loads(deep, source="conf.json")
    ok = "[" * LIMITS.json_max_depth + "]" * LIMITS.json_max_depth
    assert jsonsafe.loads(ok, source="x") is not None


@pytest.mark.parametrize(
    "text, problem",
    [
        ('{"a": NaN}', "NaN is not valid JSON"),
        ('{"a": -Infinity}', "-Infinity is not valid JSON"),
        ('{"a": ', "not valid JSON"),
    ],
)
def test_not_json_is_refused(text, problem):
    with pytest.raises(PacError, match=re.escape(problem)):
        jsonsafe.loads(text, source="x")


def test_not_utf8_and_too_big_are_refused():
    with pytest.raises(PacError, match=r"^x: is not UTF-8 text \(bad byte at offset 7\)$"):
        jsonsafe.loads(b'{"a": "\xff"}', source="x")
    with pytest.raises(PacError, match="more than the 10-byte limit"):
        jsonsafe.loads(b'{"a": "0123456789"}', source="x", max_bytes=10)
    assert jsonsafe.loads(b'\xef\xbb\xbf{"a": [1]}', source="x") == {"a": [1]}


# -- read_limited -----------------------------------------------------------------------------------


def test_reads_a_regular_file(tmp_path):
    path = tmp_path / "a.wav"
    path.write_bytes(b"x" * 100)
    assert read_limited(path, max_bytes=100) == b"x" * 100


def test_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "x.wav"
    os.mkfifo(fifo)
    result = {}

    def attempt():
        try:
            read_limited(fifo, max_bytes=100, what="WAV file")
        except PacError as exc:
            result["error"] = str(exc)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(20)
    if worker.is_alive():  # unblock the reader so the test run can end, then fail
        with open(fifo, "wb"):
            pass
        pytest.fail("read_limited waited for a writer on a FIFO")
    assert result["error"] == f"{fifo}: is not a regular file (a FIFO/pipe); pac reads only files"


def test_devices_sockets_and_folders_are_refused(tmp_path):
    with pytest.raises(PacError, match=r"^/dev/zero: is not a regular file \(a character device\)"):
        read_limited("/dev/zero", max_bytes=1 << 20)
    with pytest.raises(PacError, match="is a folder, not a model file"):
        read_limited(tmp_path, max_bytes=10, what="model file")
    sock_path = tmp_path / "s.wav"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(sock_path))
        with pytest.raises(PacError, match="cannot be read|a socket"):
            read_limited(sock_path, max_bytes=10)
    finally:
        server.close()
    with pytest.raises(PacError, match="does not exist"):
        read_limited(tmp_path / "missing.wav", max_bytes=10)


def test_a_huge_sparse_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "big.wav"
    with open(path, "wb") as handle:
        handle.truncate(8 << 30)  # 8 GiB of holes: reading it would take minutes and all memory
    with pytest.raises(PacError, match=r"is 8,589,934,592 bytes, larger than the 33,554,432-byte limit for a WAV file"):
        read_limited(path, max_bytes=LIMITS.wav_max_bytes, what="WAV file")
