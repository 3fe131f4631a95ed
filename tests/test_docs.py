"""The documentation builds from a clone with no warning (Sphinx, warnings as errors), and
every paper a docstring cites resolves inside the repository."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

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
