"""The function-level import rule of docs/house.md, read from the source: an import inside a
function is of an optional extra, of a module that is slow to import (a heavy third-party
module, or a project module that imports one at its top), a package's lazy ``__getattr__``,
or listed below with its reason. Everything else stands at the top of its module, where a
reader sees a module's dependencies at a glance and a missing one fails at import."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("hil", "instruments", "protocols", "simulators")

# the modules the optional extras bring (hil/extras.py; dask is distributed's namespace)
EXTRA_MODULES = {"PyQt6", "distributed", "dask", "mlxtend", "triton"}
# third-party modules slow to import: best of 3 ``python -X importtime -c "import M"``, 2
# cores (docs/house.md): torch 1.0 s, dask.distributed 0.96 s, numba 0.67 s, scipy.optimize
# 0.52 s, matplotlib.pyplot 0.52 s, pymeasure.adapters 0.40 s, pandas 0.32 s, pint 0.31 s,
# pyvisa 0.26 s (numpy, which nearly every module needs, 0.07 s; tqdm 0.04 s)
HEAVY_MODULES = {"torch", "distributed", "dask", "numba", "scipy", "matplotlib", "pymeasure",
                 "pandas", "pint", "pyvisa"}

LIGHT = "light: belongs at the top of its module (moved when the module is next reworked)"
BACKEND = "one backend of several, chosen at run time: the others are never loaded"
PROGRESS = "the progress bar, loaded only when progress is shown"
COMPILER = "the kernel's compiler, needed only to build it once per machine"
PROVENANCE = "asked only when a run is recorded (version, commit, platform)"
LISTED: dict[str, dict[str, str]] = {
    "hil/banks/lab_time.py": dict.fromkeys(
        ["simulators.lab.clock", "simulators.lab.chip", "simulators.lab.server"],
        "the virtual twin that prices a rig's lab time, built only when a lab run is priced"),
    "hil/cli/characterise.py": {"time": LIGHT, "tqdm": PROGRESS},
    "hil/banks/notices.py": {"simulators.llgs_kernels.cpu_native": COMPILER},
    "hil/cli/main.py": {
        "hil.cli": "the subcommand modules, imported as the parser is built for the command "
                   "given (``hil simulate`` loads no lab, instrument or training module)",
        "os": LIGHT},
    "hil/cli/train.py": dict.fromkeys(["hil.cli.common", "numpy"], LIGHT) | {
        "tqdm": PROGRESS},
    "hil/grids/codesign.py": dict.fromkeys(
        ["hil.errors", "simulators.presets", "dataclasses", "hil.grids"], LIGHT),
    "hil/grids/engine.py": {"tqdm": PROGRESS},
    "hil/learn/data.py": {"importlib.metadata": LIGHT, "platformdirs": LIGHT,
                          "hil.extras": LIGHT},
    "hil/learn/report.py": {"protocols.fitting": LIGHT},
    "hil/learn/trainable_activation.py": dict.fromkeys(
        ["protocols.fitting", "simulators.macrospin", "simulators.psw"], LIGHT),
    "hil/session/lab.py": {"protocols.fitting": LIGHT, "simulators.presets": LIGHT},
    "hil/units.py": {"hil.errors": LIGHT, "instruments.limits": LIGHT},
    "protocols/store.py": {"platformdirs": LIGHT, **dict.fromkeys(
        ["importlib.metadata", "subprocess", "platform"], PROVENANCE)},
    "simulators/equilibrium.py": {"simulators.llgs_kernels": BACKEND},
    "simulators/llgs.py": {"os": LIGHT},
    "simulators/llgs_kernels/__init__.py": {"simulators.llgs_kernels.cpu_native": BACKEND},
    "simulators/llgs_kernels/cpu_native.py": {"llvmlite": COMPILER},
    "simulators/psw.py": {"simulators.llgs_kernels": BACKEND},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(node: ast.Import | ast.ImportFrom) -> list[str]:
    """The modules an import statement names (``from M import a``: M, and M.a, which may be
    a module too); relative imports are not used in this project."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    return [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]


def imports_of(path: Path) -> tuple[set[str], list[tuple[str, int, list[str]]]]:
    """What ``path`` imports when it is loaded (its top, class bodies included, but not an
    ``if TYPE_CHECKING:`` block), and each import inside a function: (function, line,
    modules)."""
    top: set[str] = set()
    inner: list[tuple[str, int, list[str]]] = []

    def walk(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                names = imported_modules(child)
                if function is None:
                    top.update(names)
                else:
                    inner.append((function, child.lineno, names))
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                walk(child, getattr(child, "name", "<lambda>"))
                continue
            walk(child, function)

    walk(ast.parse(path.read_text(), filename=str(path)), None)
    return top, inner


def root(name: str) -> str:
    return name.split(".")[0]


def project_module(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def heavy_at_top(modules: dict[str, Path]) -> dict[str, str | None]:
    """For each project module, a heavy or optional third-party module its import loads
    (directly or through the project modules it imports at its top), else None."""
    tops = {name: imports_of(path)[0] for name, path in modules.items()}
    found: dict[str, str | None] = {}

    def visit(name: str, seen: frozenset[str]) -> str | None:
        if name in found:
            return found[name]
        heavy = next((i for i in sorted(tops[name])
                      if root(i) in HEAVY_MODULES | EXTRA_MODULES), None)
        for i in sorted(tops[name]):
            if heavy is not None:
                break
            if root(i) in PACKAGES and (m := project_module(i, modules)) not in (None, name) \
                    and m not in seen:
                inner = visit(m, seen | {name})
                heavy = f"{m} -> {inner}" if inner else None
        found[name] = heavy
        return heavy

    for name in modules:
        visit(name, frozenset())
    return found


def rule_breaks() -> tuple[list[str], list[str]]:
    """(function-level imports the rule does not allow, listed entries no longer used)."""
    modules = {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    heavy = heavy_at_top(modules)
    used: set[tuple[str, str]] = set()
    breaks = []
    for path in sorted(modules.values()):
        rel = path.relative_to(ROOT).as_posix()
        for function, line, names in imports_of(path)[1]:
            if function == "__getattr__" and path.name == "__init__.py":
                continue  # a package's lazy public face (PEP 562)
            first = names[0]
            if any(root(n) in EXTRA_MODULES | HEAVY_MODULES for n in names) or any(
                    root(n) in PACKAGES and heavy.get(project_module(n, modules) or "")
                    for n in names):
                continue
            listed = LISTED.get(rel, {})
            key = max((k for k in listed if first == k or first.startswith(k + ".")),
                      key=len, default=None)
            if key is None:
                breaks.append(f"{rel}:{line} {function}() imports {first}")
            else:
                used.add((rel, key))
    stale = [f"{rel}: {key}" for rel, keys in LISTED.items() for key in keys
             if (rel, key) not in used]
    return breaks, stale


def test_every_function_level_import_has_a_reason():
    breaks, stale = rule_breaks()
    assert not breaks, ("imports inside functions that are not of an optional extra or a heavy "
                        "module and not listed with a reason (move them to the top, or list "
                        "them in tests/test_imports.py; docs/house.md):\n" + "\n".join(breaks))
    assert not stale, "listed but no longer imported inside a function:\n" + "\n".join(stale)


def test_the_rule_sees_heavy_modules_through_project_modules():
    modules = {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    heavy = heavy_at_top(modules)
    assert heavy["hil.learn.train"]  # torch
    assert heavy["hil.gui.window"]  # PyQt6
    assert heavy["hil.errors"] is None and heavy["simulators.macrospin"] is None
