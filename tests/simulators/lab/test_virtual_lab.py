"""The virtual lab through real pyvisa-py sockets: pymeasure as is, our drivers, faults."""

import warnings

import numpy as np
import pytest
from pymeasure.instruments.keithley import Keithley2000, Keithley2400, Keithley6221

from hil.session.lab import connect_virtual
from instruments.limits import LimitError, SafetyLimits
from protocols.cycle import CycleSettings, ProtocolError, ResetWriteRead
from protocols.fitting import wilson_interval
from simulators.lab.chip import build_chip
from simulators.lab.server import Fault, VirtualLab

VISA = dict(visa_library="@py", read_termination="\n", write_termination="\n", timeout=2000)


@pytest.fixture
def lab():
    with VirtualLab(build_chip(4, 0.5e-6, 3)) as virtual:
        yield virtual


def test_unmodified_pymeasure_does_reset_write_read_by_hand(lab):
    res = lab.resources
    source = Keithley6221(res["pulse"]["resource"], **VISA)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        meter = Keithley2000(res["voltmeter"]["resource"], **VISA)
    coil = Keithley2400(res["field"]["resource"], **VISA)
    assert "MODEL 6221" in source.id and "MODEL 2000" in meter.id and "MODEL 2400" in coil.id

    def hall_resistance():
        source.source_current = 50e-6
        source.enable_source()
        source.ask("*OPC?")
        value = meter.voltage / 50e-6
        source.disable_source()
        return value

    source.source_current = -0.6e-3  # reset: software-timed DC pulse
    source.enable_source()
    source.disable_source()
    after_reset = hall_resistance()
    source.source_current = 0.6e-3  # write, well above I_bias
    source.enable_source()
    source.disable_source()
    after_write = hall_resistance()
    assert after_reset < -1.0 and after_write > 1.0  # R_AHE flipped sign
    assert lab.chip.states[0] == 1
    assert source.check_errors() == []  # the emulator understood every command


def test_our_cycle_switches_with_the_models_probability(lab):
    device = lab.chip.devices.select(0)
    current = float(device.i_bias(100e-6)[0]) * 1.01
    expected = float(device.p_switch(np.array([current]), 100e-6)[0])
    with connect_virtual(lab=lab) as connection:
        rwr = ResetWriteRead(connection)
        rwr.calibrate()
        switched = sum(rwr.cycle(current) for _ in range(150))
        lab_seconds = lab.clock.now()
    low, high = wilson_interval([switched], 150, confidence=0.999)
    assert low[0] <= expected <= high[0], (switched, expected)
    assert lab_seconds > 150 * 2 * 100e-6  # the virtual clock counted the pulses at least


def test_limit_refused_before_anything_is_sent(lab):
    with connect_virtual(lab=lab, limits=SafetyLimits(max_pulse_current=0.5e-3)) as connection:
        rwr = ResetWriteRead(connection, CycleSettings(reset_current=-0.45e-3))
        rwr.calibrate(write_current=0.45e-3)
        sent = len(lab.instruments["pulse"].log)
        with pytest.raises(LimitError, match="pulse current"):
            rwr.cycle(0.6e-3)
        assert len(lab.instruments["pulse"].log) == sent


def test_exception_mid_sequence_leaves_output_off(lab):
    emulator = lab.instruments["pulse"]
    with pytest.raises(RuntimeError, match="boom"), connect_virtual(lab=lab) as connection:
        connection["pulse"].set_read_current(50e-6)
        connection["pulse"].enable_source()
        connection["pulse"].ask("*OPC?")
        assert emulator.output
        raise RuntimeError("boom")
    assert emulator.output is False


@pytest.mark.parametrize("kind", ["drop", "late", "garble"])
def test_communication_faults_repeat_the_cycle_never_a_wrong_reading(kind):
    chip = build_chip(4, 0.5e-6, 3)
    with VirtualLab(chip) as virtual:
        with connect_virtual(lab=virtual, limits=SafetyLimits()) as connection:
            connection.timeout_ms = 1000
            for role in ("pulse", "voltmeter"):
                connection.reconnect(role)
            rwr = ResetWriteRead(connection)
            rwr.calibrate()
            fault = Fault(kind, "voltmeter", after=virtual.lines["voltmeter"] + 2, delay=2.5)
            virtual.faults.append(fault)  # strikes inside the cycles below
            results = [rwr.cycle(0.7e-3) for _ in range(6)]  # far above I_bias: always 1
        assert fault.fired and rwr.repeats >= 1
        assert all(results)
        assert virtual.instruments["pulse"].output is False


@pytest.mark.parametrize(("kind", "role", "message"), [
    ("error", "pulse", "reported"),
    ("reset", "voltmeter", "reset itself"),
    ("stuck", "pulse", "did not reset"),
])
def test_faults_that_stop_the_run_with_outputs_off(kind, role, message):
    chip = build_chip(4, 0.5e-6, 3)
    fault = Fault(kind, role, after=0, device=0, state=1)
    with VirtualLab(chip) as virtual:
        with pytest.raises(ProtocolError, match=message), connect_virtual(lab=virtual) as lab:
            rwr = ResetWriteRead(lab)
            rwr.calibrate()
            fault.after = virtual.lines[role] + 3
            virtual.faults.append(fault)
            for _ in range(20):
                rwr.cycle(0.7e-3)
        assert fault.fired
        assert virtual.instruments["pulse"].output is False


def test_a_clients_clock_has_charged_every_line_it_wrote(lab):
    """A write returns before its emulator has handled it; ``clock.now()`` waits until it
    has, so the time just after a write includes that write's bus cost, every time."""
    import pyvisa

    meter = pyvisa.ResourceManager("@py").open_resource(lab.resources["voltmeter"]["resource"],
                                                        read_termination="\n",
                                                        write_termination="\n", timeout=2000)
    try:
        line = ":SENS:VOLT:NPLC 1"
        expected = lab.clock.bus_latency + lab.clock.transfer(len(line) + 1)
        meter.query("*OPC?")
        taken = []
        for _ in range(200):
            before = lab.clock.now()
            meter.write(line)
            taken.append(lab.clock.now() - before)
        assert taken == pytest.approx([expected] * 200)
    finally:
        meter.close()
