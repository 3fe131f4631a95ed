"""The documentation builds from a clone with no warning (Sphinx, warnings as errors), and
every paper a docstring cites resolves inside the repository."""

from __future__ import annotations

import ast
import importlib
import inspect
import platform
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def test_api_reference_builds_without_warnings(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b",
                           "html", str(ROOT / "docs"), str(tmp_path / "html")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-4000:]
    api = (tmp_path / "html" / "api.html").read_text()
    for name in ("DeviceNeurons", "open_lab", "Trainer", "export_weights", "RunStore"):
        assert name in api


def test_every_cited_paper_and_the_design_are_in_the_repository():
    papers = (ROOT / "docs" / "papers.md").read_text()
    listed = set(re.findall(r"^\| (\d{3}) \|", papers, flags=re.M))
    cited = set()
    folders = ("hil", "instruments", "protocols", "simulators", "examples", "bench", "docs")
    for path in [*(p for f in folders for p in (ROOT / f).rglob("*.py")), ROOT / "README.md"]:
        cited |= set(re.findall(r"papers? (\d{3})", path.read_text()))
    assert cited and cited <= listed, sorted(cited - listed)
    assert (ROOT / "docs" / "design.md").read_text().startswith("# spinhil: design")


PACKAGES = ("hil", "instruments", "protocols", "simulators")


def public_without_docstring(path: Path) -> list[str]:
    """The module itself and each top-level class or function that is public (named in
    ``__all__`` or not starting with ``_``) but carries no docstring."""
    tree = ast.parse(path.read_text(), filename=str(path))
    exported: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            exported = set(ast.literal_eval(node.value))
    missing = [] if ast.get_docstring(tree) else ["(module)"]
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and (
                node.name in exported or not node.name.startswith("_")) \
                and not ast.get_docstring(node):
            missing.append(node.name)
    return missing


def test_every_public_name_says_what_it_is_for():
    """A newcomer reads the house from its docstrings: every module of the four packages and
    every public class and function in them has one (read from the source, so optional
    extras need not be installed)."""
    missing = [f"{path.relative_to(ROOT)}: {name}"
               for pkg in PACKAGES for path in sorted((ROOT / pkg).rglob("*.py"))
               for name in public_without_docstring(path)]
    assert not missing, "\n".join(missing)


# what ``pip install -e '.[dev]'`` leaves out on this machine: the [gpu] extra's Triton is in
# [dev] only on Linux x86_64 (pyproject.toml); every other extra is always in [dev]
NOT_IN_DEV = set() if (sys.platform == "linux" and platform.machine() == "x86_64") \
    else {"triton"}


def module_names(package: str) -> list[str]:
    """Every module of ``package`` by its dotted name (``__main__`` left out: it runs)."""
    names = []
    for path in sorted((ROOT / package).rglob("*.py")):
        if path.name == "__main__.py":
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def methods_without_docstring(module: ModuleType) -> set[str]:
    """Each public method, property, classmethod and staticmethod of the public classes
    ``module`` defines that has no docstring, neither its own nor one inherited from the
    method it overrides (``inspect.getdoc``, as Sphinx autodoc reads it)."""
    missing = set()
    for class_name, cls in vars(module).items():
        if class_name.startswith("_") or not inspect.isclass(cls) \
                or cls.__module__ != module.__name__:
            continue
        for name, value in vars(cls).items():
            if name.startswith("_") or not (inspect.isfunction(value) or isinstance(
                    value, property | staticmethod | classmethod)):
                continue
            if not inspect.getdoc(getattr(cls, name)):
                missing.add(f"{module.__name__}:{cls.__qualname__}.{name}")
    return missing


def test_every_public_method_says_what_it_is_for():
    """Every public method and property of every public class of the four packages says
    what it is for, or inherits that from the method it overrides. Each module is imported,
    the window's too ([gui] is in [dev]): a module that cannot be imported fails here with
    the reason, unless what it lacks is not in [dev] on this machine."""
    missing: set[str] = set()
    unimportable = []
    for package in PACKAGES:
        for name in module_names(package):
            try:
                module = importlib.import_module(name)
            except ModuleNotFoundError as err:
                if (err.name or "").partition(".")[0] in NOT_IN_DEV:
                    continue
                unimportable.append(f"{name}: cannot be imported ({err})")
                continue
            except Exception as err:  # any other reason is reported too, none hidden
                unimportable.append(f"{name}: cannot be imported ({type(err).__name__}: {err})")
                continue
            missing |= methods_without_docstring(module)
    assert not unimportable, "\n".join(unimportable)
    assert not missing, f"{len(missing)} without a docstring:\n" + "\n".join(sorted(missing))


LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def prose(text: str) -> str:
    """``text`` without its code blocks and inline code, where brackets are not links."""
    return re.sub(r"`[^`\n]*`", "", re.sub(r"```.*?```", "", text, flags=re.S))


def anchors(path: Path) -> set[str]:
    """The heading anchors GitHub (and MyST's ``myst_heading_anchors``) give ``path``."""
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
            for heading in re.findall(r"^#+ (.+)$", prose(path.read_text()), flags=re.M)}


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in LINK.findall(prose(page.read_text())):
        if re.match(r"[a-z]+:", target):
            continue  # a web address: not the clone's to resolve
        file, _, anchor = target.partition("#")
        resolved = (page.parent / file).resolve() if file else page
        if not resolved.exists():
            broken.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    return broken


def test_every_relative_link_of_the_readme_and_the_docs_resolves_in_a_clone():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")),
             *sorted((ROOT / "bench").glob("*.md"))]
    assert len(pages) > 10
    broken = [b for page in pages for b in broken_links(page)]
    assert not broken, "\n".join(broken)


def readme_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def test_the_readme_is_a_front_page():
    """About 150 lines: what spinhil is, install, quick starts, safety, where HIL helps; the
    rest lives in docs/ (a README that grows again fails here)."""
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 170
    for heading in ("## Install", "## Quick start: the command line", "## Quick start: Python",
                    "## Safety", "## Where HIL helps"):
        assert heading in text
    assert ".ci/run" in text and "docs/where-hil-helps.md" in text


def test_the_readme_quick_starts_are_the_tested_ones():
    """Every ``hil`` line of the README's quick start is a line of the tour that
    tests/hil/cli/test_readme_tour.py runs; its Python names are all in ``hil.__all__``."""
    tour = (ROOT / "docs" / "tour.md").read_text()
    tour_lines = {line.split(" # ")[0].strip() for line in tour.splitlines()}
    lines = [line.split(" # ")[0].strip() for block in readme_blocks("bash")
             for line in block.splitlines() if line.startswith("hil ")]
    assert len(lines) >= 5
    assert [line for line in lines if line not in tour_lines] == []
    import hil

    (python,) = readme_blocks("python")
    compile(python, "README.md", "exec")
    used = set(re.findall(r"(?<![\w.])hil\.(\w+)", python))
    assert used and used <= set(hil.__all__), sorted(used - set(hil.__all__))
