"""Where pac finds everything it reads besides its Python code: the one module that knows.

``pac build`` and ``pac verify`` read, besides the model and the pretrained networks:

* ``bridge.json``: the names and error codes shared by the Java component and the page's JS, and
  the rule that turns URL paths into flat asset names;
* the page template ``templates/classifier.html`` and pac's runtime scripts ``js/*.js``;
* TensorFlow.js, the four files of the two npm packages pinned by ``extension/package.json``;
* the App Inventor component's build outputs (descriptors, ``AndroidRuntime.jar``, ``classes.jar``,
  the palette icon), which do not depend on the model.

They live in one of two places, with the same names (:class:`Resources` hides which):

``checkout``
    pac imported from a git checkout (``compiler/pac/``): the repository's ``extension/`` folder,
    TensorFlow.js from ``extension/node_modules`` (``npm ci``), checked against the pins, and the
    component's outputs that Maven stages in ``extension/target/aix``.  When a Java source, a POM or
    bridge.json is newer than those outputs, :meth:`Resources.component` runs Maven (offline) first,
    as the developers' ``pac build`` always did.
``installed``
    pac installed from a wheel: package data in ``pac/_bundle/``, written when the wheel is built
    (``setup.py`` calls :func:`write_bundle`; ``BUNDLE.json`` lists every file with its sha256 and the
    TensorFlow.js versions).  Nothing is built and nothing is fetched: no Maven, no npm.
    ::

        _bundle/BUNDLE.json                    what is here (the marker of an installed pac)
        _bundle/bridge.json
        _bundle/templates/classifier.html
        _bundle/js/<RUNTIME_SCRIPTS>
        _bundle/tfjs/<file>                    the keys of TFJS_FILES, e.g. tfjs/tf.es2017.min.js
        _bundle/component/<file>               every file Maven staged in extension/target/aix

Every file is copied byte for byte, so a wheel's ``pac build`` writes the very ``.aix`` a checkout's
does.  :func:`current` decides once per process: the bundle when ``pac/_bundle/BUNDLE.json`` exists,
else the checkout.

This module uses the standard library only: ``setup.py`` imports it from the source tree while
building the wheel.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import PacError

PACKAGE_DIR = Path(__file__).resolve().parent
#: The installed layout: package data written when the wheel is built.
BUNDLE_DIR = PACKAGE_DIR / "_bundle"
BUNDLE_MANIFEST = "BUNDLE.json"
#: The repository's ``extension/`` folder, when pac runs from a checkout.
CHECKOUT_EXTENSION_DIR = PACKAGE_DIR.parents[1] / "extension"

BRIDGE = "bridge.json"
TEMPLATES = "templates"
JS = "js"
#: pac's runtime scripts, in ``js/`` (and at ``js/`` in the page's asset folder).
RUNTIME_SCRIPTS = (
    "bridge.js",
    "wav.js",
    "features.js",
    "pac_compat.js",
    "speech.js",
    "base.js",
    "speech_net.js",
    "listen.js",
    "classifier.js",
)
#: The npm pins of TensorFlow.js (checkout: ``extension/package.json``, installed by ``npm ci``).
NPM_PINS = "package.json"
NODE_MODULES = "node_modules"
#: TensorFlow.js: URL path in the page's folder (and path in the bundle) -> file under node_modules.
TFJS_FILES = {
    "tfjs/tf.es2017.min.js": "@tensorflow/tfjs/dist/tf.es2017.min.js",
    "tfjs/tf-backend-wasm.es2017.min.js": "@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.es2017.min.js",
    "tfjs/tfjs-backend-wasm.wasm": "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm",
    "tfjs/tfjs-backend-wasm-simd.wasm": "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm",
}
#: Where Maven stages the component's outputs (``extension/README-java.md``), and their folder in the bundle.
MAVEN_STAGE = Path("target") / "aix"
BUNDLE_COMPONENT = "component"
#: The component's outputs the packager reads (names inside the staged folder).
COMPONENT_FILES = {
    "components_json": "components.json",
    "build_infos_json": "component_build_infos.json",
    "runtime_jar": "AndroidRuntime.jar",
    "dex_jar": "classes.jar",
}

SETUP_HINT = "run ./setup.sh (it runs npm ci and the Maven build in extension/)"
MAVEN_HINT = "run ./setup.sh once, then python build.py (or: cd extension && mvn -B -o package)"
REINSTALL_HINT = "pac's installation is incomplete; reinstall it (python -m pip install --force-reinstall WHEEL)"


# --------------------------------------------------------------------------------------------
# the component's outputs (and, in a checkout, the Maven build that makes them)


@dataclass(frozen=True)
class JavaOutputs:
    """The component's build outputs the packager reads; ``sources`` are their inputs (checkout only)."""

    components_json: Path
    build_infos_json: Path
    runtime_jar: Path
    dex_jar: Path
    sources: tuple = ()

    @classmethod
    def in_folder(cls, folder: Path, sources: tuple = ()) -> JavaOutputs:
        return cls(**{field: folder / name for field, name in COMPONENT_FILES.items()}, sources=sources)

    def files(self) -> list[Path]:
        return [self.components_json, self.build_infos_json, self.runtime_jar, self.dex_jar]

    def missing(self) -> list[Path]:
        return [p for p in self.files() if not p.is_file()]

    def stale(self) -> bool:
        """Whether an output is missing or any source of the build is newer than the oldest output."""
        if self.missing():
            return True
        oldest = min(p.stat().st_mtime for p in self.files())
        return any(p.stat().st_mtime > oldest for p in self.sources if p.is_file())


def java_sources(extension_dir: Path) -> tuple:
    """Every input of the Maven build's outputs: POMs, main Java sources and resources, bridge.json."""
    found = [extension_dir / BRIDGE]
    for root, dirs, files in os.walk(extension_dir):
        rel = Path(root).relative_to(extension_dir).parts
        dirs[:] = [d for d in dirs if d not in ("target", NODE_MODULES, "test") and not d.startswith(".")]
        for name in files:
            if name == "pom.xml" or ("src" in rel and name.endswith((".java", ".png", ".json", ".properties"))):
                found.append(Path(root) / name)
    return tuple(sorted(found))


def java_outputs(extension_dir: Path) -> JavaOutputs:
    """Where the Maven build of ``extension_dir`` leaves its outputs, with the sources they come from."""
    return JavaOutputs.in_folder(extension_dir / MAVEN_STAGE, sources=java_sources(extension_dir))


def run_maven(extension_dir: Path, *, echo=None) -> None:
    """Build the component with Maven (offline: setup.sh has fetched every dependency)."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise PacError(f"the App Inventor component is not built and Maven is not installed; {MAVEN_HINT}")
    if not (extension_dir / "pom.xml").is_file():
        raise PacError(f"{extension_dir}: no pom.xml, the component's sources are missing")
    command = [mvn, "-B", "-q", "-o", "-Dstyle.color=never", "package", "-Dmaven.test.skip=true"]
    if echo:
        echo(f"building the App Inventor component: (cd {extension_dir} && mvn {' '.join(command[1:])})")
    done = subprocess.run(command, cwd=extension_dir, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-25:])
        raise PacError(f"the Maven build of the component failed ({MAVEN_HINT}); its last lines:\n{tail}")


def ensure_java_build(extension_dir: Path, *, echo=None, build: bool = True) -> JavaOutputs:
    """A checkout's component outputs, running Maven first when they are missing or stale."""
    outputs = java_outputs(extension_dir)
    if not outputs.stale():
        return outputs
    if not build:
        missing = ", ".join(str(p) for p in outputs.missing()) or "outputs older than their sources"
        raise PacError(f"the App Inventor component is not built ({missing}); {MAVEN_HINT}")
    (extension_dir / "target").mkdir(parents=True, exist_ok=True)
    from .fsutil import FileLock

    (extension_dir / "target").mkdir(parents=True, exist_ok=True)
    with FileLock(extension_dir / "target" / ".pac-maven.lock"):  # one Maven run at a time
        outputs = java_outputs(extension_dir)
        if outputs.stale():
            run_maven(extension_dir, echo=echo)
            outputs = java_outputs(extension_dir)
    if outputs.missing():
        raise PacError(f"the Maven build did not produce {', '.join(map(str, outputs.missing()))}; {MAVEN_HINT}")
    return outputs


# --------------------------------------------------------------------------------------------
# the two layouts


@dataclass(frozen=True)
class Resources:
    """pac's non-Python files in one layout: ``kind`` is ``"checkout"`` or ``"installed"``; ``root`` is
    the checkout's ``extension/`` folder or the installed ``pac/_bundle/``."""

    kind: str
    root: Path

    @classmethod
    def checkout(cls, extension_dir: str | os.PathLike = CHECKOUT_EXTENSION_DIR) -> Resources:
        return cls("checkout", Path(extension_dir))

    @classmethod
    def installed(cls, bundle_dir: str | os.PathLike = BUNDLE_DIR) -> Resources:
        return cls("installed", Path(bundle_dir))

    @property
    def bridge_json(self) -> Path:
        return self.root / BRIDGE

    @property
    def templates_dir(self) -> Path:
        return self.root / TEMPLATES

    def runtime_scripts(self) -> dict[str, Path]:
        """``js/<name>`` URL path -> file, for every runtime script."""
        files = {f"{JS}/{name}": self.root / JS / name for name in RUNTIME_SCRIPTS}
        for path in files.values():
            if not path.is_file():
                raise PacError(f"missing runtime script; {self._hint()}", path=path)
        return files

    def tfjs_files(self) -> dict[str, Path]:
        """TensorFlow.js: URL path -> file.  In a checkout, the installed npm packages must be the
        pinned versions."""
        if self.kind == "installed":
            files = {url: self.root / url for url in TFJS_FILES}
        else:
            modules = self.root / NODE_MODULES
            for package, version in self.tfjs_pins().items():
                installed = modules / package / "package.json"
                try:
                    found = json.loads(installed.read_text(encoding="utf-8")).get("version")
                except (OSError, ValueError):
                    raise PacError(
                        f"TensorFlow.js is not installed ({package} missing); {SETUP_HINT}", path=modules
                    ) from None
                if found != version:
                    raise PacError(
                        f"{package} {found} is installed but {version} is pinned; {SETUP_HINT}", path=modules
                    )
            files = {url: modules / rel for url, rel in TFJS_FILES.items()}
        for path in files.values():
            if not path.is_file():
                raise PacError(f"missing TensorFlow.js file; {self._hint()}", path=path)
        return files

    def tfjs_pins(self) -> dict[str, str]:
        """npm package -> pinned version of TensorFlow.js."""
        path = self.root / (BUNDLE_MANIFEST if self.kind == "installed" else NPM_PINS)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return dict(data["tfjs" if self.kind == "installed" else "dependencies"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise PacError(f"cannot read the TensorFlow.js pins ({exc}); {self._hint()}", path=path) from None

    def component(self, *, echo=None, build: bool = True) -> JavaOutputs:
        """The component's build outputs.  In a checkout Maven runs first when they are missing or
        older than a source (unless ``build`` is false: then that is an error); installed, never."""
        if self.kind == "checkout":
            return ensure_java_build(self.root, echo=echo, build=build)
        outputs = JavaOutputs.in_folder(self.root / BUNDLE_COMPONENT)
        if outputs.missing():
            raise PacError(
                f"the App Inventor component's files are missing "
                f"({', '.join(p.name for p in outputs.missing())}); {REINSTALL_HINT}"
            )
        return outputs

    def _hint(self) -> str:
        return REINSTALL_HINT if self.kind == "installed" else SETUP_HINT


@functools.lru_cache(maxsize=1)
def current() -> Resources:
    """The layout this pac runs from: the bundle when pac was installed from a wheel, else the checkout."""
    if (BUNDLE_DIR / BUNDLE_MANIFEST).is_file():
        return Resources.installed()
    if CHECKOUT_EXTENSION_DIR.is_dir():
        return Resources.checkout()
    raise PacError(
        f"pac cannot find its page and component files: neither installed from a pac wheel "
        f"(no {BUNDLE_DIR / BUNDLE_MANIFEST}) nor run from a checkout (no {CHECKOUT_EXTENSION_DIR}); "
        f"install pac from its wheel"
    )


# --------------------------------------------------------------------------------------------
# the bundle (written when the wheel is built)


def bundle_sources(extension_dir: str | os.PathLike = CHECKOUT_EXTENSION_DIR, *, echo=None) -> dict[str, Path]:
    """Bundle path -> checkout file, for everything an installed pac reads.

    Requires ``npm ci`` to have installed the pinned TensorFlow.js and the component to be built;
    runs Maven (offline) when its outputs are older than its sources, as ``pac build`` does.

    Raises
    ------
    PacError
        When TensorFlow.js is missing or not the pinned version, or the component cannot be built,
        with what to run.
    """
    checkout = Resources.checkout(extension_dir)
    files = {BRIDGE: checkout.bridge_json}
    if not checkout.bridge_json.is_file():
        raise PacError("missing: not the extension folder of a pac checkout", path=checkout.bridge_json)
    templates = sorted(p for p in checkout.templates_dir.glob("*") if p.is_file() and not p.name.startswith("."))
    if not templates:
        raise PacError("no page template: not the extension folder of a pac checkout", path=checkout.templates_dir)
    files.update({f"{TEMPLATES}/{path.name}": path for path in templates})
    files.update(checkout.runtime_scripts())
    files.update(checkout.tfjs_files())
    stage = checkout.component(echo=echo).components_json.parent
    for path in sorted(stage.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            files[f"{BUNDLE_COMPONENT}/{path.relative_to(stage).as_posix()}"] = path
    return files


def write_bundle(
    target: str | os.PathLike, extension_dir: str | os.PathLike = CHECKOUT_EXTENSION_DIR, *, echo=None
) -> dict:
    """Write the installed layout into ``target`` (replacing it) from a checkout's ``extension/``.

    Returns the content of ``BUNDLE.json``: ``{"tfjs": {package: version}, "files": {path: sha256}}``.
    """
    sources = bundle_sources(extension_dir, echo=echo)
    pins = Resources.checkout(extension_dir).tfjs_pins()
    target = Path(target)
    if target.exists():
        shutil.rmtree(target)
    hashes = {}
    for rel, source in sorted(sources.items()):
        data = source.read_bytes()
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        hashes[rel] = hashlib.sha256(data).hexdigest()
    manifest = {"tfjs": dict(sorted(pins.items())), "files": hashes}
    (target / BUNDLE_MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return manifest


def check_bundle(bundle_dir: str | os.PathLike = BUNDLE_DIR) -> list[str]:
    """Problems of an installed bundle: files missing, changed or unlisted (empty when it is intact)."""
    bundle_dir = Path(bundle_dir)
    try:
        listed = json.loads((bundle_dir / BUNDLE_MANIFEST).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError) as exc:
        return [f"{bundle_dir / BUNDLE_MANIFEST}: unreadable ({exc})"]
    problems = []
    for rel, digest in sorted(listed.items()):
        path = bundle_dir / rel
        if not path.is_file():
            problems.append(f"{rel}: missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            problems.append(f"{rel}: sha256 differs from {BUNDLE_MANIFEST}")
    present = {p.relative_to(bundle_dir).as_posix() for p in bundle_dir.rglob("*") if p.is_file()}
    problems += [f"{rel}: not listed in {BUNDLE_MANIFEST}" for rel in sorted(present - set(listed) - {BUNDLE_MANIFEST})]
    return problems
