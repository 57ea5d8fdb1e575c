"""Dependencies point one way: the ``pac`` command (pac.cli) and the studio (pac.studio) call the
library; no library module imports them, at any nesting level (inside functions too), absolutely or
relatively, or by name through ``importlib.import_module`` / ``__import__``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "compiler" / "pac"
#: The front ends: only they (and their own sub-modules) may import them.
FRONT_ENDS = ("pac.cli", "pac.studio")


def module_name(path: Path, root: Path = PACKAGE) -> str:
    """``pac.x.y`` for ``root/x/y.py``; a package's ``__init__.py`` is the package."""
    parts = ["pac", *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def under(name: str, prefix: str) -> bool:
    """Whether module ``name`` is ``prefix`` or inside it (``pac.cli_x`` is not inside ``pac.cli``)."""
    return name == prefix or name.startswith(prefix + ".")


def imported_modules(module: str, source: str, *, is_package: bool = False):
    """Every module ``source`` (the text of ``module``) imports: ``[(line, dotted name)]``.

    ``from X import a`` yields ``X`` and ``X.a`` (``a`` may be a sub-module); relative imports are
    resolved against ``module``; ``importlib.import_module("...")`` and ``__import__("...")`` with a
    literal name count too.
    """
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names if alias.name != "*"]
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in ("import_module", "__import__"):
                found.append((node.lineno, node.args[0].value))
    return found


def violations(module: str, source: str, *, is_package: bool = False) -> list[str]:
    """``["pac.x:12 imports pac.cli", ...]``: imports of a front end by a module outside it."""
    if any(under(module, front) for front in FRONT_ENDS):
        return []
    return sorted(
        {
            f"{module}:{line} imports {name}"
            for line, name in imported_modules(module, source, is_package=is_package)
            if any(under(name, front) for front in FRONT_ENDS)
        }
    )


def test_library_modules_never_import_the_cli_or_the_studio():
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 20 and (PACKAGE / "cli.py") in modules
    found = []
    for path in modules:
        found += violations(module_name(path), path.read_text(encoding="utf-8"), is_package=path.name == "__init__.py")
    assert not found, "library modules import the CLI or the studio:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "module, source, is_package",
    [
        ("pac.verify", "def label_clips():\n    from .cli import find_wavs\n", False),
        ("pac.verify", "from . import cli\n", False),
        ("pac.train", "import pac.studio.jobs as jobs\n", False),
        ("pac.train", "from pac import studio\n", False),
        ("pac.train", "from pac.cli import main\n", False),
        (
            "pac.features.pipeline",
            "class A:\n    def f(self):\n        if True:\n            from ..studio.store import X\n",
            False,
        ),
        ("pac.features", "from ..cli import main\n", True),  # from pac/features/__init__.py, '..' is pac
        ("pac.libs", "import importlib\nimportlib.import_module('pac.cli')\n", False),
        ("pac.libs", "__import__('pac.studio.server')\n", False),
    ],
)
def test_the_detector_flags_an_offending_import(module, source, is_package):
    assert violations(module, source, is_package=is_package), source


@pytest.mark.parametrize(
    "module, source",
    [
        ("pac.verify", "from .dataset import find_wavs\nimport click\n"),
        ("pac.train", "from .client import x\nimport pac.studious\nfrom pac import cli_helpers\n"),
        ("pac.studio.jobs", "from .. import cli\nfrom ..cli import main\n"),
        ("pac.cli", "from .studio.server import run\n"),
    ],
)
def test_the_detector_lets_allowed_imports_pass(module, source):
    assert violations(module, source) == []


def test_module_names_and_relative_imports_resolve_like_python():
    assert module_name(PACKAGE / "studio" / "jobs.py") == "pac.studio.jobs"
    assert module_name(PACKAGE / "studio" / "__init__.py") == "pac.studio"
    assert "pac.cli" in [n for _, n in imported_modules("pac.studio.jobs", "from .. import cli")]
    assert [n for _, n in imported_modules("pac.features", "from .x import y", is_package=True)] == [
        "pac.features.x",
        "pac.features.x.y",
    ]
