"""The scripted session of docs/guide/scripts.md, run as written beside a lab file of the
served virtual lab (``hil lab serve --write-lab mylab.toml``): its training run describes
itself (the lab file and its hash, every instrument's settings at the start, each device
with its calibration and the sweep run it came from, the data split, the seeds and the
code), not ``lab=None, calibration=nominal``."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hil.cli import main
from protocols.store import RunStore
from protocols.sweep import fifty_percent_current

ROOT = Path(__file__).resolve().parents[3]
GUIDE = ROOT / "docs" / "guide" / "scripts.md"


def _session_code() -> str:
    return re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.S)[0]


def _run_in(folder: Path, code: str, monkeypatch) -> None:
    monkeypatch.chdir(folder)
    exec(compile(code, str(GUIDE), "exec"), {"__name__": "guide"})


def _check_the_record(folder: Path, capsys) -> None:
    store = RunStore(folder / "night.sqlite")
    runs = store.list_runs()
    assert [(r.kind, r.status) for r in runs] == [("sweep", "finished"), ("sweep", "finished"),
                                                  ("train", "finished")]
    train = runs[2]
    assert train.config["bank"]["lab"] == "mylab.toml" and train.config["banks"] == "given"
    assert train.config["bank"]["calibration"] == "given"  # the banks' own: the sweeps'
    record = store.provenance(train.id)
    (bank,) = record["banks"]
    assert bank["devices"] == [0, 1]
    assert bank["calibration_sweeps"] == [runs[0].id, runs[1].id]
    for device, sweep in enumerate(runs[:2]):  # each device's calibration: its sweep's 50 %
        assert bank["calibration"][device]["i_bias"] == fifty_percent_current(sweep.result)
        assert record["calibration"][0]["neurons"][device]["i0"] == sweep.result["i0"]
    lab_file = (folder / "mylab.toml").read_bytes()
    assert bank["lab"]["sha256"] == hashlib.sha256(lab_file).hexdigest()
    assert bank["lab"]["content"] == lab_file.decode()
    for role, setting in (("pulse", "compliance"), ("voltmeter", "nplc"),
                          ("voltmeter", "trigger_source"), ("switch", "closed_channels")):
        assert setting in record["instruments"][role], (role, setting)
    assert record["data"]["train_images"] == 8 and len(record["data"]["train_sha256"]) == 64
    assert record["seeds"]["seed"] == 0 and record["version"] and "git_commit" in record
    assert main(["--store", str(folder / "night.sqlite"), "runs", "show", str(train.id)]) == 0
    shown = capsys.readouterr().out
    assert "calibration each device's newest usable sweep" in shown
    assert f"(sweep runs [{runs[0].id}, {runs[1].id}])" in shown
    assert f"sha256 {bank['lab']['sha256'][:16]}" in shown
    assert (folder / "night.pt").exists()


@pytest.mark.slow
def test_the_guides_session_as_written_on_the_served_virtual_lab(tmp_path, monkeypatch,
                                                                 capsys):
    server = subprocess.Popen([sys.executable, "-m", "hil", "lab", "serve", "--devices", "4",
                               "--seed", "1", "--write-lab", "mylab.toml"], cwd=tmp_path,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout.readline()  # serving
        while not (tmp_path / "mylab.toml").exists() and server.poll() is None:
            time.sleep(0.05)
        _run_in(tmp_path, _session_code(), monkeypatch)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait()
    _check_the_record(tmp_path, capsys)


def test_the_guides_session_in_two_epochs_on_a_virtual_lab_file(tmp_path, monkeypatch,
                                                                capsys):
    (tmp_path / "mylab.toml").write_text("virtual = true\n")
    code = _session_code()
    short = code.replace('validation_per_class=2)', 'validation_per_class=2, epochs=2, '
                         'test_per_class=5)')
    assert short != code
    _run_in(tmp_path, short, monkeypatch)
    _check_the_record(tmp_path, capsys)
    assert os.path.exists(tmp_path / "night.npz")
