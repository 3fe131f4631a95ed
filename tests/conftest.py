import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Every test gets its own run store and figure folder."""
    monkeypatch.setenv("SPINHIL_HOME", str(tmp_path / "home"))
