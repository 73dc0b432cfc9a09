"""Import boundaries from DESIGN.md: stimuli <- experiment -> analysis, and no Flask below
the web layer.

``stimuli`` and ``analysis`` are pure libraries: they never import the web or database
layer, nor ``experiment``; neither imports the other's private parts. Inside
``experiment``, the services and the study design are plain Python, and so are the
response modes they call (one pure module each, in ``analysis/response_modes/``): they
raise errors that carry a status and import no Flask, not even through a project module
they import (the walk follows those, and the package ``__init__`` files Python runs on
the way). An AST walk over every module keeps it so (lazy imports inside functions count
too); a fresh interpreter confirms it at run time.
"""

import ast
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = {"stimuli", "experiment", "analysis", "glyphlab"}
WEB = {"flask", "flask_login", "flask_wtf", "werkzeug"}
WEB_AND_DB = WEB | {"sqlalchemy", "alembic"}
FORBIDDEN = {
    "stimuli": WEB_AND_DB | {"experiment", "analysis"},
    "analysis": WEB_AND_DB | {"experiment", "stimuli"},
}
#: Plain-Python parts of the site, and the pure response-mode modules they call (files or
#: folders under the repository root).
WITHOUT_FLASK = ("experiment/services", "experiment/design.py", "analysis/response_modes")


def imported_top_level_names(path: Path) -> set[str]:
    return {name.split(".")[0] for name in imported_modules(path)}


def _nodes(tree: ast.AST):
    """Every node, except the bodies of module ``__getattr__`` (PEP 562): what those import
    loads only when the attribute is asked for (``experiment.create_app``)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
            continue
        yield node
        yield from _nodes(node)


@cache
def imported_modules(path: Path) -> frozenset[str]:
    """Dotted names of every module ``path`` imports (``from a import b``: a.b and a)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in _nodes(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return frozenset(names)


def module_files(dotted: str) -> list[Path]:
    """The files Python runs to import ``dotted``: each package's ``__init__`` on the way."""
    files, parts = [], dotted.split(".")
    for depth in range(1, len(parts) + 1):
        base = ROOT.joinpath(*parts[:depth])
        for candidate in (base / "__init__.py", base.with_suffix(".py")):
            if candidate.is_file():
                files.append(candidate)
                break
    return files


def _label(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def web_imports(start: Path) -> dict[str, list[str]]:
    """Web modules ``start`` imports, directly or through project modules: name -> chain."""
    found: dict[str, list[str]] = {}
    seen = {start}
    queue = [(start, [_label(start)])]
    while queue:
        path, chain = queue.pop(0)
        for name in sorted(imported_modules(path)):
            top = name.split(".")[0]
            if top in WEB:
                found.setdefault(top, chain)
            elif top in PROJECT:
                for file in module_files(name):
                    if file not in seen:
                        seen.add(file)
                        queue.append((file, [*chain, _label(file)]))
    return found


def plain_modules() -> list[Path]:
    paths = []
    for entry in WITHOUT_FLASK:
        target = ROOT / entry
        assert target.exists(), f"{entry} is listed in WITHOUT_FLASK but does not exist"
        paths += sorted(target.rglob("*.py")) if target.is_dir() else [target]
    return paths


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_pure_library_does_not_cross_the_boundary(package):
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_top_level_names(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


@pytest.mark.parametrize("path", plain_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_services_design_and_modes_import_no_flask(path):
    assert web_imports(path) == {}


def test_no_flask_is_loaded_at_run_time_either():
    modules = [
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in plain_modules()
    ]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"print(sorted(m for m in {sorted(WEB)!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.strip() == "[]"


def test_the_walk_sees_lazy_and_indirect_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from flask import Flask\n    import sqlalchemy.orm\n")
    assert imported_top_level_names(module) == {"flask", "sqlalchemy"}
    assert web_imports(ROOT / "experiment" / "error_pages.py")["flask"] == [
        "experiment/error_pages.py"
    ]
    indirect = tmp_path / "experiment_user.py"
    indirect.write_text("from experiment import error_pages\n")
    chain = web_imports(indirect)["flask"]
    assert chain == ["experiment_user.py", "experiment/error_pages.py"]
