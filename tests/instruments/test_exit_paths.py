"""Every exit path switches the outputs off, and the operator hears "outputs are off" only
when OUTP? has said so.

SIGTERM and SIGHUP of ``hil characterise sweep`` and ``hil train --backend lab`` against a
separately served lab (``hil lab serve``) leave every output off, asked with OUTP? on a fresh
connection; after kill -9 the next ``hil`` command on that lab switches them off, before it
sends anything else (shown in-process on the emulators' logs, with SIGQUIT, SIGINT and a
signal that comes while outputs are being switched off).
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import pyvisa

from hil.cli import main
from hil.session.lab import connect_virtual
from instruments.errors import StopSignal
from protocols.store import RunStore
from simulators.lab.chip import build_chip
from simulators.lab.server import VirtualLab

RUNS = {
    "sweep": ["characterise", "sweep", "--currents", "0.26mA:0.36mA:8", "--iterations", "500",
              "--timing", "software"],
    "train": ["train", "--backend", "lab", "--classes", "0,2", "--train-per-class", "2",
              "--steps", "10", "--epochs", "50", "--no-progress", "--timing", "software"],
}


def _write_rig(path, resources: dict) -> str:
    path.write_text("[roles]\n" + "".join(f'{role} = "{entry["resource"]}"\n'
                                          for role, entry in resources.items()))
    return str(path)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """``hil lab serve`` in its own process; the rig file that points at it."""
    server = subprocess.Popen([sys.executable, "-m", "hil.cli", "lab", "serve", "--json",
                               "--devices", "2", "--seed", "3"], stdout=subprocess.PIPE,
                              text=True)
    try:
        resources = json.loads(server.stdout.readline())
        rig = _write_rig(tmp_path_factory.mktemp("rig") / "rig.toml", resources)
        rm = pyvisa.ResourceManager("@py")
        yield resources, rig, rm
        rm.close()
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


def _ask(rm, resources, role: str, command: str) -> str:
    """One query on a fresh connection of our own (not the run's)."""
    inst = rm.open_resource(resources[role]["resource"], read_termination="\n",
                            write_termination="\n", timeout=5000)
    try:
        return inst.query(command).strip()
    finally:
        inst.close()


def _outputs(rm, resources) -> dict[str, str]:
    return {role: _ask(rm, resources, role, ":OUTP?") for role in ("pulse", "field")}


def _field_on(rm, resources) -> None:
    """The coil supply's output on: a source the run itself left alone. At 0 A, so the
    device keeps the standing in-plane field its switching needs (a weak coil field would
    replace it mid-run and make the run's calibration fail before the signal comes)."""
    inst = rm.open_resource(resources["field"]["resource"], read_termination="\n",
                            write_termination="\n", timeout=5000)
    inst.write(":SOUR:FUNC CURR;:SOUR:CURR 0;:OUTP ON")
    assert inst.query(":OUTP?").strip() == "1"
    inst.close()


def _start(command: str, rig: str, home) -> subprocess.Popen:
    env = {**os.environ, "SPINHIL_HOME": str(home)}
    # SIGHUP as a terminal would deliver it, even when this suite itself runs under nohup
    # (the CLI leaves a signal its shell told it to ignore alone, on purpose)
    return subprocess.Popen([sys.executable, "-m", "hil.cli", *RUNS[command], "--lab", rig],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL))


def _until_pulse_on(rm, resources, victim) -> None:
    """Wait until the run has the 6221's output on (it is mid-cycle), at most 5 minutes."""
    deadline = time.monotonic() + 300
    while _ask(rm, resources, "pulse", ":OUTP?") != "1":
        assert victim.poll() is None, victim.communicate()[1]
        assert time.monotonic() < deadline, "the run never switched the output on"
        time.sleep(0.005)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
@pytest.mark.parametrize("command", ["sweep", "train"])
def test_signal_leaves_every_output_off(served, tmp_path, command, signum):
    resources, rig, rm = served
    victim = _start(command, rig, tmp_path / "home")
    _until_pulse_on(rm, resources, victim)
    _field_on(rm, resources)
    victim.send_signal(signum)
    err = victim.communicate(timeout=120)[1]
    assert _outputs(rm, resources) == {"pulse": "0", "field": "0"}
    assert victim.returncode == 128 + signum, err
    name = signal.Signals(signum).name
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].endswith(
        f"stopped by {name}; outputs are off (confirmed by OUTP?)"), err
    runs = RunStore(tmp_path / "home" / "runs.sqlite").list_runs()
    assert runs and runs[0].status == "aborted"  # the run in progress, recorded as stopped


def test_kill_9_then_the_next_command_switches_everything_off(served, tmp_path):
    resources, rig, rm = served
    victim = _start("sweep", rig, tmp_path / "home")
    _until_pulse_on(rm, resources, victim)
    _field_on(rm, resources)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=60)
    left = _outputs(rm, resources)
    assert left["field"] == "1"  # nothing switched it off
    if left["pulse"] == "0":  # killed between two reads: leave the 6221 on as a run could
        inst = rm.open_resource(resources["pulse"]["resource"], read_termination="\n",
                                write_termination="\n", timeout=5000)
        inst.write(":SOUR:CURR 5E-5;:OUTP ON")
        assert inst.query("*OPC?") == "1"  # handled before this connection closes
        inst.close()
    assert _outputs(rm, resources) == {"pulse": "1", "field": "1"}
    env = {**os.environ, "SPINHIL_HOME": str(tmp_path / "next")}
    after = subprocess.run([sys.executable, "-m", "hil.cli", "characterise", "sweep", "--lab",
                            rig, "--currents", "0.3mA:0.32mA:3", "--iterations", "2",
                            "--timing", "software", "--json"], env=env, text=True,
                           capture_output=True, timeout=300)
    assert after.returncode in (0, 3), after.stderr  # it ran (3: too short to calibrate)
    assert _outputs(rm, resources) == {"pulse": "0", "field": "0"}


def _left_on(virtual: VirtualLab) -> None:
    """What a killed run leaves: the 6221 on at 0.5 mA, the 2400 driving the coil."""
    pulse, field = virtual.instruments["pulse"], virtual.instruments["field"]
    for command in (":SOUR:CURR 5E-4", ":OUTP ON"):
        pulse.handle(command)
    for command in (":SOUR:FUNC CURR", ":SOUR:CURR 1E-3", ":OUTP ON"):
        field.handle(command)
    assert pulse.output and field.output


def test_first_contact_switches_every_source_off_before_anything_else():
    with VirtualLab(build_chip(2, 0.5e-6, 0)) as virtual:
        _left_on(virtual)
        meter = virtual.instruments["voltmeter"]
        seen = []  # the sources' outputs when the voltmeter gets its first line
        handle = meter.handle
        meter.handle = lambda line: (seen.append((virtual.instruments["pulse"].output,
                                                  virtual.instruments["field"].output))
                                     or handle(line))
        for source in ("pulse", "field"):
            virtual.instruments[source].log.clear()
        lab = connect_virtual(lab=virtual)
        try:
            lab["voltmeter"]  # the first thing this program asks for
            assert seen[0] == (False, False)
            for source in ("pulse", "field"):
                log = [line for line in virtual.instruments[source].log  # pymeasure's 2400
                       if not line.startswith(":FORMAT:ELEM")]  # driver sets its data format
                # its first line: the guard reads back what the source holds, output first
                assert log[0].startswith(":OUTP?;"), log
                assert all(query.endswith("?") for query in log[0].split(";")), log
                before_reset = log[:log.index("*RST;*CLS")]
                assert {"OUTPUT OFF", ":OUTP OFF"} & set(before_reset), log  # then off
        finally:
            lab.close()


@pytest.mark.parametrize("signum", [signal.SIGQUIT, signal.SIGINT], ids=["SIGQUIT", "SIGINT"])
def test_signal_in_process_switches_off_and_restores_the_handlers(signum):
    # as a terminal starts a program: a shell running the suite in the background without job
    # control starts it with SIGINT and SIGQUIT ignored, which the lab rightly leaves alone
    start = signal.signal(signum, signal.default_int_handler if signum == signal.SIGINT
                          else signal.SIG_DFL)
    try:
        _signal_in_process(signum)
    finally:
        signal.signal(signum, start)


def _signal_in_process(signum):
    before = signal.getsignal(signal.SIGTERM)
    with VirtualLab(build_chip(2, 0.5e-6, 0)) as virtual:
        with pytest.raises(KeyboardInterrupt) as stopped, connect_virtual(lab=virtual) as lab:
            lab["pulse"].set_read_current(50e-6)
            lab["pulse"].enable_source()
            lab["pulse"].complete()
            assert virtual.instruments["pulse"].output
            os.kill(os.getpid(), signum)
            for _ in range(500):  # the handler runs in this thread, between two lines
                time.sleep(0.01)
        assert virtual.instruments["pulse"].output is False
    assert getattr(stopped.value, "signum", signal.SIGINT) == signum
    assert signal.getsignal(signal.SIGTERM) == before  # no lab open: handlers as they were


def test_signal_while_switching_off_waits_until_outputs_are_off():
    with VirtualLab(build_chip(2, 0.5e-6, 0)) as virtual:
        pulse = virtual.instruments["pulse"]
        handle = pulse.handle

        sent = []

        def signal_on_switch_off(line):  # SIGTERM arrives in the middle of switching off
            if line.upper() == "OUTPUT OFF" and not sent:  # once: a later one would find
                sent.append(line)  # the default handler back and end this process
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.05)
            return handle(line)

        lab = connect_virtual(lab=virtual).connect()
        lab["pulse"].set_read_current(50e-6)
        lab["pulse"].enable_source()
        pulse.handle = signal_on_switch_off
        try:
            with pytest.raises(StopSignal) as stopped:
                lab.close()  # finishes switching off, then stops
        finally:
            pulse.handle = handle
        assert stopped.value.signum == signal.SIGTERM
        assert pulse.output is False and virtual.instruments["field"].output is False
        assert lab.instruments == {}


def test_output_that_stays_on_is_named_never_called_off(tmp_path, capsys):
    with VirtualLab(build_chip(2, 0.5e-6, 0)) as virtual:
        pulse = virtual.instruments["pulse"]
        handle = pulse.handle
        stuck = {"on": False}

        def relay_welded(line):  # once the run has pulsed, OUTP? answers 1 whatever is sent
            stuck["on"] |= "WAVE:INIT" in line.upper()
            reply = handle(line)
            return "1" if stuck["on"] and line.upper() == ":OUTP?" else reply

        pulse.handle = relay_welded
        address = virtual.resources["pulse"]["resource"]
        rig = _write_rig(tmp_path / "rig.toml", virtual.resources)
        code = main(["characterise", "sweep", "--lab", rig, "--currents", "0.3mA:0.32mA:3",
                     "--iterations", "2", "--timing", "software"])
        err = capsys.readouterr().err
    assert code == 1, err
    assert "outputs are off" not in err
    assert f"WARNING: the pulse output ({address}) may still be on" in err
    assert "switch it off at the instrument" in err and "Traceback" not in err
