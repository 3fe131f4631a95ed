"""The emulated Keithley 2000 against its manual: refusals, *RST defaults and ranges, what
each operation costs on the virtual clock, external triggers too fast for it, and the
protocol noticing what a real rig would do."""

import numpy as np
import pytest

from simulators.lab.chip import build_chip
from simulators.lab.clock import LabClock
from simulators.lab.k2000 import Keithley2000Emulator


@pytest.fixture
def meter():
    return Keithley2000Emulator(build_chip(1, 0.5e-6, 0), LabClock())


def send(meter, line):
    reply = meter.handle(line)
    return reply


def error(meter):
    return meter.handle("SYST:ERR?")


# commands a Model 2000 does not have (no TLINk source, no arm layer, no source), values
# outside the manual's ranges, and words outside its lists
REFUSED = [
    (":TRIG:SOUR TLIN", -141, "Invalid character data"),
    (":TRIGGER:SOURCE TLINK", -141, "Invalid character data"),
    (":ARM:SOUR TLIN", -113, "Undefined header"),
    (":ARM:SOUR IMM", -113, "Undefined header"),
    (":ARM:LAY2:SOUR BUS", -113, "Undefined header"),
    (":ARM:COUN 1", -113, "Undefined header"),
    (":SOUR:CURR 0.001", -113, "Undefined header"),
    (":OUTP ON", -113, "Undefined header"),
    (":FOO:BAR 1", -113, "Undefined header"),
    ("*FOO", -113, "Undefined header"),
    (":SENS:VOLT:NPLC 20", -222, "Data out of range"),
    (":SENS:VOLT:NPLC 0.001", -222, "Data out of range"),
    (":SAMP:COUN 1025", -222, "Data out of range"),
    (":SAMP:COUN 0", -222, "Data out of range"),
    (":TRAC:POIN 1025", -222, "Data out of range"),
    (":TRAC:POIN 1", -222, "Data out of range"),
    (":TRIG:TIM 0.0005", -222, "Data out of range"),
    (":TRIG:COUN 10000", -222, "Data out of range"),
    (":TRIG:DEL -1", -222, "Data out of range"),
    (":TRIG:SOUR", -109, "Missing parameter"),
    (":TRIG:SOUR HOLD", -141, "Invalid character data"),
    (":SENS:VOLT:NPLC fast", -104, "Data type error"),
    (":TRAC:FEED:CONT ALW", -141, "Invalid character data"),
    # FORMat: ASCii, SREal, DREal only (no REAL,32 / INTeger / HEX on a 2000)
    (":FORM REAL,32", -141, "Invalid character data"),
    (":FORM:DATA INT", -141, "Invalid character data"),
    (":FORM HEX", -141, "Invalid character data"),
    (":FORM:BORD BIG", -141, "Invalid character data"),
    (":FORM:ELEM READ,TIME", -141, "Invalid character data"),
    (":FORM:ELEM", -109, "Missing parameter"),
    (":FORM:SREG HEX", -113, "Undefined header"),
]


@pytest.mark.parametrize(("line", "code", "message"), REFUSED)
def test_commands_absent_from_the_manual_are_refused_with_its_error(meter, line, code,
                                                                     message):
    before = {k: v for k, v in vars(meter).items() if k not in ("log", "errors", "esr")}
    assert send(meter, line) is None
    assert error(meter) == f'{code},"{message}"'  # the standard text, nothing added
    assert error(meter) == '0,"No error"'
    after = {k: v for k, v in vars(meter).items() if k not in ("log", "errors", "esr")}
    assert after == before  # nothing taken


def test_trigger_link_source_refused_over_the_wire():
    import pyvisa

    from simulators.lab.server import VirtualLab

    with VirtualLab(build_chip(1, 0.5e-6, 0)) as lab:
        rm = pyvisa.ResourceManager("@py")
        dmm = rm.open_resource(lab.resources["voltmeter"]["resource"], read_termination="\n",
                               write_termination="\n", timeout=2000)
        dmm.write(":TRIG:SOUR TLIN")
        assert dmm.query("SYST:ERR?") == '-141,"Invalid character data"'
        dmm.write(":ARM:SOUR TLIN")
        assert dmm.query("SYST:ERR?") == '-113,"Undefined header"'
        assert dmm.query(":TRIG:SOUR?") == "IMM"
        dmm.close()


def test_reset_defaults_and_documented_ranges_accepted(meter):
    send(meter, "*RST")
    assert send(meter, ":TRIG:SOUR?") == "IMM"
    assert send(meter, ":TRIG:COUN?") == "1"
    assert send(meter, ":SAMP:COUN?") == "1"
    assert send(meter, ":INIT:CONT?") == "0"
    assert float(send(meter, ":SENS:VOLT:NPLC?")) == 1.0
    assert send(meter, ":SYST:AZER:STAT?") == "1"
    for word, canonical in [("IMMediate", "IMM"), ("EXT", "EXT"), ("TIMER", "TIM"),
                            ("man", "MAN"), ("BUS", "BUS")]:
        send(meter, f":TRIG:SOUR {word}")
        assert send(meter, ":TRIGger:SEQuence:SOURce?") == canonical
    for line, query, value in [(":SAMP:COUN 1024", ":SAMP:COUN?", "1024"),
                               (":TRAC:POIN 1024", ":TRAC:POIN?", "1024"),
                               (":TRAC:POIN 2", ":TRAC:POIN?", "2"),
                               (":TRIG:COUN 9999", ":TRIG:COUN?", "9999"),
                               (":TRIG:COUN INF", ":TRIG:COUN?", "9.9E37")]:
        send(meter, line)
        assert send(meter, query) == value
    send(meter, ":TRIG:TIM 0.001")
    assert float(send(meter, ":TRIG:TIM?")) == 0.001
    send(meter, ":SENS:VOLT:NPLC 0.01")
    send(meter, ":SENS:VOLT:NPLC MAX")
    assert float(send(meter, ":SENS:VOLT:NPLC?")) == 10
    assert error(meter) == '0,"No error"'


def bus(meter, line, reply):
    clock = meter.clock
    return clock.bus_latency + clock.transfer(len(line) + 1) + (
        clock.transfer(len(reply) + 1) if reply is not None else 0.0)


@pytest.mark.parametrize(("hertz", "nplc", "autozero", "seconds"), [
    # Model 2000 data sheet, DC operating characteristics (60 Hz, note 2)
    (60, 10, False, 1 / 5),  # 10 PLC: 5 readings/s
    (60, 1, False, 1 / 50),  # 1 PLC: 50/s
    (60, 0.1, False, 1 / 500),  # 0.1 PLC: 500/s
    (60, 0.04, False, 1 / 1000),  # 0.04 PLC: 1000/s
    (60, 0.01, False, 1 / 2000),  # 0.01 PLC: 2000/s
    (60, 1, True, 1 / 30),  # 1 PLC with autozero (factory defaults): 30/s
    # 50 Hz: an integration of N PLC lasts N x 20 ms (note 8): slower than the 60 Hz column
    (50, 10, False, 1.2 * 0.2),
    (50, 1, False, 1.2 * 0.02),
    (50, 0.1, False, 1.2 * 0.002),
    (50, 0.01, False, 0.0002 + 1 / 3000),
])
def test_a_reading_costs_its_data_sheet_time(hertz, nplc, autozero, seconds):
    meter = Keithley2000Emulator(build_chip(1, 0.5e-6, 0), LabClock(line_frequency=hertz))
    send(meter, f":SENS:VOLT:NPLC {nplc}")
    send(meter, f":SYST:AZER {int(autozero)}")
    start = meter.clock.seconds
    reply = send(meter, ":READ?")
    cost = meter.clock.seconds - start - bus(meter, ":READ?", reply)
    assert cost == pytest.approx(seconds, rel=1e-9)
    assert reply.startswith(("+", "-")) and "E" in reply  # +1.23456789E-06


def test_units_differ_within_the_stated_spread_and_by_serial_number():
    """Each unit's 0.01 PLC burst period lies within +-3.3 % of the sheet's 0.5 ms (60 Hz)
    and 20 draws span most of it; the same serial number is the same box."""
    from simulators.lab.units import K2000Times, draw_unit

    periods = [K2000Times(draw_unit("2000", serial), 60.0).reading(0.01, False)
               for serial in range(1000, 1020)]
    assert all(abs(p / 0.0005 - 1) <= 0.0334 for p in periods)
    assert max(periods) / 0.0005 - 1 > 0.02 and 1 - min(periods) / 0.0005 > 0.02
    assert K2000Times(draw_unit("2000", 1003), 60.0).reading(0.01, False) == periods[3]


def test_range_change_and_timer_cost_their_documented_time(meter):
    start = meter.clock.seconds
    send(meter, ":SENS:VOLT:RANG 0.1")
    assert meter.clock.seconds - start - bus(meter, ":SENS:VOLT:RANG 0.1", None) == \
        pytest.approx(1 / 50)  # range change 50/s
    start = meter.clock.seconds
    send(meter, ":SENS:VOLT:RANG 0.1")  # the same range: no change, no cost
    assert meter.clock.seconds - start == pytest.approx(bus(meter, ":SENS:VOLT:RANG 0.1", None))
    for line in (":SENS:VOLT:NPLC 0.01", ":SYST:AZER 0", ":TRIG:SOUR TIM", ":TRIG:TIM 0.01",
                 ":TRIG:COUN 5"):
        send(meter, line)
    start = meter.clock.seconds
    send(meter, ":INIT")
    # first pass immediate, then one reading per timer interval (Fig. 4-11, TIMer)
    expected = 4 * 0.01 + meter.times.reading(0.01, False)
    assert meter.clock.seconds - start - bus(meter, ":INIT", None) == pytest.approx(expected)
    assert len(send(meter, ":FETC?").split(",")) == 5


def arm_external(meter, triggers, samples=1, delay=0.0):
    for line in (":SENS:VOLT:NPLC 0.01", ":SYST:AZER 0", ":TRIG:SOUR EXT",
                 f":TRIG:DEL {delay}", f":SAMP:COUN {samples}", f":TRIG:COUN {triggers}",
                 ":TRAC:CLE", f":TRAC:POIN {max(2, triggers * samples)}",
                 ":TRAC:FEED SENS", ":TRAC:FEED:CONT NEXT", ":INIT"):
        send(meter, line)
    assert error(meter) == '0,"No error"'


def drive(meter, until, current=50e-6, step=1e-4):
    t = meter.clock.seconds
    while t < until:
        meter.observe(t, t + step, current)
        t += step
    meter.clock.until(until)


@pytest.mark.parametrize(("spacing", "taken"), [
    (1 / 400, 10),  # the maximum external rate: every trigger read
    (1e-3, 4),  # 1,000/s: only triggers >= 2.5 ms after an accepted one (0, 3, 6, 9 ms)
    (0.5e-3, 2),  # 2,000/s: 0 and 2.5 ms
])
def test_external_triggers_faster_than_400_per_second_are_missed(meter, spacing, taken):
    arm_external(meter, 10)
    t0 = meter.clock.seconds
    for k in range(10):
        meter.external_trigger(t0 + k * spacing)
        drive(meter, t0 + (k + 1) * spacing)
    send(meter, "*OPC?")
    readings = send(meter, ":TRAC:DATA?").split(",")
    assert len(readings) == taken
    assert meter.missed_triggers == 10 - taken
    assert error(meter) == '0,"No error"'  # a missed trigger is lost silently


def test_one_trigger_starts_a_burst_paced_by_the_delay(meter):
    arm_external(meter, 1, samples=4, delay=0.002)
    t0 = meter.clock.seconds
    meter.external_trigger(t0)
    reading = meter.times.reading(0.01, False)  # 50 Hz: 0.2 ms integration + 1/3 ms
    assert reading == pytest.approx(0.01 / 50 + 1 / 3000)
    assert [round((w[0] - t0) * 1e6) for w in meter._pending] == [
        round((meter.times.latency(False) + (k + 1) * 0.002 + k * reading) * 1e6)
        for k in range(4)]
    drive(meter, t0 + 0.02)
    send(meter, "*OPC?")
    assert len(send(meter, ":TRAC:DATA?").split(",")) == 4
    meter.external_trigger(t0 + 0.03)  # trigger count done: back in idle, ignored
    assert len(send(meter, ":TRAC:DATA?").split(",")) == 4


def test_bus_trigger_satisfies_the_external_source_and_read_waits(meter):
    arm_external(meter, 2)
    send(meter, "*TRG")
    assert len(send(meter, ":TRAC:DATA?").split(",")) == 1
    assert send(meter, ":INIT") is None
    assert error(meter) == '-213,"Init ignored"'  # still waiting for the second trigger
    send(meter, ":ABOR")
    send(meter, ":TRIG:SOUR EXT")
    assert send(meter, ":READ?") is None  # no trigger comes: the query times out


def test_buffer_stops_at_its_size(meter):
    arm_external(meter, 5)
    send(meter, ":TRAC:POIN 3")
    t0 = meter.clock.seconds
    for k in range(5):
        meter.external_trigger(t0 + k * 0.003)
        drive(meter, t0 + (k + 1) * 0.003)
    assert len(send(meter, ":TRAC:DATA?").split(",")) == 3


# -- the protocol notices ----------------------------------------------------------------
def _lab():
    from hil.session.lab import connect_virtual
    from simulators.lab.server import VirtualLab

    virtual = VirtualLab(build_chip(2, 0.5e-6, 3)).start()
    return virtual, connect_virtual(lab=virtual)


def test_missed_triggers_refuse_the_batch_and_replay_it_slower(monkeypatch):
    """A route that pulses the trigger link at 1,000/s: the 2000 misses most triggers, the
    batch is refused (never stored shifted), played again 1.5x slower until every cycle
    has its reading."""
    import protocols.cycle as cycle
    from protocols.cycle import ResetWriteRead

    monkeypatch.setattr(cycle, "EXTERNAL_TRIGGER_RATE", 1000.0)
    virtual, lab = _lab()
    with lab:
        rwr = ResetWriteRead(lab, timing="hardware")
        rwr.calibrate()
        batches = list(rwr.batches(np.full(60, 0.3e-3)))
        meter = virtual.instruments["voltmeter"]
        assert meter.missed_triggers > 0
    assert [len(b) for b in batches] == [60]
    assert rwr.missed_batches == 3  # 1.0, 1.5, 2.25x too fast; 3.375x: 3.4 ms per cycle
    assert rwr.slowdown == pytest.approx(1.5 ** 3)


def test_missed_triggers_never_yield_a_batch(monkeypatch):
    import protocols.cycle as cycle
    from protocols.cycle import ResetWriteRead
    from protocols.errors import ProtocolError

    monkeypatch.setattr(cycle, "EXTERNAL_TRIGGER_RATE", 4000.0)
    virtual, lab = _lab()
    with lab:
        rwr = ResetWriteRead(lab, timing="hardware", retries=1)
        rwr.calibrate()
        stored = []
        with pytest.raises(ProtocolError, match="triggers missed"):
            for batch in rwr.batches(np.full(40, 0.3e-3)):
                stored.extend(batch)
    assert stored == []


def test_a_burst_out_of_step_with_the_cycles_is_refused(monkeypatch):
    """A reading period known 0.25 % wrong (a unit at 1,995 readings/s taken for 2,000):
    the probe readings show the burst leaving its windows, the batch is refused and the
    period measured again; with the measurement wrong every time, nothing is stored."""
    import dataclasses

    import protocols.cycle as cycle
    from protocols.cycle import ResetWriteRead
    from protocols.errors import ProtocolError

    measure = cycle.measure_reading_period
    wrong = []

    def off_by_a_quarter_percent(*args, **kwargs):
        clock = measure(*args, **kwargs)
        wrong.append(clock.period)
        return dataclasses.replace(clock, period=clock.period * 1.0025)

    monkeypatch.setattr(cycle, "measure_reading_period", off_by_a_quarter_percent)
    virtual, lab = _lab()
    with lab:
        rwr = ResetWriteRead(lab, timing="hardware", retries=1)
        rwr.calibrate()
        stored = []
        with pytest.raises(ProtocolError, match="left its read window"):
            for batch in rwr.batches(np.linspace(0.2e-3, 0.4e-3, 400)):
                stored.extend(batch)
    assert stored == [] and len(wrong) == 2  # measured again before the replay


def _records(meter, reply):
    """A binary reply cut into its reading conversions (the emulator's own layout)."""
    layout = meter.binary_layout()
    assert len(reply) % layout.itemsize == 0
    return np.frombuffer(reply, dtype=layout)


def test_format_defaults_and_binary_readings_as_the_manual_draws_them(meter):
    """*RST: ASCii, byte order SWAPped, element READing (Table 5-4); SREal and DREal send
    each reading as "#0" and its IEEE-754 bytes (Fig. 5-2, 5-3), sign/exponent byte first
    in NORMal order, reversed in SWAPped, the header never reversed."""
    send(meter, "*RST")
    assert send(meter, ":FORM?") == "ASC"
    assert send(meter, ":FORM:BORD?") == "SWAP"
    assert send(meter, ":FORM:ELEM?") == "READ,,"
    send(meter, ":SENS:VOLT:NPLC 0.01;:SYST:AZER 0;:SAMP:COUN 3")
    ascii_reply = send(meter, ":READ?")
    truth = [float(v) for v in ascii_reply.split(",")]
    assert len(truth) == 3
    send(meter, ":FORM SRE")
    reply = send(meter, ":FETC?")  # the same three readings, now binary
    assert isinstance(reply, bytes) and len(reply) == 3 * 6
    assert reply[0:2] == reply[6:8] == reply[12:14] == b"#0"
    swapped = np.frombuffer(reply[2:6], "<f4")[0]  # swapped: least significant byte first
    assert swapped == pytest.approx(truth[0], rel=1e-7)
    send(meter, ":FORM:BORD NORM")
    normal = send(meter, ":FETC?")
    assert normal[2:6] == reply[2:6][::-1]  # NORMal: sign and exponent first
    assert list(_records(meter, normal)["reading"]) == pytest.approx(truth, rel=1e-7)
    send(meter, ":FORM:DATA DREAL")
    double = send(meter, ":FETC?")
    assert len(double) == 3 * 10
    # double precision: what ASCII sends in 9 digits, and more
    assert list(_records(meter, double)["reading"]) == pytest.approx(truth, rel=1e-8)
    assert send(meter, ":SENS:VOLT:NPLC?") == "+1.00000000E-02"  # settings stay ASCII
    send(meter, ":FORM:ELEM READ, CHAN")
    assert send(meter, ":FORM:ELEM?") == "READ,CHAN,"
    assert len(send(meter, ":FETC?")) == 3 * 18  # a header, then reading and channel
    send(meter, "*RST")
    assert (send(meter, ":FORM?"), send(meter, ":FORM:BORD?")) == ("ASC", "SWAP")
    assert error(meter) == '0,"No error"'


def test_binary_read_back_costs_its_bytes_on_the_bus(meter):
    """The buffer read back costs the bus latency and its bytes: 16 per ASCII reading,
    6 per SREal reading ("#0" + 4), 10 per DREal reading."""
    arm_external(meter, 100)
    for k in range(100):
        meter.external_trigger(meter.clock.seconds + k * 0.003)
    drive(meter, meter.clock.seconds + 0.31)
    costs = {}
    for fmt in ("ASC", "SRE", "DRE"):
        send(meter, f":FORM {fmt}")
        start = meter.clock.seconds
        reply = send(meter, ":TRAC:DATA?")
        costs[fmt] = meter.clock.seconds - start
        assert costs[fmt] == pytest.approx(bus(meter, ":TRAC:DATA?", reply))
    clock = meter.clock
    assert costs["SRE"] == pytest.approx(clock.bus_latency + clock.transfer(12 + 100 * 6 + 1))
    assert costs["DRE"] == pytest.approx(clock.bus_latency + clock.transfer(12 + 100 * 10 + 1))
    assert costs["ASC"] > costs["DRE"] > costs["SRE"]
