"""Import boundaries from DESIGN.md: stimuli <- experiment -> analysis.

``stimuli`` and ``analysis`` are pure libraries: they never import the web or database
layer, nor ``experiment``; neither imports the other's private parts. An AST walk over
every module keeps it so (lazy imports inside functions count too).
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WEB_AND_DB = {"flask", "flask_login", "flask_wtf", "werkzeug", "sqlalchemy", "alembic"}
FORBIDDEN = {
    "stimuli": WEB_AND_DB | {"experiment", "analysis"},
    "analysis": WEB_AND_DB | {"experiment", "stimuli"},
}


def imported_top_level_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_pure_library_does_not_cross_the_boundary(package):
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_top_level_names(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_walk_sees_lazy_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from flask import Flask\n    import sqlalchemy.orm\n")
    assert imported_top_level_names(module) == {"flask", "sqlalchemy"}
