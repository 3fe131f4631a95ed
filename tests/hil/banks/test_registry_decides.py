"""Nothing but the backend table decides by a backend's name (issue: one way to do each
thing): a comparison of a configuration's ``backend`` with a registered name anywhere else
in hil/ is a second switchboard."""

from __future__ import annotations

import ast
from pathlib import Path

from hil.banks import registry

ROOT = Path(__file__).resolve().parents[3] / "hil"


def _name_branches(path: Path, root: Path = ROOT.parent) -> list[str]:
    """Every ``<x>.backend == "name"`` / ``in (...)`` test on a registered backend name."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        reads_backend = any(isinstance(s, ast.Attribute) and s.attr == "backend" for s in sides)
        names = {c.value for s in sides for c in ast.walk(s)
                 if isinstance(c, ast.Constant) and isinstance(c.value, str)}
        if reads_backend and names & set(registry.BACKENDS):
            found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_only_the_registry_branches_on_a_backend_name():
    offenders = [hit for path in sorted(ROOT.rglob("*.py")) if path.name != "registry.py"
                 for hit in _name_branches(path)]
    assert offenders == []


def test_the_check_finds_a_name_branch(tmp_path):
    module = tmp_path / "switchboard.py"
    module.write_text('def f(config):\n    return config.backend == "llgs"\n')
    assert _name_branches(module, tmp_path) == ["switchboard.py:2"]


def test_every_backend_describes_its_neurons_and_says_its_notices():
    from hil.learn.config import TrainConfig

    for name in registry.BACKENDS:
        config = TrainConfig.for_backend(backend=name)
        devices, calibration = registry.describe(config, [])
        assert devices and calibration, name
        assert isinstance(registry.notices(config), list)
