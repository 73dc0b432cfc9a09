"""Variants are plugins: no response-mode or encoding name is spelled outside its home.

A name written as a literal elsewhere (``if mode == "yes_no"``, ``("gan_face", ...)``) is
code that a new plugin would have to edit, or that silently does the wrong thing for
one. Generic code asks the registry and the plugin's declarations instead (a mode's
``decision``, an encoding's ``display``). Homes: a mode's module in
``analysis/response_modes/``, its template and ES module; an encoding's module in
``stimuli/encodings/``; the registries themselves. Tests, docs, benchmarks and TOML
examples may name variants: they are data, not code a plugin must change.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from analysis.response_modes import RESPONSE_MODES
from stimuli.encodings import ENCODINGS

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("analysis", "experiment", "stimuli", "glyphlab")
MODES, ENCODING_NAMES = set(RESPONSE_MODES), set(ENCODINGS)
#: analysis cannot import the stimuli registry; these defaults name the study's question
#: (faces against a table) for simulations and the report's reference level
ANALYSIS_ENCODING_DEFAULTS = {
    "analysis/simulate.py",
    "analysis/logodds_simulation.py",
    "analysis/power.py",
    "analysis/models/study.py",
}


def home_of(path: str) -> set[str]:
    """The variant names ``path`` may spell: its own."""
    name = Path(path).stem
    if path in ("analysis/response_modes/__init__.py", "stimuli/encodings/__init__.py"):
        return MODES | ENCODING_NAMES  # the registries: one line per variant
    if path.startswith(
        ("analysis/response_modes/", "templates/trials/", "experiment/static/js/modes/")
    ):
        return {name}
    if path.startswith("stimuli/encodings/"):
        return {name}
    if path in ANALYSIS_ENCODING_DEFAULTS:
        return ENCODING_NAMES
    return set()


def python_literals(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


#: a quoted word; in JS/HTML ``element("table", ...)`` and ``<table>`` are HTML tags
QUOTED = re.compile(r"(?<!element\()[\"']([a-z_0-9]+)[\"']")


def web_literals(path: Path) -> set[str]:
    return set(QUOTED.findall(path.read_text(encoding="utf-8")))


def offenders() -> dict[str, list[str]]:
    found = {}
    files = [p for package in PACKAGES for p in (ROOT / package).rglob("*.py")]
    web = [*(ROOT / "templates").rglob("*.html"), *(ROOT / "experiment").rglob("*.js")]
    for path in files + web:
        relative = str(path.relative_to(ROOT))
        literals = python_literals(path) if path.suffix == ".py" else web_literals(path)
        named = (literals & (MODES | ENCODING_NAMES)) - home_of(relative)
        if named:
            found[relative] = sorted(named)
    return found


def test_no_variant_name_outside_its_home():
    assert offenders() == {}


def test_the_scan_sees_a_literal(tmp_path):
    module = tmp_path / "m.py"
    module.write_text('def f(mode):\n    return mode == "yes_no"\n')
    assert "yes_no" in python_literals(module)
    script = tmp_path / "m.js"
    script.write_text('if (trial.display === "plot") element("table", {});\n')
    assert web_literals(script) == {"plot"}
