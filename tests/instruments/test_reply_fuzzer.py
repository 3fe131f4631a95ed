"""Corrupted replies (seeded) on every query the drivers make: each is refused with the
project's own error naming instrument and command, never a traceback, never a stored reading.

The corruptions are the virtual lab's reply faults: garbled, binary bytes, empty, cut short,
the value twice, units, NaN, infinity, the overflow number +9.9E37, a list one value short;
on the 2000's binary buffer read-back (SREal records, "#0" and 4 bytes each) the same ones
record by record: a foreign header, bytes before the first record, a record cut inside (the
read times out), a separator or units after the records, NaN/INF/overflow values, one
record short.
"""

import numpy as np
import pytest

from hil.session.lab import connect_virtual
from instruments import errors
from instruments.connection import Lab
from instruments.errors import InstrumentError, LabConnectionError, ReplyError
from instruments.guard import Guard2000, Guard2400, Guard6221
from protocols.cycle import MissedTriggers, ResetWriteRead
from protocols.errors import ProtocolError
from protocols.plan import run_plan
from protocols.store import RunStore
from protocols.sweep import sweep_device
from protocols.timing import choose_timing
from simulators.lab.chip import build_chip
from simulators.lab.server import CORRUPTIONS, Fault, VirtualLab

PROJECT_ERRORS = (InstrumentError, LabConnectionError, ProtocolError)
ROLES = ("pulse", "voltmeter", "field", "switch")


def _batch(lab: Lab) -> None:
    """Four hardware-timed cycles: arm the 2000 on EXT TRIG, play the 6221 waveform (one
    2.6 ms cycle per trigger, under the 2000's 400/s), read the buffer back."""
    meter = lab["voltmeter"]
    meter.arm_external_buffer(4)
    try:
        lab["pulse"].play_cycles(-0.6e-3, 0.3e-3, 50e-6, 100e-6, 4, points=26, read_points=3)
        readings = meter.buffer_readings()
    finally:
        meter.immediate_triggering()
    if len(readings) != 4:  # as the protocol does (protocols.cycle.MissedTriggers)
        raise MissedTriggers(f"voltmeter: the 2000 took {len(readings)} readings for 4 cycles")


def _fetch(lab: Lab) -> None:
    """One immediate reading taken with :INIT and fetched (:FETC?)."""
    lab["voltmeter"].write(":INIT")
    lab["voltmeter"].fetch()


def _field_on_then_off(lab: Lab) -> None:
    lab["field"].set_field(0.005)
    lab["field"].shutdown()


def _readback(role: str):
    """The guard's read-back at a connection: one line of queries, the output's first."""
    return lambda lab: lab.reconnect(role)


def _confirmed_pulse(lab: Lab) -> None:
    """A pulse after a reset: the guard asks *ESR?;:OUTP? before the waveform is armed."""
    lab["pulse"].write("*RST")
    lab["pulse"].pulse(-0.6e-3, 100e-6)


# (role, query as the drivers or the guard send it) -> a driver call that makes that query
QUERIES = {
    ("pulse", "*OPC?"): lambda lab: lab["pulse"].pulse(-0.6e-3, 100e-6),
    ("pulse", "SYST:ERR?"): lambda lab: lab["pulse"].check_errors(),
    ("pulse", "*ESR?"): lambda lab: lab["pulse"].power_on_flag(),
    ("pulse", ":OUTP?"): lambda lab: lab["pulse"].shutdown(),
    ("pulse", "*IDN?"): lambda lab: lab.reconnect("pulse"),
    ("voltmeter", ":READ?"): lambda lab: lab["voltmeter"].read_voltage(),
    ("voltmeter", ":FETC?"): _fetch,
    ("voltmeter", ":TRAC:DATA?"): _batch,
    ("voltmeter", ":SYST:LFR?"): lambda lab: lab["voltmeter"].line_frequency(),
    ("voltmeter", "SYST:ERR?"): lambda lab: lab["voltmeter"].check_errors(),
    ("voltmeter", "*ESR?"): lambda lab: lab["voltmeter"].power_on_flag(),
    ("voltmeter", "*IDN?"): lambda lab: lab.reconnect("voltmeter"),
    ("field", "SYST:ERR?"): lambda lab: lab["field"].set_field(0.005),
    ("field", ":OUTP?"): _field_on_then_off,
    ("field", ":SOUR:FUNC?"): _field_on_then_off,
    ("field", ":SOUR:CURR?"): _field_on_then_off,
    ("field", "*IDN?"): lambda lab: lab.reconnect("field"),
    ("switch", "SYST:ERR?"): lambda lab: lab["switch"].select(1),
    ("switch", "*IDN?"): lambda lab: lab.reconnect("switch"),
    # the guard's own: *ESR?;:OUTP? before a line that depends on earlier ones, and the
    # settings it polices read back at a connection (a line of them, by its first query)
    ("pulse", "*ESR?;:OUTP?"): _confirmed_pulse,
    ("field", "*ESR?;:OUTP?"): lambda lab: lab["field"].set_field(0.005),
    ("pulse", ":OUTP?;"): _readback("pulse"),
    ("field", ":OUTP?;"): _readback("field"),
    ("voltmeter", ":SENS:FUNC?;"): _readback("voltmeter"),
}
GUARD_READBACK = {role: instrument.readback for role, instrument in (
    ("pulse", Guard6221), ("field", Guard2400), ("voltmeter", Guard2000))}


def _queries_made(virtual: VirtualLab) -> set[tuple[str, str]]:
    """(role, header) of every query in the emulators' logs; the guard's read-back line and
    its *ESR? confirmation count as one query each."""
    made = set()
    for role, instrument in virtual.instruments.items():
        readback = {q for _, q, _ in GUARD_READBACK.get(role, ())}
        for line in instrument.log:
            queries = [m.strip().split(" ")[0] for m in line.split(";")]
            if line.startswith("*ESR?;:OUTP?"):
                made.add((role, "*ESR?;:OUTP?"))
                queries = [q for q in queries[2:] if q not in readback]
            elif len(queries) > 1 and set(queries) <= readback:
                made.add((role, queries[0] + ";"))
                queries = []
            made |= {(role, q) for q in queries if q.endswith("?")}
    return made


def test_the_fuzzed_queries_are_every_query_the_drivers_make():
    """A whole session (connect, the timing probe, calibrate, software and hardware cycles, a
    cycle list, the field, the switch, close) asks nothing the fuzzer leaves out."""
    with VirtualLab(build_chip(2, 0.5e-6, 2)) as virtual:
        with connect_virtual(lab=virtual) as lab:
            lab.select_device(1)
            assert choose_timing(lab, "auto") == "hardware"  # the trigger-link probe
            rwr = ResetWriteRead(lab)
            rwr.calibrate()
            rwr.cycle(0.3e-3)
            rwr.timing = "hardware"
            for _ in rwr.batches([0.3e-3] * 3 + [0.28e-3, 0.32e-3]):
                pass
            for _ in rwr.batches([0.3e-3] * 3):
                pass
            _field_on_then_off(lab)
        made = _queries_made(virtual)
    assert made <= set(QUERIES), made - set(QUERIES)
    assert len(made) >= 14  # the session did exercise the drivers


@pytest.fixture()
def refusals(monkeypatch):
    """Counts every ReplyError raised (also the ones a switch-off catches and goes past)."""
    count = [0]
    init = errors.ReplyError.__init__

    def counting(self, *args, **kwargs):
        count[0] += 1
        init(self, *args, **kwargs)

    monkeypatch.setattr(errors.ReplyError, "__init__", counting)
    return count


@pytest.mark.parametrize("extra", [0, pytest.param(140, marks=pytest.mark.slow)])
def test_every_corruption_of_every_query_is_refused(refusals, extra):
    """Every corruption of every query the drivers make, once each (the quick gate), then
    ``extra`` more drawn at random (seeded)."""
    rng = np.random.default_rng(2024)
    draws = [(q, kind) for q in QUERIES for kind in CORRUPTIONS]  # each at least once
    keys = list(QUERIES)
    draws += [(keys[rng.integers(len(keys))], CORRUPTIONS[rng.integers(len(CORRUPTIONS))])
              for _ in range(extra)]
    outcomes = {"raised": 0, "caught inside": 0}
    with VirtualLab(build_chip(2, 0.5e-6, 2)) as virtual, connect_virtual(lab=virtual) as lab:
        for (role, query), kind in draws:
            fault = Fault(kind, role, virtual.lines[role], command=query)
            virtual.faults = [fault]
            before, missed = refusals[0], False
            try:
                QUERIES[role, query](lab)
                outcomes["caught inside"] += 1  # a switch-off that went past it
            except PROJECT_ERRORS as err:  # anything else fails the test with its traceback
                outcomes["raised"] += 1
                # a buffer cut short (or empty: the 2000 answers an empty buffer with an empty
                # line) is what missed triggers look like: the batch is refused whole
                missed = isinstance(err, MissedTriggers)
                assert role in str(err) or lab[role].name in str(err)
            true = fault.reply if isinstance(fault.reply, bytes) else fault.reply.encode()
            assert fault.fired and fault.sent != true, (role, query, kind)
            assert refusals[0] > before or missed, (role, query, kind, fault.sent)  # no value
            virtual.faults = []
            for name in ROLES:  # a fresh start for the next draw
                lab.reconnect(name)
        assert virtual.instruments["pulse"].output is False
        assert virtual.instruments["field"].output is False
    assert len(draws) == len(QUERIES) * len(CORRUPTIONS) + extra
    assert outcomes["raised"] > 0.69 * len(draws), outcomes  # most refusals reach the caller


def test_a_reply_error_names_instrument_command_and_reply():
    with VirtualLab(build_chip(2, 0.5e-6, 2)) as virtual, connect_virtual(lab=virtual) as lab:
        virtual.faults = [Fault("binary", "voltmeter", virtual.lines["voltmeter"],
                                command=":READ?")]
        with pytest.raises(ReplyError) as refused:
            lab["voltmeter"].read_voltage()
        assert refused.value.command == ":READ?" and refused.value.why == "binary bytes"
        assert str(refused.value).startswith(f"{lab['voltmeter'].name}: garbled reply b'\\x00")
        # reconnecting: the guard's read-back, *RST;*CLS, then an error number in the queue
        # SYST:ERR? reads
        virtual.faults = [Fault("error", "voltmeter", virtual.lines["voltmeter"] + 2)]
        with pytest.raises(LabConnectionError, match=r"voltmeter at .*-221"):
            lab.reconnect("voltmeter")  # an error number in SYST:ERR? while reconnecting


def _values(reply: str | bytes) -> list[float]:
    """The readings of a true reply: ASCII, or the SREal records of the buffer read-back."""
    if isinstance(reply, bytes):
        return np.frombuffer(reply, dtype=[("header", "S2"), ("reading", "<f4")])[
            "reading"].astype(float).tolist()
    return [float(v) for v in reply.split(",")]


def _true_voltages(virtual: VirtualLab, replies: list, faults: list[Fault]) -> list[str]:
    """Every reading the 2000 sent uncorrupted, as a key: what a stored reading may be."""
    corrupted = {id(f.reply) for f in faults if f.sent is not None}
    return [f"{v:.9E}" for r in replies if id(r) not in corrupted for v in _values(r)]


@pytest.mark.parametrize("runs", [pytest.param(40, id="40-runs"),
                                  pytest.param(300, id="300-runs", marks=pytest.mark.slow)])
def test_corrupted_replies_never_become_stored_readings(tmp_path, runs):
    rng = np.random.default_rng(7)
    store = RunStore(tmp_path / "runs.sqlite")
    with VirtualLab(build_chip(2, 0.5e-6, 4)) as virtual:
        meter = virtual.instruments["voltmeter"]
        handle, replies = meter.handle, []

        def recorded(line):  # the true reply, before any fault corrupts it on the wire
            reply = handle(line)
            header = line.upper().lstrip(":")
            if reply is not None and header.startswith(("READ?", "FETC?", "TRAC:DATA?")):
                replies.append(reply)
            return reply

        meter.handle = recorded
        with connect_virtual(lab=virtual) as lab:
            rwr = ResetWriteRead(lab)
            rwr.calibrate()
            faults, stored, struck = [], [], 0
            for n in range(runs):
                rwr.timing = ("software", "hardware")[n % 2]
                role = ("pulse", "voltmeter")[rng.integers(2)]
                fault = Fault(CORRUPTIONS[rng.integers(len(CORRUPTIONS))], role,
                              virtual.lines[role] + int(rng.integers(1, 60)))
                virtual.faults = [fault]
                run_id = store.create_run("sweep", {"fault": fault.kind}, 4)
                repeats = rwr.repeats
                try:
                    run_plan(sweep_device(rwr, 0, [0.27e-3, 0.3e-3, 0.33e-3], 2),
                             lambda rows, i=run_id: store.append_readings(i, rows))
                    stopped = False
                except PROJECT_ERRORS:
                    stopped = True
                    virtual.faults = []
                    for name in ("pulse", "voltmeter"):
                        lab.reconnect(name)
                    rwr.configure()
                virtual.faults = []
                readings = store.readings(run_id)
                stored += readings
                if fault.fired:
                    struck += 1
                    faults.append(fault)
                    # refused: the cycle (or batch) it struck was repeated, or the run stopped
                    assert stopped or rwr.repeats == repeats + 1, fault
                assert stopped or len(readings) == 6
        truth = _true_voltages(virtual, replies, faults)
    assert struck >= 0.6 * runs
    read_current = rwr.settings.read_current
    unused = {}
    for key in truth:
        unused[key] = unused.get(key, 0) + 1
    for reading in stored:  # each stored reading is one true reading, used once
        for r in (reading["r_after_write"], reading["r_after_reset"]):
            if r is None:
                continue
            key = f"{r * read_current:.9E}"
            assert unused.get(key, 0) > 0, reading
            unused[key] -= 1
