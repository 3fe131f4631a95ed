import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if "PYTEST_XDIST_WORKER" in os.environ:  # -n auto: one worker per core, one thread each
    for _threads in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ.setdefault(_threads, "1")


def pytest_addoption(parser):
    """``--lab FILE``: run the rig suite (tests/rig) against the instruments a lab file
    names, a real rig at the bench (as pymeasure's ``--device-address`` runs its device
    tests); without it the suite serves a virtual lab (``hil lab serve --write-lab``)."""
    parser.addoption("--lab", action="store", default=None, metavar="FILE",
                     help="lab file of the rig the tests/rig suite checks (default: a "
                     "served virtual lab)")


@pytest.fixture(scope="session")
def _shared_cache(tmp_path_factory) -> str:
    """One cache folder for the whole session (shared by the xdist workers of one run):
    the parsed digits are a cache of read-only data, parsed once per run, not per test
    (the cache itself is tested with its own folder: tests/hil/cli/test_cli_newcomer.py)."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if "PYTEST_XDIST_WORKER" in os.environ else base
    return str(root / "shared-cache")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch, _shared_cache):
    """Every test gets its own run store and figure folder; caches of read-only data are
    shared."""
    monkeypatch.setenv("SPINHIL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SPINHIL_CACHE", _shared_cache)
