"""Connection errors, lab files, the coil, and outputs off on Ctrl-C in another process."""

import json
import signal
import subprocess
import sys
import time

import pytest

from hil.session.lab import connect_virtual
from instruments.connection import Lab, LabConnectionError, LabFile
from simulators.lab.chip import build_chip
from simulators.lab.server import VirtualLab

CLIENT = """
import signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)  # as the hil CLI does
from instruments.connection import Lab
with Lab(json.loads(sys.argv[1])) as lab:
    lab["pulse"].set_read_current(50e-6)
    lab["pulse"].enable_source()
    lab["pulse"].ask("*OPC?")
    print("on", flush=True)
    time.sleep(60)
"""


def test_ctrl_c_in_a_client_leaves_the_output_off():
    server = subprocess.Popen([sys.executable, "-m", "hil.cli", "lab", "serve", "--json"],
                              stdout=subprocess.PIPE, text=True)
    try:
        roles = json.loads(server.stdout.readline())
        resources = {r: v["resource"] for r, v in roles.items() if r != "field"}
        client = subprocess.Popen([sys.executable, "-c", "import json\n" + CLIENT,
                                   json.dumps(resources)], stdout=subprocess.PIPE, text=True)
        assert client.stdout.readline().strip() == "on"
        import pyvisa

        probe = pyvisa.ResourceManager("@py").open_resource(
            resources["pulse"], read_termination="\n", write_termination="\n", timeout=2000)
        assert probe.query("OUTP?").strip() == "1"
        client.send_signal(signal.SIGINT)
        client.wait()  # no clock: a loaded machine waits
        time.sleep(0.2)
        assert probe.query("OUTP?").strip() == "0"
        probe.close()
    finally:
        server.send_signal(signal.SIGINT)
        server.wait()


def test_unreachable_instrument_names_role_and_address():
    lab = Lab({"pulse": "TCPIP0::127.0.0.1::1::SOCKET"}, timeout_ms=500)
    with pytest.raises(LabConnectionError, match=r"pulse at TCPIP0::127.0.0.1::1::SOCKET"):
        lab.connect()


def test_lab_file(tmp_path):
    good = tmp_path / "lab.toml"
    good.write_text('virtual = true\n[limits]\nmax_pulse_current = 5e-4\n')
    lab_file = LabFile.load(good)
    assert lab_file.virtual and lab_file.limits.max_pulse_current == 5e-4
    bad = tmp_path / "bad.toml"
    bad.write_text('[roles]\npulse = "GPIB0::12::INSTR"\n[limits]\nmax_curent = 1\n')
    with pytest.raises(ValueError, match="limit 'max_curent' unknown"):
        LabFile.load(bad)
    missing = tmp_path / "missing.toml"
    missing.write_text('[roles]\npulse = "GPIB0::12::INSTR"\n')
    with pytest.raises(ValueError, match="role 'voltmeter' has no resource"):
        LabFile.load(missing)


def test_coil_sets_the_in_plane_field():
    chip = build_chip(2, 0.5e-6, 0)
    with VirtualLab(chip, coil_constant=0.05) as virtual, connect_virtual(lab=virtual) as lab:
        lab["field"].coil_constant = 0.05  # T/A, as the emulated coil
        lab["field"].set_field(0.02, compliance=10)
        assert chip.field_x == pytest.approx(0.02)
        lab["field"].check_errors()
    assert chip.field_x == 0.0  # output off at close: no coil current


def test_the_coil_ramps_down_on_the_labs_clock():
    """Switching the coil off ramps its current to zero in 30 steps 20 ms apart (pymeasure's
    ramp), each step's current sent to the emulated 2400 and the pauses counted on the lab's
    clock (an emulated lab's: 0.6 lab s, instead of sleeping them), then the output off."""
    chip = build_chip(2, 0.5e-6, 0)
    with VirtualLab(chip, coil_constant=0.05) as virtual, connect_virtual(lab=virtual) as lab:
        supply = lab["field"]
        supply.coil_constant = 0.05
        supply.set_field(0.02, compliance=10)
        levels = []
        coil = virtual.instruments["field"]

        def pause(seconds, wait=supply.pause):
            virtual.settle()  # the step's line handled
            levels.append(coil.source_current)
            wait(seconds)

        supply.pause = pause
        before = virtual.clock.seconds
        supply.shutdown()
        taken = virtual.clock.seconds - before
    assert len(levels) == 30 and levels[0] == pytest.approx(0.4 * 29 / 30)
    assert levels == sorted(levels, reverse=True) and levels[-1] == pytest.approx(0.0)
    assert taken >= 30 * 20e-3  # the pauses on the lab's clock (slept, it gains ~0.04 s)
    assert coil.output is False and chip.field_x == 0.0
