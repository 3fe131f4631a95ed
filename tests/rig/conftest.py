"""The rig under test: the lab file given with ``pytest --lab FILE``, or a virtual lab served
by ``hil lab serve --write-lab`` in its own process (60 Hz mains, its boxes drawn from serial
numbers), reached like any rig: through the lab file, pyvisa and the drivers. Served, the
suite runs twice: the Hall voltage read by a 2000, and by a 2182A (``--voltmeter``)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SERVE_SECONDS = 60.0  # a served lab writes its lab file within this


def pytest_generate_tests(metafunc):
    """A lab file given: that rig; none: a served lab with each voltmeter model."""
    if "voltmeter" in metafunc.fixturenames:
        given = metafunc.config.getoption("--lab") is not None
        metafunc.parametrize("voltmeter", ["lab file"] if given else ["2000", "2182A"],
                             scope="session")


@pytest.fixture(scope="session")
def lab_file(request, tmp_path_factory, voltmeter):
    given = request.config.getoption("--lab")
    if given is not None:
        yield Path(given)
        return
    path = tmp_path_factory.mktemp("rig") / "served.toml"
    server = subprocess.Popen(
        [sys.executable, "-m", "hil", "lab", "serve", "--write-lab", str(path), "--seed", "5",
         "--line-frequency", "60", "--units", "11", "--voltmeter", voltmeter],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ})
    deadline = time.monotonic() + SERVE_SECONDS
    while not path.exists() and server.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if not path.exists():
        server.kill()
        pytest.fail(f"hil lab serve wrote no lab file: {server.stderr.read().decode()}")
    try:
        yield path
    finally:
        server.send_signal(signal.SIGINT)  # the server's own Ctrl-C: it stops its sockets
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.fixture(scope="module")
def rig(lab_file):
    """The rig's instruments, connected (every *RST;*CLS done), outputs off at the end."""
    from instruments.connection import Lab, LabFile

    lab = Lab.from_file(LabFile.load(lab_file)).connect()
    try:
        yield lab
    finally:
        lab.close()
