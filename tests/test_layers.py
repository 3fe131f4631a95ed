"""The house's layers, read from the source: every import (at module level or inside a
function) points down, and no package has an import circle.

The order is DESIGN.md's: hil -> protocols -> instruments, hil -> simulators; inside hil
cli, gui -> the public API -> grids -> learn -> nn -> banks -> session (errors and units are
leaves every room may use)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("hil", "instruments", "protocols", "simulators")

# which top-level packages each package may import (besides itself)
ALLOWED_PACKAGES = {
    "instruments": set(),
    "simulators": {"instruments.scpi"},  # the SCPI grammar leaf, for the emulators
    "protocols": {"instruments"},
    "hil": {"instruments", "protocols", "simulators"},
}
# hil's rooms, top to bottom; a room imports only rooms below it (and the leaves)
HIL_ROOMS = ["__main__", "cli", "gui",  # nothing imports these; `hil gui` starts the window
             "__init__", "simulate", "plots", "grids", "learn", "nn", "banks", "session"]
HIL_LEAVES = {"errors", "extras", "units"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_imports(path: Path) -> set[str]:
    """Every project module ``path`` imports, wherever the import stands."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in PACKAGES}


def existing(name: str, modules: dict[str, Path]) -> str | None:
    """The module ``name`` refers to (``from pkg import mod`` names a module or an attribute)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    return {name: {m for i in project_imports(path) if (m := existing(i, modules)) != name
                   and m is not None}
            for name, path in modules.items()}


def room(module: str) -> str:
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def test_the_walk_sees_the_imports(graph):
    # the walker itself: known arrows are found, function-level ones included
    assert "hil.banks.base" in graph["hil.learn.train"]
    assert "instruments.connection" in graph["protocols.cycle"]
    assert "hil.gui.window" in graph["hil.gui"]  # imported inside a function


def test_packages_import_only_the_layers_below(graph):
    wrong = []
    for module, imports in graph.items():
        package = module.split(".")[0]
        for target in imports:
            if target.split(".")[0] == package:
                continue
            allowed = ALLOWED_PACKAGES[package]
            if not any(target == a or target.startswith(a + ".") for a in allowed):
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def test_instruments_never_import_simulators(graph):
    assert [(m, t) for m, imports in graph.items() if m.startswith("instruments")
            for t in imports if t.startswith("simulators")] == []


def test_hil_rooms_point_down(graph):
    wrong = []
    for module, imports in graph.items():
        if not module.startswith("hil") or room(module) in HIL_LEAVES:
            continue
        here = HIL_ROOMS.index(room(module))
        for target in imports:
            if not target.startswith("hil") or room(target) in HIL_LEAVES:
                continue
            if HIL_ROOMS.index(room(target)) < here:
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def test_leaves_import_no_room(graph):
    leaves = [m for m in graph if m.startswith("hil.") and room(m) in HIL_LEAVES]
    assert leaves, "hil.errors and hil.units exist"
    assert [(m, t) for m in leaves for t in graph[m]
            if t.startswith("hil") and room(t) not in HIL_LEAVES] == []


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle among ``graph``'s modules, or None (depth-first search)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_circle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_circle(graph, package):
    # a package's __init__ re-exporting its modules is not a circle: the arrows from the
    # modules to their own package's __init__ are left out (Python loads the package first)
    inside = {m: {t for t in imports if t.split(".")[0] == package and not m.startswith(t + ".")}
              for m, imports in graph.items() if m.split(".")[0] == package}
    assert find_cycle(inside) is None


# what the command line may import: the public API (``hil`` and its public submodules,
# reached as ``hil.<name>``), its sibling modules, the window it starts (``hil gui``), the
# standard library, numpy for its tables and tqdm for its progress bars
CLI_ALLOWED = {"hil.cli", "hil.gui", "numpy", "tqdm"}  # with what lies below them


def cli_inner_imports(folder: Path) -> list[str]:
    """Each import in ``folder``'s modules (at any depth of the code) of a module below the
    public API: an inner ``hil`` module, or protocols, instruments, simulators, or a
    third-party module the command line should reach through ``hil``."""
    import sys

    wrong = []
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                if name == "hil" or name.split(".")[0] in sys.stdlib_module_names or any(
                        name == a or name.startswith(a + ".") for a in CLI_ALLOWED):
                    continue
                wrong.append(f"{path.name}:{node.lineno} imports {name}")
    return wrong


def test_the_command_line_imports_only_the_public_api():
    """Every command is a thin layer over calls ``hil`` exports: what a command does beyond
    reading its arguments and printing is there for a script too."""
    assert cli_inner_imports(ROOT / "hil" / "cli") == []


def test_the_cli_rule_sees_inner_imports(tmp_path):
    (tmp_path / "a.py").write_text("import hil\nfrom hil.cli.common import x\nimport numpy\n"
                                   "def f():\n    from hil.session.runner import stored_run\n"
                                   "    import protocols.store\n    from hil import units\n")
    assert cli_inner_imports(tmp_path) == ["a.py:5 imports hil.session.runner",
                                           "a.py:6 imports protocols.store"]
