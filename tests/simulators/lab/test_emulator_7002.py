"""The Keithley 7002 emulator against its manual: channel lists, errors, relay timing on the
virtual clock, break-before-make, relay counters, and the chip behind the 7011 cards."""

import numpy as np
import pytest

from simulators.lab.chip import FLOATING_NOISE, Chip, Defects, build_chip
from simulators.lab.clock import LabClock
from simulators.lab.k6221 import Keithley6221Emulator
from simulators.lab.k7002 import (
    ACTUATION,
    SPREAD,
    Keithley7002Emulator,
    pair_wiring,
)


def emulator(devices=24, serial=4210731, chip=None):
    chip = chip or build_chip(devices, 0.5e-6, 0)
    return Keithley7002Emulator(chip, LabClock(), pair_wiring(len(chip.devices)),
                                serial=serial)


def error(e):
    return e.handle(":SYST:ERR?")


def bus(clock, line):
    """What a line without a reply costs on the bus: the transaction and its bytes with the
    line feed (simulators/lab/clock.py)."""
    return clock.bus_latency + clock.transfer(len(line) + 1)


def test_the_wiring_takes_two_channels_a_device_twenty_a_card():
    wiring = pair_wiring(45)
    assert wiring[0] == ((1, 1), (1, 11)) and wiring[9] == ((1, 10), (1, 20))
    assert wiring[10] == ((1, 21), (1, 31)) and wiring[19] == ((1, 30), (1, 40))
    assert wiring[20] == ((2, 1), (2, 11)) and wiring[44] == ((3, 5), (3, 15))
    channels = [c for pair in wiring.values() for c in pair]
    assert len(set(channels)) == len(channels)  # no channel wired twice
    assert emulator(45).installed == {1: "C7011", 2: "C7011", 3: "C7011"}


def test_channel_lists_single_ranges_and_queries():
    e = emulator()
    assert e.handle(":ROUT:CLOS (@ 1!3, 1!5:1!7)") is None
    assert error(e) == '0,"No error"'
    assert e.handle(":ROUT:CLOS:STAT?") == "(@1!3,1!5,1!6,1!7)"
    assert e.handle(":ROUT:CLOS? (@1!3,1!4,1!7)") == "1,0,1"
    assert e.handle(":ROUT:OPEN? (@1!3,1!4)") == "0,1"
    assert e.handle(":ROUTE:OPEN (@1!5:1!6)") is None  # long form, a range
    assert e.handle(":rout:clos:stat?") == "(@1!3,1!7)"  # case does not matter
    assert e.handle(":ROUT:OPEN:ALL") is None
    assert e.handle(":ROUT:CLOS:STAT?") == "(@)"


@pytest.mark.parametrize("line, code", [
    (":ROUT:CLOS (1!3)", -224),  # no @
    (":ROUT:CLOS (@1!7:1!5)", -224),  # a range backwards
    (":ROUT:CLOS (@1!3:2!4)", -224),  # a range across slots
    (":ROUT:CLOS (@1-3)", -224),
    (":ROUT:CLOS (@1!41)", -222),  # a 7011 has 40 channels
    (":ROUT:CLOS (@2!1)", -222),  # slot 2 is empty on a 20-device chip
    (":ROUT:CLOS (@11!1)", -222),  # the 7002 has ten slots
    (":ROUT:CLOS", -109),
    (":ROUT:CLOS:COUN? (@1!1)", -113),  # the 7002 keeps no bus-readable closure count
    (":ROUT:SCAN (@1!1:1!10)", -113),  # listed by the manual, not played here
    (":ROUT:CONF:SLOT11:STIM 1", -113),
    (":ROUT:CONF:SLOT1:STIM 100000", -222),
    # parameters as the grammar types them (IEEE 488.2 7.7): a list is expression data
    (":ROUT:CLOS '(@1!1)'", -224),  # a string is not a channel list
    (":ROUT:CLOS (@1!1", -102),  # an expression never closed: a syntax error
    (":ROUT:OPEN:ALL 1", -108),  # an event takes no parameter
    (":SYST:PRES?", -113),  # nor is it a query
    (":ROUT:CONF:SLOT1:CTYP 7011", -104),  # a card is named by character data
    (":STAT:OPER 5", -113),  # an event register is read, not set
])
def test_what_the_manual_does_not_allow_is_refused_with_its_error(line, code):
    e = emulator(20)
    assert e.handle(line) is None
    assert error(e).startswith(f"{code},")
    assert e.handle(":ROUT:CLOS:STAT?") == "(@)"  # and nothing closed


def test_card_types_are_what_is_installed():
    e = emulator(24)
    assert e.handle(":ROUT:CONF:SLOT1:CTYP?") == "C7011"
    assert e.handle(":ROUT:CONF:SLOT:CTYP?") == "C7011"  # SLOT = SLOT1
    assert e.handle(":ROUT:CONF:SLOT3:CTYP?") == "NONE"
    e.handle(":ROUT:CONF:SLOT2:CTYP C7012")
    assert error(e).startswith("-221,")


def test_relays_operate_together_and_each_within_the_card_spec():
    e = emulator(24)
    clock = e.clock
    start = clock.seconds
    e.handle(":ROUT:CLOS (@1!1)")
    one = clock.seconds - start - bus(clock, ":ROUT:CLOS (@1!1)")
    assert one == pytest.approx(e.operate[(1, 1)])
    start = clock.seconds
    e.handle(":ROUT:CLOS (@1!2:1!9)")
    several = clock.seconds - start - bus(clock, ":ROUT:CLOS (@1!2:1!9)")
    assert several == pytest.approx(max(e.operate[(1, c)] for c in range(2, 10)))  # not summed
    times = np.array(list(e.operate.values()) + list(e.release.values()))
    assert times.max() <= ACTUATION and times.min() >= SPREAD[0] * ACTUATION
    assert times.min() < 0.5 * ACTUATION and times.max() > 0.95 * ACTUATION  # a real spread


def test_units_differ_from_each_other():
    a, b = emulator(serial=1), emulator(serial=2)
    assert a.operate != b.operate
    assert emulator(serial=1).operate == a.operate  # a unit is always the same unit


def test_a_slots_settling_time_is_added_after_its_relays():
    e = emulator(24)
    e.handle(":ROUT:CONF:SLOT2:STIM 0.05")
    assert e.handle(":ROUT:CONF:SLOT2:STIM?") == "+5.000000E-02"
    start = e.clock.seconds
    e.handle(":ROUT:CLOS (@1!1)")
    assert e.clock.seconds - start < 0.01  # slot 1 has none
    start = e.clock.seconds
    e.handle(":ROUT:CLOS (@2!1)")
    assert e.clock.seconds - start == pytest.approx(
        bus(e.clock, ":ROUT:CLOS (@2!1)") + e.operate[(2, 1)] + 0.05)


def test_open_then_close_in_one_line_breaks_before_it_makes():
    e = emulator(24)
    e.handle(":ROUT:CLOS (@1!1,1!11)")
    e.events.clear()
    e.handle(":ROUT:OPEN ALL;:ROUT:CLOS (@1!2,1!12)")
    opens = [ev for ev in e.events if ev[3] == "open"]
    closes = [ev for ev in e.events if ev[3] == "close"]
    assert len(opens) == 2 and len(closes) == 2
    assert max(end for _, end, _, _ in opens) <= min(start for start, _, _, _ in closes)
    assert e.chip.current_path == frozenset({1})


def test_closing_a_second_device_without_opening_routes_both():
    # the emulator does what it is told: it is the driver's guard that refuses this
    e = emulator(24)
    e.handle(":ROUT:CLOS (@1!1,1!11)")
    e.handle(":ROUT:CLOS (@1!2)")
    assert e.chip.current_path == frozenset({0, 1})


def test_counters_count_transitions_not_commands():
    e = emulator(24)
    e.handle(":ROUT:CLOS (@1!1,1!11)")
    e.handle(":ROUT:CLOS (@1!1,1!11)")  # already closed: no relay moves
    assert e.closures[(1, 1)] == 1 and e.openings[(1, 1)] == 0
    e.handle("*RST")  # opens every channel
    assert e.openings[(1, 1)] == 1 and e.handle(":ROUT:CLOS:STAT?") == "(@)"
    e.handle(":ROUT:CLOS (@1!1)")
    e.handle(":SYST:PRES")
    assert e.closures[(1, 1)] == 2 and e.openings[(1, 1)] == 2
    assert e.operations == 6  # closures: 1!1 twice, 1!11 once; openings: the same three
    assert e.operations == sum(e.closures.values()) + sum(e.openings.values())


def test_a_relay_moved_under_current_is_counted_hot():
    chip = build_chip(4, 0.5e-6, 0)
    clock = LabClock()
    source = Keithley6221Emulator(chip, clock)
    e = Keithley7002Emulator(chip, clock, pair_wiring(4))
    e.source = source.flowing
    e.handle(":ROUT:CLOS (@1!1,1!11)")
    assert e.hot_switches == 0
    source.handle(":SOUR:CURR 50e-6;:OUTP ON")
    e.handle(":ROUT:OPEN ALL")
    assert e.hot_switches == 2


def test_the_source_reaches_the_routed_devices_only():
    chip = build_chip(4, 0.5e-6, 0)
    e = Keithley7002Emulator(chip, LabClock(), pair_wiring(4))
    chip.drive(0.6e-3, 100e-6)  # nothing routed: nowhere to flow
    assert not chip.received.any()
    e.handle(":ROUT:CLOS (@1!2,1!12)")
    chip.drive(-0.6e-3, 100e-6)
    assert chip.received.tolist() == [0, 0.6e-3, 0, 0]
    e.handle(":ROUT:CLOS (@1!3)")  # two devices on the source share its current
    chip.drive(-0.4e-3, 100e-6)
    assert chip.received.tolist() == [0, 0.6e-3, 0.2e-3, 0]


def test_the_voltmeter_reads_the_sensed_device():
    chip = build_chip(4, 0.5e-6, 0)
    e = Keithley7002Emulator(chip, LabClock(), pair_wiring(4))
    current = 50e-6
    e.handle(":ROUT:CLOS (@1!1,1!11)")
    hall = chip.hall_voltage(current, 10.0)
    assert hall == pytest.approx(chip.hall_resistance(0) * current + chip.hall_offset, abs=1e-6)
    e.handle(":ROUT:OPEN (@1!11);:ROUT:CLOS (@1!12)")  # the voltmeter on device 1, no current
    assert chip.hall_voltage(current, 10.0) == pytest.approx(chip.hall_offset, abs=1e-6)
    e.handle(":ROUT:OPEN ALL")  # on nothing: a floating input
    floating = np.array([chip.hall_voltage(current, 10.0) for _ in range(200)])
    assert floating.std() == pytest.approx(FLOATING_NOISE, rel=0.2)


def test_defects_dead_stuck_and_open():
    chip = build_chip(3, 0.5e-6, 0)
    defects = Defects(frozenset({0}), ((1, 1),), frozenset({2}))
    chip = Chip(chip.devices, np.random.SeedSequence(0), defects=defects)
    e = Keithley7002Emulator(chip, LabClock(), pair_wiring(3))
    for device, first in ((0, 1), (1, 2)):
        e.handle(f":ROUT:OPEN ALL;:ROUT:CLOS (@1!{first},1!{first + 10})")
        for current in (-1.5e-3, 1.5e-3, -1.5e-3):  # far beyond every switching current
            chip.drive(current, 100e-6)
        assert chip.states[device] == (-1 if device == 0 else 1)
    e.handle(":ROUT:OPEN ALL;:ROUT:CLOS (@1!3,1!13)")
    chip.drive(1.5e-3, 100e-6)
    assert chip.states[2] == 1  # an open device switches, but its Hall signal is lost
    readings = np.array([chip.hall_voltage(50e-6, 10.0) for _ in range(100)])
    assert readings.std() > 100 * chip.read_noise


def test_a_chip_at_scale_has_defects_and_drift_and_the_same_devices():
    plain, scaled = build_chip(96, 0.5e-6, 5), build_chip(96, 0.5e-6, 5, at_scale=True)
    assert np.array_equal(plain.devices.i_c0, scaled.devices.i_c0)
    assert plain.defects == Defects() and plain.drift is None
    faulty = scaled.defects.dead | dict(scaled.defects.stuck).keys() | scaled.defects.open
    assert len(faulty) == 6  # 6 % of 96
    # paper 002 SI Fig. S4: ~0.5 % in a week; the rates spread about that
    weekly = np.abs(scaled.drift) * 7 * 86400
    assert 0.002 < np.median(weekly) < 0.006


def test_drift_moves_a_devices_switching_current_on_the_clock():
    chip = build_chip(1, 0.5e-6, 0)
    clock = LabClock()
    drifting = Chip(chip.devices, np.random.SeedSequence(0), drift=np.array([1e-3]),
                    clock=clock)
    current = 0.3e-3
    rate = chip.devices.switch_rate(np.array([current]))[0]
    clock.seconds = 100.0  # I_c0 10 % higher: the same current drives less
    slower = drifting.devices.switch_rate(np.array([current / 1.1]))[0]
    before = drifting.budgets[0]
    drifting.drive(current, 1e-9)
    assert before - drifting.budgets[0] == pytest.approx(1e-9 * slower, rel=1e-9)
    assert slower < rate
