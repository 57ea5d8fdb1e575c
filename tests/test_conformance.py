"""Shared conformance cases (tests/fixtures/conformance/*.json) run against Python and the classifier page.

Each fixture file is ``{"about": [...], "cases": [{"name", "input", "expect"}, ...]}`` with
``expect`` either ``"ok"`` (or ``{"ok": {...}}`` with details) or ``{"error_contains": text}``;
its ``about`` says what each language runs and where a language has no such rule.  Python runs
every case here; the page gets the fixture file's text as it is and runs the cases itself
(``_PAGE_RUNNER``), except manifests, which the page only checks while starting (one page load per
case); the Java component's rules run in ``ConformanceTest.java`` (JUnit), started by
tests/test_conformance_java.py.
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile

import pytest

import golden
from conftest import BASE_DIR, REPO, SPEECH_DIR
from pac import jsonsafe, runtime
from pac.audio import decode_wav
from pac.browser import Browser
from pac.errors import PacError
from pac.features import PROFILES, FeatureConfig
from pac.mdl import read_mdl
from pac.modeldir import read_manifest

FIXTURES = REPO / "tests" / "fixtures" / "conformance"
ERRORS = {e["name"]: e["code"] for e in runtime.read_bridge()["errors"]}


def cases(kind: str) -> list[dict]:
    """The cases of ``tests/fixtures/conformance/<kind>.json``."""
    return json.loads((FIXTURES / f"{kind}.json").read_text(encoding="utf-8"))["cases"]


def by_name(kind: str):
    """``pytest.mark.parametrize`` over the cases of ``kind``, with their names as ids."""
    found = cases(kind)
    return pytest.mark.parametrize("case", found, ids=[c["name"] for c in found])


def outcome(run) -> tuple[str, object]:
    """``("ok", value)`` or ``("error", message)`` of ``run()`` (a :class:`PacError` is an error)."""
    try:
        return "ok", run()
    except PacError as exc:
        return "error", str(exc)


LANGUAGES = ("python", "js", "java")


def expectation(case: dict, language: str):
    """What ``case`` expects of ``language``: its ``expect``, or ``expect[language]`` where the
    languages' rules differ by design (``{"python": ..., "java": ...}``)."""
    expect = case["expect"]
    if isinstance(expect, dict) and set(expect) <= set(LANGUAGES):
        return expect.get(language)
    return expect


def is_ok(expect) -> bool:
    return expect == "ok" or "ok" in expect


def check(case: dict, result: tuple[str, object], language: str) -> None:
    """Assert that ``result`` (from :func:`outcome`) is what ``case`` expects."""
    expect, (status, value) = expectation(case, language.lower()), result
    where = f"{language}, case {case['name']!r}"
    if is_ok(expect):
        assert status == "ok", f"{where}: refused: {value}"
    else:
        assert status == "error", f"{where}: accepted, expected an error containing {expect['error_contains']!r}"
        assert expect["error_contains"] in value, f"{where}: {value!r} does not contain {expect['error_contains']!r}"


def wav_bytes(case: dict) -> bytes:
    """A WAV case's bytes: its hex (spaces ignored) then ``pad`` zero bytes."""
    return bytes.fromhex("".join(case["input"]["hex"].split())) + bytes(case["input"]["pad"])


# -- Python ------------------------------------------------------------------------------------


def config_input(case: dict):
    """A config case's value: ``input``, or ``input_json`` parsed as pac parses JSON files."""
    if "input_json" in case:
        return jsonsafe.loads(case["input_json"], source="features")
    return case["input"]


@by_name("configs")
def test_python_configs(case):
    check(case, outcome(lambda: FeatureConfig.from_dict(config_input(case), source="features")), "Python")


@by_name("manifests")
def test_python_manifests(case, tmp_path):
    (tmp_path / "pac.json").write_text(json.dumps(case["input"]), encoding="utf-8")
    check(case, outcome(lambda: read_manifest(tmp_path)), "Python")


@by_name("wav")
def test_python_wav(case):
    result = outcome(lambda: decode_wav(wav_bytes(case), name="clip.wav"))
    check(case, result, "Python")
    if result[0] == "ok":
        clip = result[1]
        assert {"rate": clip.rate, "channels": clip.channels, "frames": len(clip.samples)} == case["expect"]["ok"]


def archive_bytes(case: dict) -> bytes:
    """A model archive case's file: its ``bytes_hex``, or its entries zipped in order."""
    spec = case["input"]
    if "bytes_hex" in spec:
        return bytes.fromhex(spec["bytes_hex"])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for entry in spec["entries"]:
            body = entry["text"].encode("utf-8") if "text" in entry else bytes(entry["zeros"])
            archive.writestr(entry["name"], body)
    return buffer.getvalue()


@by_name("mdl")
def test_python_mdl(case, tmp_path):
    path = tmp_path / "m.mdl"
    path.write_bytes(archive_bytes(case))
    check(case, outcome(lambda: read_mdl(path)), "Python")


def test_the_fixtures_are_well_formed():
    """Unique names, a known expectation in every case, both outcomes present in every file."""
    for path in sorted(FIXTURES.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        assert isinstance(data["about"], list) and data["about"], path.name
        names = [c["name"] for c in data["cases"]]
        assert len(set(names)) == len(names), path.name
        kinds = set()
        for c in data["cases"]:
            assert set(c) <= {"name", "input", "input_json", "expect", "sent_as_wav", "known_difference"}, (
                path.name,
                c["name"],
            )
            assert set(c.get("known_difference", {})) <= set(LANGUAGES), (path.name, c["name"])
            for language in LANGUAGES:
                expect = expectation(c, language)
                if expect is None:
                    continue
                assert is_ok(expect) or isinstance(expect.get("error_contains"), str), (path.name, c["name"])
                kinds.add(is_ok(expect))
        assert kinds == {True, False}, path.name


# -- the classifier page -----------------------------------------------------------------------

# In the page: run every case of a fixture file's text with the page's own functions; returns
# [{status: 'ok'|'error', message, kind, value}] in case order.
_PAGE_RUNNER = """
const [text, kind] = arguments;
const R = window.PacRuntime;
const fromHex = (hex, pad) => {
  const clean = hex.replace(/\\s+/g, '');
  const out = new Uint8Array(clean.length / 2 + pad);
  for (let i = 0; i < clean.length / 2; i++) out[i] = parseInt(clean.substr(2 * i, 2), 16);
  return out;
};
const run = {
  configs: (c) => R.features.validateConfig('input_json' in c ? JSON.parse(c.input_json) : c.input, 'features'),
  wav: (c) => {
    const clip = R.wav.decodeWav(fromHex(c.input.hex, c.input.pad), 'clip.wav');
    return {rate: clip.rate, channels: clip.channels, frames: clip.samples.length};
  },
}[kind];
return JSON.parse(text).cases.map((c) => {
  try {
    return {status: 'ok', value: run(c)};
  } catch (e) {
    return {status: 'error', message: String(e && e.message || e), kind: e && e.kind || null};
  }
});
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A page with a conv head (golden ``paper`` model) and one with a linear head on both blocks
    (golden ``default`` model), and a copy of each whose model/pac.json the manifest cases replace."""
    root = tmp_path_factory.mktemp("conformance-pages")
    models = tmp_path_factory.mktemp("conformance-models")
    for page, profile in (("conv", "paper"), ("linear", "default")):
        model = golden.write_model(PROFILES[profile], models / page)
        runtime.write_assets(model, root / page, base_dir=BASE_DIR, speech_dir=SPEECH_DIR)
    return root


@pytest.fixture(scope="module")
def browser(served):
    with Browser(served, timeout=120) as b:
        b.open("conv/classifier.html")
        yield b


def page_results(browser, kind: str) -> list[dict]:
    """Every case of ``kind`` run in the page (the fixture file's text passed in as it is)."""
    browser.open("conv/classifier.html")
    return browser.execute(_PAGE_RUNNER, (FIXTURES / f"{kind}.json").read_text(encoding="utf-8"), kind)


def page_outcome(answer: dict) -> tuple[str, object]:
    return ("ok", answer.get("value")) if answer["status"] == "ok" else ("error", answer["message"])


def judged(case: dict, checks) -> str | None:
    """Run ``checks()`` (assertions about the page's answer to ``case``): the failure's first line,
    or ``None``.  A case with a ``known_difference`` for JS must fail, and passing is the failure
    (the fixture's entry is then out of date)."""
    try:
        checks()
    except AssertionError as exc:
        if "js" in case.get("known_difference", {}):
            print(f"\nknown JS difference, case {case['name']!r}: {case['known_difference']['js']}")
            return None
        return str(exc).splitlines()[0]
    if "js" in case.get("known_difference", {}):
        return f"JS, case {case['name']!r}: agrees now; remove its known_difference from the fixture"
    return None


@pytest.mark.slow
def test_page_configs(browser):
    """Beyond the fixture's words, the page's whole message is Python's (same source name)."""

    def checks(case, answer):
        check(case, page_outcome(answer), "JS")
        python = outcome(lambda: FeatureConfig.from_dict(config_input(case), source="features"))
        if answer["status"] == "error":
            assert answer["message"] == python[1], (
                f"JS, case {case['name']!r}: {answer['message']!r} is not {python[1]!r}"
            )

    failures = [
        judged(case, lambda: checks(case, answer))  # noqa: B023 (judged calls it at once)
        for case, answer in zip(cases("configs"), page_results(browser, "configs"))
    ]
    failures = [f for f in failures if f]
    assert not failures, "\n".join(failures)


@pytest.mark.slow
def test_page_wav(browser):
    """Beyond the fixture: the page's whole message is Python's."""

    def checks(case, answer):
        check(case, page_outcome(answer), "JS")
        if answer["status"] == "ok":
            assert answer["value"] == case["expect"]["ok"], f"JS, case {case['name']!r}: {answer['value']}"
        else:
            assert answer["kind"] == case["expect"]["kind"], f"JS, case {case['name']!r}: kind {answer['kind']}"
            python = outcome(lambda: decode_wav(wav_bytes(case), name="clip.wav"))[1]
            assert answer["message"] == python, f"JS, case {case['name']!r}: {answer['message']!r} is not {python!r}"

    failures = [
        judged(case, lambda: checks(case, answer))  # noqa: B023 (judged calls it at once)
        for case, answer in zip(cases("wav"), page_results(browser, "wav"))
    ]
    failures = [f for f in failures if f]
    assert not failures, "\n".join(failures)


def manifest_page(served, case: dict) -> str:
    """The page a manifest case runs in: the conv page for format 1, the linear one otherwise,
    with the case as its model/pac.json."""
    version = case["input"].get("format_version") if isinstance(case["input"], dict) else None
    source = "conv" if version == 1 else "linear"
    page = served / f"manifest-{source}"
    if not page.exists():
        shutil.copytree(served / source, page)
    (page / "model" / "pac.json").write_text(json.dumps(case["input"]), encoding="utf-8")
    return page.name


@pytest.mark.slow
def test_page_manifests(browser, served):
    """Each case is the page's model/pac.json at start-up: refused with error 2 and pac's words, or
    passed (ready, or a later error that does not name model/pac.json)."""

    def checks(case, call):
        refused = call["method"] == "error" and call["args"][1].startswith("model/pac.json")
        check(case, ("error", call["args"][1]) if refused else ("ok", call), "JS")
        if refused:
            assert call["args"][0] == ERRORS["MODEL_LOAD_FAILED"], f"JS, case {case['name']!r}: {call}"

    failures = []
    for case in cases("manifests"):
        browser.open(f"{manifest_page(served, case)}/classifier.html", wait=False)
        call = browser.wait_call(0, timeout=90)
        assert call is not None, f"case {case['name']!r}: the page said nothing; {browser.console_text()}"
        failures.append(judged(case, lambda: checks(case, call)))  # noqa: B023 (judged calls it at once)
    failures = [f for f in failures if f]
    assert not failures, "\n".join(failures)
