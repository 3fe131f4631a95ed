"""The tour of the CLI (docs/tour.md), line by line, as a newcomer types it
(shortened: fewer epochs, cycles and trials appended, which argparse lets override the
line's own)."""

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hil.cli.main import build_parser, main

ROOT = Path(__file__).resolve().parents[3]
NEEDS_A_SCREEN = ("hil gui",)
SHORT = {  # appended to each command of the tour
    ("train",): ["--epochs", "1", "--train-per-class", "1", "--test-per-class", "1",
                 "--steps", "4", "--no-progress"],
    ("simulate", "psw"): ["--trials", "4", "--currents", "5uA:25uA:4"],
    ("characterise", "sweep"): ["--iterations", "40"],
    ("characterise", "survey"): ["--iterations", "20"],
    ("characterise", "endurance"): ["--cycles", "100"],
}


def tour_lines() -> list[str]:
    text = (ROOT / "docs" / "tour.md").read_text()
    tour = text.split("## A tour of the CLI", 1)[1]
    block = re.search(r"```bash\n(.*?)```", tour, re.S).group(1)
    lines = []
    for raw in block.splitlines():
        line = raw.split(" # ", 1)[0].strip() if not raw.lstrip().startswith("printf") \
            else raw.strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def _short(argv: list[str]) -> list[str]:
    for prefix, extra in SHORT.items():
        if tuple(argv[: len(prefix)]) == prefix:
            return [*argv, *extra]
    return argv


def test_every_tour_line_parses():
    """The short version: every ``hil`` line of the tour is a valid command line."""
    lines = tour_lines()
    assert len(lines) > 25
    parser = build_parser()
    for line in lines:
        if line.startswith("hil "):
            parser.parse_args(shlex.split(line.rstrip("&").strip())[1:])


@pytest.mark.slow
def test_the_tour_runs_as_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SPINHIL_LLGS_COMPILE", "0")  # eager: no minute of compiling
    server = None
    try:
        for line in tour_lines():
            if line in NEEDS_A_SCREEN:
                continue
            if not line.startswith("hil "):  # a shell line (a config file)
                subprocess.run(["bash", "-c", line], check=True)
                continue
            if line.endswith("&"):  # the served lab: started, and its lab file awaited
                argv = shlex.split(line[:-1])
                server = subprocess.Popen(
                    [sys.executable, "-m", "hil", *argv[1:]], stdout=subprocess.PIPE,
                    text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
                assert server.stdout.readline()  # the first address: serving
                while not (tmp_path / "mylab.toml").exists() and server.poll() is None:
                    time.sleep(0.05)
                continue
            argv = _short(shlex.split(line)[1:])
            code = main(argv)
            if "--devices 96" in line:  # the chip's dead, stuck and open devices: exit 3,
                out = capsys.readouterr()  # each named, and the map drawn all the same
                assert code == 3 and "device" in out.err + out.out, (line, out.err)
                continue
            assert code == 0, (line, capsys.readouterr().err)
        for figure in ("psw.png", "sweep.png", "hysteresis.png", "endurance.png",
                       "anisotropy.png", "survey.png", "chip-map.png"):
            assert (tmp_path / figure).read_bytes()[:4] == b"\x89PNG", figure
        assert (tmp_path / "sweep.csv").exists() and (tmp_path / "run1.csv").exists()
    finally:
        if server is not None:
            server.send_signal(signal.SIGINT)
            server.wait()
