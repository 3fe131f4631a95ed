"""``hil train`` and ``hil runs`` as a user runs them."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from hil.cli import main
from protocols.store import RunStore


def _json_line(capsys):
    out = capsys.readouterr().out.strip().splitlines()
    return json.loads(out[-1]), out


def test_main_job_prints_table_and_json(tmp_path, capsys):
    plot = tmp_path / "fig.png"
    assert main(["train", "--json", "--epochs", "4", "--plot", str(plot)]) == 0
    payload, lines = _json_line(capsys)
    for key in ("run_id", "hil_accuracy", "deployed_accuracy", "loss_history", "seed", "seconds"):
        assert key in payload
    assert payload["classes"] == [0, 2, 4, 6] and payload["test_images"] == 400
    assert len(payload["loss_history"]) == 4
    assert any("deployed" in line for line in lines)
    assert plot.stat().st_size > 10_000 and plot.read_bytes()[:4] == b"\x89PNG"


def test_config_file_and_flags(tmp_path, capsys):
    cfg = tmp_path / "run.toml"
    cfg.write_text('width = "1um"\nclasses = [1, 7]\ntrain-per-class = 3\nepochs = 2\n'
                   "test_per_class = 5\ncompare = false\nseed = 4\n")
    assert main(["train", "--config", str(cfg), "--epochs", "3", "--json"]) == 0
    payload, _ = _json_line(capsys)
    assert payload["classes"] == [1, 7] and payload["seed"] == 4
    assert len(payload["loss_history"]) == 3  # the flag wins over the file
    assert "deployed_accuracy" not in payload
    run = RunStore().get_run(payload["run_id"])
    assert run.config["bank"]["width"] == pytest.approx(1e-6)
    assert run.config["data"]["train_per_class"] == 3


BAD_INPUTS = [
    (["--steps", "0"], "steps"),
    (["--classes", "0,12"], "classes"),
    (["--train-per-class", "500"], "train_per_class"),
    (["--eta", "1.0"], "eta"),
    (["--eta", "-0.1"], "eta"),
    (["--max-current", "5mA"], "max_current"),
    (["--width", "8um"], "width"),
    (["--width", "3 ns"], "width"),
]


@pytest.mark.parametrize(("flags", "field"), BAD_INPUTS)
def test_bad_input_names_the_field_and_writes_nothing(flags, field, capsys):
    assert main(["train", *flags]) == 2
    err = capsys.readouterr().err
    assert f"error: {field}" in err and ("allowed" in err or "not" in err)
    assert not (RunStore().path).exists() or RunStore().list_runs() == []


@pytest.mark.parametrize(("text", "field"), [
    ("epochs = 3\nlerning_rate = 0.1\n", "lerning_rate"),
    ("epochs = = 3\n", "config"),
])
def test_bad_toml_refused(tmp_path, text, field, capsys):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    assert main(["train", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert f"error: {field}" in err
    assert not RunStore().path.exists() or RunStore().list_runs() == []


def test_runs_list_show_export(tmp_path, capsys):
    assert main(["train", "--epochs", "2", "--test-per-class", "5", "--no-compare"]) == 0
    table = capsys.readouterr().out
    assert "held-out accuracy, 95 % interval: HIL" in table and "of 20 [" in table
    assert "too few to tell networks apart" in table  # 20 images: said so
    assert main(["runs", "list"]) == 0
    listing = capsys.readouterr().out
    assert "train" in listing and "finished" in listing and "of 20 [" in listing
    assert main(["runs", "show", "1", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["config"]["optimiser"]["epochs"] == 2 and len(shown["metrics"]["loss"]) == 2
    csv_path = tmp_path / "run1.csv"
    assert main(["runs", "export", "1", "-o", str(csv_path)]) == 0
    rows = csv_path.read_text().strip().splitlines()
    assert rows[0].startswith("step,") and "loss" in rows[0] and len(rows) >= 3
    assert main(["runs", "show", "99"]) == 2


def _hil(*args, env):
    return subprocess.Popen([sys.executable, "-m", "hil.cli", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow  # short siblings: tests/hil/learn/test_resume.py (a stopped run resumed
# equals the uninterrupted one, every backend) and tests/protocols/test_lab_protocols.py
# (a sweep killed with SIGKILL keeps its readings and resumes)
def test_resume_after_sigkill_gives_the_uninterrupted_result(tmp_path):
    env = {**os.environ, "SPINHIL_HOME": str(tmp_path / "home")}
    options = ["train", "--epochs", "14", "--train-per-class", "25", "--test-per-class", "20",
               "--seed", "5", "--json"]
    full = subprocess.run([sys.executable, "-m", "hil.cli", *options], env=env, text=True,
                          capture_output=True, check=True)
    expected = json.loads(full.stdout.strip().splitlines()[-1])

    victim = _hil(*options, env=env)
    db = tmp_path / "home" / "runs.sqlite"
    checkpoints = 0
    while victim.poll() is None and checkpoints < 3:  # no clock: a loaded machine waits
        time.sleep(0.02)
        if db.exists():
            with sqlite3.connect(db) as con:
                try:
                    (checkpoints,) = con.execute(
                        "SELECT COALESCE(MAX(step) + 1, 0) FROM checkpoints WHERE run_id=2"
                    ).fetchone()
                except sqlite3.OperationalError:
                    checkpoints = 0
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert 3 <= checkpoints < 14, "the run must be killed part-way"
    killed = RunStore(db).get_run(2)
    assert killed.status == "interrupted"
    assert len(RunStore(db).metrics(2)["loss"]) >= 3  # every finished epoch was kept

    resumed = subprocess.run([sys.executable, "-m", "hil.cli", "train", "--resume", "2",
                              "--json"], env=env, text=True, capture_output=True, check=True)
    got = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert got["run_id"] == 2
    for key in ("loss_history", "hil_accuracy", "deployed_accuracy", "train_accuracy"):
        assert got[key] == expected[key], key
    assert RunStore(db).get_run(2).status == "finished"
