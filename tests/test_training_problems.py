"""Why the studio cannot train yet: one rule, run by the server (Python) and by the page (problems.js)
on the shared cases of tests/fixtures/studio/training_problems.json."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from conftest import REPO
from pac.studio.store import training_problems

FIXTURE = REPO / "tests" / "fixtures" / "studio" / "training_problems.json"
PROBLEMS_JS = REPO / "compiler" / "pac" / "studio" / "static" / "problems.js"
CASES = json.loads(FIXTURE.read_text(encoding="utf-8"))["cases"]


def as_clips(case: dict) -> dict[str, list[dict]]:
    return {name: [{"problem": problem} for problem in problems] for name, problems in case["labels"]}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_python(case):
    assert training_problems(as_clips(case), min_clips=case["min_clips"]) == case["expect"]


def test_the_page_gives_the_same_sentences():
    """Every case through problems.js in Node (the module the Train view imports), compared with the
    cases' expectations, so the two languages cannot drift apart."""
    node = shutil.which("node")
    assert node, "Node.js is not installed; ./setup.sh's npm ci needs it"
    script = """
        import {readFileSync} from 'node:fs';
        const {trainingProblems} = await import(process.argv[1]);
        const cases = JSON.parse(readFileSync(process.argv[2], 'utf8')).cases;
        const out = cases.map((c) => trainingProblems(
          c.labels.map(([name, problems]) => ({name, clips: problems.map((problem) => ({problem}))})), c.min_clips));
        process.stdout.write(JSON.stringify(out));
    """
    done = subprocess.run(
        [node, "--input-type=module", "-e", script, PROBLEMS_JS.as_uri(), str(FIXTURE)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert {c["name"]: g for c, g in zip(CASES, got)} == {c["name"]: c["expect"] for c in CASES}
    assert len(got) == len(CASES) >= 10
