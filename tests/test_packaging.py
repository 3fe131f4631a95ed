"""Packaging: a command whose optional part is missing names the extra that installs it
before it starts anything (the core install runs headless without Qt, Dask or mlxtend); the
version and the typing marker are the installed package's."""

from __future__ import annotations

import sys

import pytest

from hil.cli.main import main
from hil.errors import ConfigError
from hil.extras import EXTRAS, require


@pytest.mark.parametrize("extra", ["gui", "dask", "digits"])
def test_a_missing_module_names_its_extra(extra, monkeypatch):
    module = EXTRAS[extra][0]
    monkeypatch.setitem(sys.modules, module, None)  # what an install without it gives
    with pytest.raises(ConfigError, match=rf"pip install 'spinhil\[{extra}\]'"):
        require(extra)


def test_an_installed_extra_passes():
    require("dask")  # the dev install has every extra


def test_hil_gui_without_qt_says_which_extra(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "PyQt6", None)
    assert main(["gui"]) == 2
    assert "spinhil[gui]" in capsys.readouterr().err


def test_a_grid_without_dask_creates_no_run(monkeypatch, tmp_path, capsys):
    from protocols.store import RunStore

    monkeypatch.setitem(sys.modules, "distributed", None)
    store = tmp_path / "runs.sqlite"
    code = main(["--store", str(store), "compare", "--seeds", "2", "--etas", "0",
                 "--nonidealities", "none"])
    assert code == 2 and "spinhil[dask]" in capsys.readouterr().err
    assert RunStore(store).list_runs() == []


def test_the_version_is_the_installed_one():
    from importlib.metadata import version

    import hil

    assert hil.__version__ == version("spinhil")


@pytest.mark.parametrize("package", ["hil", "instruments", "protocols", "simulators"])
def test_every_package_says_it_is_typed(package):
    from importlib import import_module
    from pathlib import Path

    assert (Path(import_module(package).__file__).parent / "py.typed").is_file()
