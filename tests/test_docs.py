"""The documentation builds from a clone with no warning (Sphinx, warnings as errors), and
every paper a docstring cites resolves inside the repository."""

from __future__ import annotations

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
