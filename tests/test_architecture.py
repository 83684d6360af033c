"""The import rules of ARCHITECTURE.md, checked on every module's own imports (lazy ones included)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "b24mirror"


def _name(path: Path) -> str:
    return path.relative_to(PACKAGE.parent).with_suffix("").as_posix().replace("/", ".").removesuffix(".__init__")


def _imports(path: Path) -> set[str]:
    """Absolute names of what a module imports; relative imports resolved against its package."""
    package = _name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1]
            found.add(".".join(base + ([node.module] if node.module else [])))
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


def _uses(imports: set[str], top: str) -> bool:
    return any(name == top or name.startswith(top + ".") for name in imports)


# What each floor may not import: data flows cli → app → ops → sync → portal → bitrix, policy and
# config below them all, state beside the engine.
FORBIDDEN = {
    "b24mirror.policy": ("b24mirror.portal", "b24mirror.bitrix", "b24mirror.state", "b24mirror.sync",
                         "b24mirror.ops", "b24mirror.app", "b24mirror.cli"),
    "b24mirror.config": ("b24mirror.policy", "b24mirror.portal", "b24mirror.bitrix", "b24mirror.state",
                         "b24mirror.sync", "b24mirror.ops", "b24mirror.app", "b24mirror.cli"),
    "b24mirror.state": ("b24mirror.portal", "b24mirror.bitrix", "b24mirror.sync", "b24mirror.ops",
                        "b24mirror.app", "b24mirror.cli"),
    "b24mirror.bitrix": ("b24mirror.policy", "b24mirror.config", "b24mirror.portal", "b24mirror.state",
                         "b24mirror.sync", "b24mirror.ops", "b24mirror.app", "b24mirror.cli"),
    "b24mirror.portal": ("b24mirror.state", "b24mirror.sync", "b24mirror.ops", "b24mirror.app", "b24mirror.cli"),
    "b24mirror.sync": ("b24mirror.ops", "b24mirror.app", "b24mirror.cli"),
    "b24mirror.ops": ("b24mirror.app", "b24mirror.cli"),
    "b24mirror.errors": ("b24mirror.app", "b24mirror.cli"),
    "b24mirror.stopping": ("b24mirror.app", "b24mirror.cli"),
}


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_import_rules(path):
    name, imports = _name(path), _imports(path)
    if not _uses({name}, "b24mirror.cli"):
        assert not _uses(imports, "click"), f"{name} imports click: only b24mirror/cli/ speaks to the command line"
    if not _uses({name}, "b24mirror.bitrix"):
        assert not _uses(imports, "requests"), f"{name} imports requests: only b24mirror/bitrix/ speaks HTTP"
    if _uses({name}, "b24mirror.fakeportal"):
        tool = {i for i in imports if _uses({i}, "b24mirror") and not _uses({i}, "b24mirror.fakeportal")}
        assert not tool, \
            f"{name} imports the tool ({tool}): the fake portal must stand apart from what it tests"
    for floor, below in FORBIDDEN.items():
        if _uses({name}, floor):
            wrong = {i for i in imports if any(_uses({i}, b) for b in below)}
            assert not wrong, f"{name} imports {wrong}: {floor} may not import {', '.join(below)} (ARCHITECTURE.md)"


def test_the_top_level_holds_only_the_wiring():
    top = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert top == ["__init__", "__main__", "app", "atomicfile", "errors", "exitcodes", "stopping"], top


def test_the_rules_see_every_module():
    assert len(MODULES) > 40 and any(p.name == "commands.py" for p in MODULES)
