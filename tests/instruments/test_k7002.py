"""The 7002 driver's exact SCPI, its route guard, the lab file's wiring, and the guard's
per-device limits through the matrix, judged by what the emulated devices receive."""

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymeasure.test import expected_protocol

from hil.session.lab import connect_virtual
from instruments import scpi
from instruments.connection import Lab, LabFile
from instruments.errors import InstrumentError, ReplyError
from instruments.guard import Guard7002
from instruments.guard.k7002 import channel_list
from instruments.keithley import PulseSource, SwitchSystem, SwitchWiring
from instruments.limits import LimitError, SafetyLimits
from simulators.lab.chip import build_chip
from simulators.lab.clock import LabClock
from simulators.lab.k7002 import Keithley7002Emulator, pair_wiring
from simulators.lab.server import VirtualLab

WIRING = SwitchWiring.from_pairs(pair_wiring(24), cards=2)


def test_select_routes_one_device_and_reads_it_back():
    with expected_protocol(SwitchSystem, [
        (":ROUT:OPEN ALL;:ROUT:CLOS (@1!4,1!14)", None),
        (":ROUT:CLOS:STAT?", "(@1!4,1!14)"),
        ("SYST:ERR?", '0,"No error"'),
        (":ROUT:OPEN ALL;:ROUT:CLOS (@2!2,2!12)", None),
        (":ROUT:CLOS:STAT?", "(@2!2,2!12)"),
        ("SYST:ERR?", '0,"No error"'),
        (":ROUT:CONF:SLOT1:STIM 0.002", None),
        (":ROUT:CONF:SLOT2:CTYP?", "C7011"),
    ], wiring=WIRING) as switch:
        switch.select(3)
        switch.select(3)  # routed already: nothing is sent, no relay moves
        switch.select(21)
        assert switch.routes == 2 and switch.relay_closures == 4
        assert switch.routed_device() == 21
        switch.settling_time = 2e-3
        assert switch.card_type(2) == "C7011"
        with pytest.raises(ValueError, match="device = 24 is not wired"):
            switch.select(24)


def test_a_route_the_7002_does_not_hold_is_an_error():
    with expected_protocol(SwitchSystem, [
        (":ROUT:OPEN ALL;:ROUT:CLOS (@1!1,1!11)", None),
        (":ROUT:CLOS:STAT?", "(@1!1)"),
    ], wiring=WIRING) as switch, pytest.raises(InstrumentError, match="not routed"):
        switch.select(0)


@pytest.mark.parametrize("reply", ["(@1!1,", "1!1,1!11", "(@1!1,1!11)V", ""])
def test_a_garbled_channel_list_is_a_reply_error(reply):
    with expected_protocol(SwitchSystem, [(":ROUT:CLOS:STAT?", reply)],
                           wiring=WIRING) as switch, pytest.raises(ReplyError):
        switch.closed()


def guard(busy=None):
    g = Guard7002(WIRING)
    g.check("*RST")
    g.picture.interlock = lambda: busy
    return g


def read_back(g, reply):
    """The 7002 names its closed channels (as the driver asks after every route)."""
    g.check(":ROUT:CLOS:STAT?")
    g.replied(reply)


@pytest.mark.parametrize("line, why", [
    (":ROUT:CLOS (@1!1,1!2)", "devices 0, 1 at once"),
    (":ROUT:CLOS (@1!1);:ROUT:CLOS (@1!12)", "devices 0, 1 at once"),
    (":ROUT:CLOS (@3!1)", "wired to no device"),
    (":ROUT:CLOS (@1!1:1!3)", "at once"),
    (":ROUT:CONF:BBM OFF", "make-before-break"),
    ("*RCL 1", "cannot see the settings"),
    (":ROUT:SCAN (@1!1)", "not a command the safety guard knows"),
])
def test_the_route_guard_refuses_before_a_byte_is_sent(line, why):
    g = guard()
    with pytest.raises(LimitError, match=why):
        g.check(line)
    assert g.state.closed == frozenset()  # a refused line changes nothing


def test_no_relay_moves_while_the_source_may_be_live():
    g = guard("the 6221's output may be on")
    with pytest.raises(LimitError, match="switches hot"):
        g.check(":ROUT:CLOS (@1!1,1!11)")
    g = guard()
    g.check(":ROUT:CLOS (@1!1,1!11)")
    g.picture.interlock = lambda: "the 6221's output may be on"
    with pytest.raises(LimitError, match="switches hot"):  # the 7002 may not hold them yet
        g.check(":ROUT:CLOS (@1!1)")
    read_back(g, "(@1!1,1!11)")
    g.check(":ROUT:CLOS (@1!1)")  # nothing moves: allowed
    g.check(":ROUT:OPEN (@1!2)")
    for line in (":ROUT:OPEN ALL", ":ROUT:OPEN (@1!11)", "*RST", ":SYST:PRES"):
        with pytest.raises(LimitError, match="switches hot"):
            g.check(line)
    assert g.state.closed == {(1, 1), (1, 11)}


def test_an_unknown_route_is_not_added_to():
    g = Guard7002(WIRING)
    with pytest.raises(LimitError, match="unknown"):
        g.check(":ROUT:CLOS (@1!1)")
    g.check(":ROUT:OPEN ALL;:ROUT:CLOS (@1!1,1!11)")
    assert WIRING.routed(g.state.closed) == 0


def test_channel_list_syntax():
    assert channel_list("(@ 1!3, 1!5:1!7)") == {(1, 3), (1, 5), (1, 6), (1, 7)}
    for bad in ("(1!3)", "(@1!7:1!5)", "(@1!3:2!4)", "(@11!1)", "(@1!41)", "(@1!1:1!2:1!3)"):
        with pytest.raises(ValueError):
            channel_list(bad)


LAB_FILE = """
[roles]
pulse = "TCPIP0::127.0.0.1::1::SOCKET"
voltmeter = "TCPIP0::127.0.0.1::2::SOCKET"
switch = "TCPIP0::127.0.0.1::3::SOCKET"
[limits]
max_pulse_current = "0.75 mA"
[switch]
model = "7002"
cards = 1
[devices.0]
current = "1!1"
voltage = "1!11"
[devices.1]
current = "1!2"
voltage = ["1!12"]
max_pulse_current = "0.4 mA"
"""


def test_the_lab_file_maps_devices_to_channels_and_limits(tmp_path):
    path = tmp_path / "lab.toml"
    path.write_text(LAB_FILE)
    lab_file = LabFile.load(path)
    assert lab_file.devices == [0, 1]
    assert lab_file.wiring.channels(1) == {(1, 2), (1, 12)}
    lab = Lab.from_file(lab_file)
    assert lab.device_limits(1).max_pulse_current == pytest.approx(0.4e-3)
    assert lab.device_limits(0).max_pulse_current == pytest.approx(0.75e-3)


@pytest.mark.parametrize("change, field", [
    (('voltage = ["1!12"]', 'voltage = "1!11"'), "wired to devices 0 and 1"),
    (('current = "1!2"', 'current = "2!2"'), "outside the allowed range [1, 1]"),
    (('current = "1!2"', 'current = "1-2"'), "devices.1 current"),
    (('current = "1!2"', 'current = "1!41"'), "devices.1 current"),
    (('max_pulse_current = "0.4 mA"', 'max_pulse_current = "0.4 V"'), "max_pulse_current"),
    (('max_pulse_current = "0.4 mA"', 'max_pulse_current = "1 A"'), "max_pulse_current"),
    (('max_pulse_current = "0.4 mA"', 'colour = "red"'), "key 'colour' unknown"),
    (('cards = 1', 'cards = 11'), "switch cards"),
    (('model = "7002"', 'model = "7001"'), "switch model"),
    (('switch = "TCPIP0::127.0.0.1::3::SOCKET"', ''), "need a switch role"),
])
def test_a_bad_wiring_is_refused_naming_the_field(tmp_path, change, field):
    path = tmp_path / "lab.toml"
    path.write_text(LAB_FILE.replace(*change))
    with pytest.raises(ValueError, match=field.replace("[", r"\[").replace("]", r"\]")):
        LabFile.load(path)


# -- against the served emulator, through pyvisa-py sockets ----------------------------------
def test_routing_every_device_through_real_sockets():
    with connect_virtual(devices=24, switch="7002") as lab:
        switch, emulated = lab["switch"], lab.virtual_lab.instruments["switch"]
        assert lab.identities["switch"].startswith("KEITHLEY INSTRUMENTS INC.,MODEL 7002")
        assert switch.card_type(2) == "C7011" and switch.card_type(3) == "NONE"
        for device in range(24):
            lab.select_device(device)
            assert emulated.chip.current_path == {device}
            assert emulated.chip.sense_path == {device}
        lab.select_device(23)  # already routed
        assert switch.relay_closures == sum(emulated.closures.values()) == 48
        assert sum(emulated.openings.values()) == 46


def served_lab(tmp_path, limits_text="max_pulse_current = \"0.4 mA\""):
    """A 4-device chip on a served 7002, its lab file giving device 2 its own limit."""
    virtual = VirtualLab(build_chip(4, 0.5e-6, 0), LabClock(), switch="7002").start()
    resources = {role: entry["resource"] for role, entry in virtual.resources.items()}
    wiring = SwitchWiring.from_pairs(pair_wiring(4), cards=1).lab_file_text()
    wiring = wiring.replace('[devices.2]\ncurrent = "1!3"\nvoltage = "1!13"\n',
                            f'[devices.2]\ncurrent = "1!3"\nvoltage = "1!13"\n{limits_text}\n')
    roles = "\n".join(f'{r} = "{v}"' for r, v in resources.items() if r != "field")
    path = tmp_path / "lab.toml"
    path.write_text(f"[roles]\n{roles}\n[limits]\nmax_pulse_current = \"0.75 mA\"\n{wiring}")
    lab = Lab.from_file(LabFile.load(path))
    lab.clock = virtual.clock
    return virtual, lab


def test_a_pulse_over_the_routed_devices_limit_never_reaches_it(tmp_path):
    virtual, lab = served_lab(tmp_path)
    chip = virtual.chip
    try:
        with lab:
            lab.select_device(1)
            lab["pulse"].pulse(0.5e-3, 100e-6)  # device 1 has the lab's 0.75 mA
            assert chip.received[1] == pytest.approx(0.5e-3)
            lab.select_device(2)
            with pytest.raises(LimitError, match=r"0\.0004"):
                lab["pulse"].pulse(0.5e-3, 100e-6)  # device 2's own limit is 0.4 mA
            lab["pulse"].pulse(-0.35e-3, 100e-6)
            assert chip.received[2] == pytest.approx(0.35e-3)
            lab["switch"].write(":ROUT:OPEN ALL")
            with pytest.raises(LimitError, match="no device is routed"):
                lab["pulse"].pulse(0.3e-3, 100e-6)
            with pytest.raises(LimitError, match="no device is routed"):
                lab["pulse"].set_read_current(50e-6)
            with pytest.raises(LimitError, match="at once"):
                lab["switch"].write(":ROUT:CLOS (@1!1,1!2)")
            virtual.settle()  # a write returns before the instrument has acted on it
            assert chip.current_path == frozenset()
            assert chip.received.tolist() == [0, 0.5e-3, 0.35e-3, 0]
    finally:
        virtual.stop()


def test_behind_a_7002_the_2000s_test_current_is_the_routed_devices_and_no_relay_moves(
        tmp_path):
    """The 2000's ohms test current (Model 2000 User's Manual, Appendix A: 100 uA on 10 kohm,
    10 uA on 100 kohm, 700 nA on 10 Mohm) held to the routed device's read limit (device 2:
    10 uA), 1 nA with no device routed, and no relay moved while it may flow."""
    virtual, lab = served_lab(tmp_path, 'max_read_current = "10 uA"')
    try:
        with lab:
            meter = lab["voltmeter"]
            lab.select_device(1)  # the lab's 100 uA
            meter.write(":SENS:RES:RANG 1E4;:SENS:FRES:RANG 1E4")
            meter.write(":SENS:FUNC 'RES'")
            virtual.settle()
            assert virtual.instruments["voltmeter"].function == "RES"
            with pytest.raises(LimitError, match="2000 may drive its ohms test current"):
                lab.select_device(2)  # a relay moved under the test current
            meter.write(":SENS:FUNC 'VOLT'")
            lab.select_device(2)  # device 2: 10 uA
            with pytest.raises(LimitError, match=r"\[0, 1e-05\]"):
                meter.write(":SENS:FUNC 'FRES'")
            lab["switch"].write(":ROUT:OPEN ALL")
            with pytest.raises(LimitError, match="no device is routed"):
                meter.write(":SENS:RES:RANG 1E7;:SENS:FUNC 'RES'")  # 700 nA, over 1 nA
            virtual.settle()
            assert virtual.instruments["voltmeter"].function == "VOLT:DC"
        assert virtual.instruments["switch"].hot_switches == 0
    finally:
        virtual.stop()


def on(lab, device, current=50e-6):
    """``device`` routed and ``current`` DC on it: the 6221."""
    lab.select_device(device)
    pulse = lab["pulse"]
    pulse.set_read_current(current)
    pulse.enable_source()
    return pulse


def test_a_relay_never_moves_under_current(tmp_path):
    virtual, lab = served_lab(tmp_path)
    emulated = virtual.instruments["switch"]
    try:
        with lab:
            pulse = on(lab, 0)
            with pytest.raises(LimitError, match="switches hot"):
                lab.select_device(1)
            pulse.disable_source()
            lab.select_device(1)
        virtual.settle()
        assert emulated.hot_switches == 0
        assert virtual.chip.current_path == frozenset()  # closing the lab opened every relay
    finally:
        virtual.stop()


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    virtual, lab = served_lab(tmp_path_factory.mktemp("attack"),
                              'max_pulse_current = "0.3 mA"')
    with lab:
        yield virtual, lab
    virtual.stop()


CHANNELS = st.sampled_from([f"1!{c}" for c in (1, 2, 3, 4, 11, 12, 13, 14, 5, 40)])
CURRENTS = st.floats(-0.75e-3, 0.75e-3) | st.sampled_from([0.5e-3, -0.6e-3, 0.75e-3])
STEPS = st.lists(st.one_of(
    st.tuples(st.just("route"), st.integers(0, 3), CURRENTS),  # route, then a pulse
    st.tuples(st.just("dc"), st.integers(0, 3), st.floats(-0.2e-3, 0.2e-3)),
    st.tuples(st.just("raw"), st.lists(CHANNELS, min_size=1, max_size=3).map(
        lambda cs: f":ROUT:CLOS (@{','.join(cs)})"), CURRENTS),
    st.tuples(st.just("raw"), st.sampled_from([":ROUT:OPEN ALL", ":ROUT:OPEN (@1!11)",
                                               ":ROUT:CONF:BBM 0", "*RST"]), CURRENTS),
), min_size=1, max_size=6)


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(steps=STEPS)
def test_whatever_is_sent_no_device_receives_more_than_its_limit(attacked, steps):
    virtual, lab = attacked
    limits = [0.75e-3, 0.75e-3, 0.3e-3, 0.75e-3]
    for action, target, current in steps:
        try:
            if action == "raw":
                lab["switch"].write(target)
            else:
                lab.select_device(target)
            if action == "dc":  # a DC level, on and off again
                lab["pulse"].source_current = current
                lab["pulse"].enable_source()
                lab["pulse"].disable_source()
            else:
                lab["pulse"].pulse(current, 100e-6)
        except (LimitError, ValueError, InstrumentError):
            pass
    virtual.settle()
    received = virtual.chip.received
    assert np.all(received <= np.array(limits) * (1 + 1e-6)), received
    assert virtual.instruments["switch"].hot_switches == 0


def test_the_guards_limits_need_a_wiring_to_refuse_by_device():
    # the 7001's lab keeps the lab's limits whatever is routed (no wiring, no per-device)
    lab = Lab({"pulse": "TCPIP0::127.0.0.1::1::SOCKET"}, limits=SafetyLimits())
    assert lab.wiring is None and lab.device_limits(3) == lab.limits


# -- the route as the 7002's picture (issue 24's guard, issue 29's switch) ---------------------
def test_every_header_the_route_guard_allows_is_one_the_emulator_plays():
    e = Keithley7002Emulator(build_chip(4, 0.5e-6, 0), LabClock(), pair_wiring(4))
    for spec, _, _ in Guard7002.table:
        nodes = tuple(scpi.query_of(spec).strip(":?").split(":"))
        assert any(scpi.header_matches(known, nodes) for known, _ in e._table), spec


def test_a_route_the_7002_refused_in_part_is_not_believed(tmp_path):
    """Device 2 (0.3 mA) routed and read back; an OPEN the 7002 refuses whole (2!1 is on no
    card: -222) and a CLOSe of device 1 (0.75 mA) leave both routed. A guard that believed
    its lines would take device 1's limits and share 0.7 mA into device 2 (0.35 mA, over its
    0.3 mA); this one asks the 7002, which names both, and refuses."""
    virtual, lab = served_lab(tmp_path, 'max_pulse_current = "0.3 mA"')
    try:
        with lab:
            lab.select_device(2)
            switch = lab["switch"]
            switch.write(":ROUT:OPEN (@1!3,1!13,2!1)")
            switch.write(":ROUT:CLOS (@1!2,1!12)")
            assert switch.routed_device() is None  # not yet read back
            with pytest.raises(LimitError, match="devices 1, 2 are routed at once"):
                lab["pulse"].pulse(0.7e-3, 100e-6)
            virtual.settle()
            assert virtual.chip.current_path == {1, 2}
            assert switch.guard.state.closed == {(1, 2), (1, 3), (1, 12), (1, 13)}
            assert virtual.chip.received.tolist() == [0, 0, 0, 0]
            with pytest.raises(InstrumentError, match="-222"):  # the 7002 refused the OPEN
                switch.check_errors()
            lab.select_device(1)  # read back: device 1 alone, its own limits
            lab["pulse"].pulse(0.7e-3, 100e-6)
            assert virtual.chip.received.tolist() == [0, 0.7e-3, 0, 0]
    finally:
        virtual.stop()


def test_a_route_sent_is_asked_of_the_7002_before_a_pulse(tmp_path):
    """A route written by hand leaves it unconfirmed: the 6221's guard asks the 7002 once
    (*ESR? and :ROUT:CLOS:STAT?) before the pulse, then takes device 2's limits."""
    virtual, lab = served_lab(tmp_path)
    emulated = virtual.instruments["switch"]
    try:
        with lab:
            lab.select_device(1)
            lab["switch"].write(":ROUT:OPEN ALL;:ROUT:CLOS (@1!3,1!13)")
            virtual.settle()  # a write returns before the 7002 reads the line
            before = len(emulated.log)
            lab["pulse"].pulse(-0.35e-3, 100e-6)
            assert emulated.log[before:] == ["*ESR?;:ROUT:CLOS:STAT?"]
            assert lab["switch"].routed_device() == 2
            with pytest.raises(LimitError, match=r"0\.0004"):
                lab["pulse"].pulse(0.5e-3, 100e-6)
            assert virtual.chip.received.tolist() == [0, 0, 0.35e-3, 0]
    finally:
        virtual.stop()


def test_every_connection_to_the_6221_is_held_to_the_routed_devices_limits(tmp_path):
    """A second driver on the 6221 in this process, made with the lab's limits (0.75 mA),
    shares its picture and so its ceiling: device 2's 0.4 mA. A second driver on the 7002
    shares its picture and so the interlock: no relay moves while the 6221 is on."""
    virtual, lab = served_lab(tmp_path)
    options = {"read_termination": "\n", "write_termination": "\n", "timeout": 2000}
    try:
        with lab:
            lab.select_device(2)
            second = PulseSource(lab.roles["pulse"], limits=SafetyLimits(), **options)
            other_switch = SwitchSystem(lab.roles["switch"], wiring=lab.wiring, **options)
            try:
                assert second.guard.picture is lab["pulse"].guard.picture
                assert other_switch.guard.picture is lab["switch"].guard.picture
                with pytest.raises(LimitError, match=r"0\.0004"):
                    second.pulse(0.5e-3, 100e-6)
                second.set_read_current(50e-6)
                second.enable_source()
                with pytest.raises(LimitError, match="switches hot"):
                    other_switch.write(":ROUT:OPEN ALL")
                second.disable_source()
                other_switch.write(":ROUT:OPEN ALL")
            finally:
                second.adapter.close()
                other_switch.adapter.close()
            virtual.settle()
            assert virtual.chip.received.tolist() == [0, 0, 50e-6, 0]
            assert virtual.instruments["switch"].hot_switches == 0
    finally:
        virtual.stop()


def test_a_second_process_is_refused_the_7002(tmp_path):
    virtual, lab = served_lab(tmp_path)
    try:
        with lab:
            lab.select_device(0)
            other = subprocess.run([sys.executable, "-c", (
                "import sys\nfrom instruments.keithley import SwitchSystem\n"
                "try:\n    SwitchSystem(sys.argv[1], read_termination='\\n', "
                "write_termination='\\n')\nexcept Exception as err:\n"
                "    print(type(err).__name__, err)\n"), lab.roles["switch"]],
                capture_output=True, text=True, timeout=60)
            assert other.stdout.startswith("ResourceHeldError"), other
            assert f"pid {os.getpid()}" in other.stdout
            assert virtual.chip.current_path == {0}  # it sent nothing
    finally:
        virtual.stop()


def test_a_route_left_by_other_software_is_read_back_at_connect():
    """Other software (unguarded pyvisa) leaves device 1 routed; the driver knows it before
    its first line, and the 6221 behind it is held to device 1's limits, not 1 nA."""
    import pyvisa

    virtual = VirtualLab(build_chip(4, 0.5e-6, 0), LabClock(), switch="7002").start()
    try:
        resource = virtual.resources["switch"]["resource"]
        other = pyvisa.ResourceManager("@py").open_resource(
            resource, read_termination="\n", write_termination="\n")
        other.write(":ROUT:CLOS (@1!2,1!12)")
        other.query("*OPC?")
        other.close()
        wiring = SwitchWiring.from_pairs(pair_wiring(4), cards=1)
        switch = SwitchSystem(resource, wiring=wiring, read_termination="\n",
                              write_termination="\n")
        try:
            assert virtual.instruments["switch"].log[-1] == ":ROUT:CLOS:STAT?;:ROUT:CONF:BBM?"
            assert switch.guard.state.closed == {(1, 2), (1, 12)}
            assert switch.routed_device() == 1
        finally:
            switch.adapter.close()
    finally:
        virtual.stop()


def test_a_sweep_set_for_one_device_is_not_armed_on_another(tmp_path):
    """A list sweep of 0.7 mA points (1 ms each) is within device 1's limits; routed to
    device 2 (0.4 mA) it is refused when armed. An armed sweep keeps the relays still, as an
    output on or a waveform armed does."""
    virtual, lab = served_lab(tmp_path)
    emulated = virtual.instruments["pulse"]
    try:
        with lab:
            pulse = lab["pulse"]
            lab.select_device(1)
            pulse.load_list([0.7e-3, -0.7e-3], [1e-3])
            lab.select_device(2)
            with pytest.raises(LimitError, match="armed sweep point"):
                pulse.arm_sweep()
            pulse.load_list([0.3e-3], [1e-3])
            pulse.arm_sweep()
            with pytest.raises(LimitError, match="sweep may be armed"):
                lab.select_device(1)
            pulse.abort_sweep()
            lab.select_device(1)
            virtual.settle()
            assert not emulated.sweep_armed and virtual.chip.current_path == {1}
    finally:
        virtual.stop()


def test_switching_off_is_allowed_whatever_the_limits_have_fallen_to(tmp_path):
    """Device 1 routed, 50 uA DC on; the 7002 opened behind the guard's back (its own
    front panel, below every write path) and read back: the 6221's limits fall to 1 nA, the
    50 uA it holds is beyond them, and switching it off is still allowed (an abort or an
    output off only takes drive away)."""
    virtual, lab = served_lab(tmp_path)
    emulated = virtual.instruments["pulse"]
    try:
        with lab:
            pulse = on(lab, 1)
            virtual.settle()
            virtual.instruments["switch"].handle(":ROUT:OPEN ALL")
            assert lab["switch"].closed() == frozenset()
            with pytest.raises(LimitError, match="no device is routed"):
                pulse.write(":SOUR:CURR 4E-5")
            pulse.write(":SOUR:WAVE:ABOR;:SOUR:SWE:ABOR")
            pulse.disable_source()
            virtual.settle()
            assert emulated.output is False
            lab.select_device(1)
            pulse.enable_source()
            lab.set_limits(SafetyLimits(max_read_current=20e-6))  # lowered while it is on
            pulse.disable_source()
            virtual.settle()
            assert emulated.output is False
    finally:
        virtual.stop()
