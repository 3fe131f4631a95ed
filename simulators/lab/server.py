"""The virtual lab: the emulated instruments on their own 127.0.0.1 TCP ports (raw SCPI sockets,
``TCPIP0::127.0.0.1::PORT::SOCKET`` for pyvisa-py), sharing one chip and one clock.

Faults can be injected per run (or on the lab's clock, ``simulators/lab/faults.py``): after
``after`` lines an instrument drops the connection,
finds an error in its queue, resets itself, or a device sticks in one state; or its next
reply (to ``command``, if given) comes too late or corrupted: garbled, binary bytes, empty,
cut short, the value twice, with units, NaN, infinity, the overflow number +9.9E37, or a
list one value short. Each is a reply a driver must refuse, never turn into a reading.
"""

from __future__ import annotations

import re
import select
import socket
import socketserver
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from simulators.lab.base import LabInstrument
from simulators.lab.chip import Chip, build_chip
from simulators.lab.clock import LabClock
from simulators.lab.faults import FaultSchedule
from simulators.lab.k2000 import Keithley2000Emulator
from simulators.lab.k2182a import Keithley2182AEmulator
from simulators.lab.k2400 import Keithley2400Emulator
from simulators.lab.k6221 import Keithley6221Emulator
from simulators.lab.k7001 import Keithley7001Emulator
from simulators.lab.k7002 import Keithley7002Emulator, pair_wiring
from simulators.lab.units import Unit, bench_units, fit_unit

CORRUPTIONS = ("garble", "binary", "empty", "partial", "multiple", "unit", "nan", "inf",
               "overflow", "count")
REPLY_FAULTS = ("late", *CORRUPTIONS)  # they strike a reply, not a line
FAULT_KINDS = ("drop", "error", "reset", "stuck", *REPLY_FAULTS)
MODELS = {"pulse": "6221", "voltmeter": "2000", "field": "2400", "switch": "7001"}
SWITCHES = ("7001", "7002")  # one channel per device on a 7001 card; a 7002 with 7011s
VOLTMETERS = ("2000", "2182A")  # the Hall voltage read by a 2000, or by a 2182A
UNITS = {"pulse": "ADC", "voltmeter": "VDC", "field": "ADC", "switch": "CHAN"}
# how often an idle server looks for a stop request (socketserver's default, 0.5 s, made
# every stop of a lab of four instruments wait a second)
POLL_SECONDS = 0.05
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:E[+-]?\d+)?", re.I)


@dataclass
class Fault:
    """A fault to inject: after ``after`` lines to ``role``, a dropped connection, an error, a
    reset, a stuck device or a bad reply, each of which a driver must refuse."""
    kind: str
    role: str
    after: int  # trigger on the line after this many lines to that instrument
    delay: float = 3.0  # "late": seconds before the reply
    device: int = 0  # "stuck": which device, and in which state
    state: int = -1
    command: str | None = None  # reply faults: only a reply to this header (e.g. ":READ?")
    # on the lab's clock instead of a line count (simulators/lab/faults.py): from ``at``
    # lab seconds, and every line until ``until`` (None: once)
    at: float | None = None
    until: float | None = None
    code: int = -221  # "error": the code queued
    fired: bool = field(default=False, init=False)
    fired_at: float | None = field(default=None, init=False)  # lab s it first struck
    strikes_count: int = field(default=0, init=False)
    line: str | None = field(default=None, init=False)  # what a reply fault struck:
    reply: str | bytes | None = field(default=None, init=False)  # the line, the true reply,
    sent: bytes | None = field(default=None, init=False)  # and the bytes sent instead

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"fault kind {self.kind!r} is not one of {', '.join(FAULT_KINDS)}")
        if self.role not in MODELS:
            raise ValueError(f"fault role {self.role!r} is not one of {', '.join(MODELS)}")
        if self.command is not None and self.kind not in REPLY_FAULTS:
            raise ValueError(f"fault command: only a reply fault ({', '.join(REPLY_FAULTS)}) "
                             "strikes one command")

    def strikes(self, line: str) -> bool:
        """Whether this fault applies to ``line``: every line, or only one starting with its
        ``command`` header (any case); whether it is due, :meth:`VirtualLab.due_fault` decides."""
        return self.command is None or line.strip().upper().startswith(self.command.upper())

    def corrupt(self, reply: str | bytes, layout: np.dtype | None = None) -> bytes:
        """The reply as this fault sends it (without the terminator); never the true one.
        A binary reply (the 2000's FORMat SREal/DREal records, ``layout``) is corrupted
        the same ways, record by record."""
        if isinstance(reply, bytes):
            return self._corrupt_binary(reply, layout)
        fields = reply.split(",")

        def numbers(value: str) -> str:  # each number replaced, or the whole reply
            changed = [_NUMBER.sub(value, f, count=1) for f in fields]
            return ",".join(changed) if changed != fields else value

        corrupted = {
            "garble": lambda: "#$%" + reply[::-1][:7] + "\x07",
            "binary": lambda: "\x00\x80\xff" + reply,
            "empty": lambda: "",
            "partial": lambda: reply[: len(reply) // 2],
            "multiple": lambda: reply + "," + reply,
            "unit": lambda: ",".join(f + UNITS[self.role] for f in fields),
            "nan": lambda: numbers("NaN"),
            "inf": lambda: numbers("-INF"),
            "overflow": lambda: numbers("+9.9E37"),
            "count": lambda: ",".join(fields[:-1]) if len(fields) > 1 else reply + "," + reply,
        }[self.kind]()
        return corrupted.encode("latin-1")

    def _corrupt_binary(self, reply: bytes, layout: np.dtype | None) -> bytes:
        size = layout.itemsize if layout is not None else 6
        records = (np.frombuffer(reply, dtype=layout).copy() if layout is not None
                   and reply and len(reply) % size == 0 else None)

        def values(value: float) -> bytes:  # every reading replaced, headers kept
            if records is None or not len(records):
                return b"#0" + np.float32(value).tobytes()
            changed = records.copy()
            changed["reading"] = value
            return changed.tobytes()

        return {
            "garble": lambda: b"#$%" + reply[::-1][:7] + b"\x07",
            "binary": lambda: b"\x00\x80\xff" + reply,
            "empty": lambda: b"",
            "partial": lambda: reply[: len(reply) // 2],
            "multiple": lambda: reply + b"," + reply,
            "unit": lambda: reply + UNITS[self.role].encode(),
            "nan": lambda: values(float("nan")),
            "inf": lambda: values(float("-inf")),
            "overflow": lambda: values(9.9e37),
            "count": lambda: reply[:-size] if len(reply) > size else reply + reply,
        }[self.kind]()


def _quick(sock: socket.socket) -> None:
    """Answer at once: no Nagle delay on replies, no delayed ACK of the client's writes."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if hasattr(socket, "TCP_QUICKACK"):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


class _LineReader:
    """A client's lines, and whether its emulator has handled all it was sent: ``busy`` is
    held except while waiting for bytes with no whole line buffered."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()
        self.busy = threading.Lock()
        self.busy.acquire()
        # poll, not select: no limit on the descriptor's number; one poller per thread
        self.incoming, self.pending = select.poll(), select.poll()
        for poller in (self.incoming, self.pending):
            poller.register(sock, select.POLLIN | select.POLLPRI)

    def readline(self) -> bytes:
        """The next line (terminator included), or what is left at end of stream (a client
        that vanished, its connection reset, ends it too)."""
        while b"\n" not in self.buffer:
            self.busy.release()
            try:
                self.incoming.poll()
            finally:
                self.busy.acquire()
            try:
                chunk = self.sock.recv(1 << 16)
            except ConnectionError:
                chunk = b""
            if not chunk:
                rest = bytes(self.buffer)
                self.buffer.clear()
                return rest
            self.buffer += chunk
        end = self.buffer.index(b"\n") + 1
        line = bytes(self.buffer[:end])
        del self.buffer[:end]
        return line

    def idle(self) -> bool:
        """Waiting, with nothing buffered and nothing arrived."""
        if not self.busy.acquire(blocking=False):
            return False
        try:
            return not self.pending.poll(0)
        finally:
            self.busy.release()


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        lab: VirtualLab = self.server.lab  # type: ignore[attr-defined]
        role: str = self.server.role  # type: ignore[attr-defined]
        reader = _LineReader(self.connection)
        with lab.readers_lock:
            lab.readers.add(reader)
        try:
            self._serve(lab, role, reader)
        finally:
            with lab.readers_lock:
                lab.readers.discard(reader)

    def _serve(self, lab: VirtualLab, role: str, reader: _LineReader) -> None:
        while True:
            _quick(self.connection)
            raw = reader.readline()
            if not raw:
                return
            line = raw.decode("ascii", "replace").strip()
            if not line:
                continue
            with lab.lock:
                lab.lines[role] += 1
                fault = lab.due_fault(role, line)
                if fault is not None and fault.kind == "drop":
                    return  # connection closed without a reply
                if fault is not None and fault.kind == "reset":
                    lab.instruments[role].power_on_reset()
                if fault is not None and fault.kind == "error":
                    lab.instruments[role].push_error(fault.code, "injected fault")
                if fault is not None and fault.kind == "stuck":
                    lab.chip.stuck[fault.device] = fault.state
                reply = lab.instruments[role].handle(line)
                if reply is None and fault is not None and fault.kind in REPLY_FAULTS:
                    fault.fired = False  # it strikes the next reply
                    fault.after = lab.lines[role]
            if reply is None:
                continue
            payload = reply if isinstance(reply, bytes) else reply.encode("ascii", "replace")
            if fault is not None and fault.kind == "late":
                time.sleep(fault.delay)
            if fault is not None and fault.kind in CORRUPTIONS:
                layout = getattr(lab.instruments[role], "binary_layout", lambda: None)()
                payload = fault.corrupt(reply, layout)
                fault.line, fault.reply, fault.sent = line, reply, payload
            try:
                self.wfile.write(payload + b"\n")
            except OSError:
                return


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class VirtualLab:
    """Start with ``start()`` (or as a context manager); ``resources`` maps role -> its
    model and VISA resource string. ``switch``: the 7001 with one channel per device, or
    the 7002 with 7011 cards wired two channels a device (``simulators/lab/k7002.py``).

    ``units``: which boxes are on the bench (simulators/lab/units.py): serial numbers
    drawn from an int seed, ``"nominal"`` for boxes exactly as their data sheets, a dict
    role -> :class:`~simulators.lab.units.Unit`, or None (default) for serials drawn from
    the chip's seed (the same virtual lab, the same boxes). A 7002 draws its relays'
    operate and release times from its serial number too. ``nanovoltmeter``: a 2182A
    (role ``nanovoltmeter``) on the 6221's RS-232 and trigger-link cables, for pulse
    delta (simulators/lab/k2182a.py)."""

    def __init__(self, chip: Chip | None = None, clock: LabClock | None = None,
                 faults: list[Fault] | FaultSchedule | None = None, coil_constant: float = 0.01,
                 trigger_link: bool = True, trigger_line: int = 1,
                 switch: str = "7001",
                 units: int | str | dict[str, Unit] | None = None,
                 nanovoltmeter: bool = False, voltmeter: str = "2000") -> None:
        if switch not in SWITCHES:
            raise ValueError(f"switch = {switch!r} is not one of {', '.join(SWITCHES)}")
        if voltmeter not in VOLTMETERS:
            raise ValueError(f"voltmeter = {voltmeter!r} is not one of {', '.join(VOLTMETERS)}")
        if voltmeter == "2182A" and nanovoltmeter:
            raise ValueError("nanovoltmeter: the voltmeter is the 2182A already")
        self.models = {**MODELS, "switch": switch, "voltmeter": voltmeter,
                       **({"nanovoltmeter": "2182A"} if nanovoltmeter else {})}
        self.chip = chip if chip is not None else build_chip(4, 0.5e-6, 0)
        self.clock = clock if clock is not None else LabClock()
        self.chip.clock = self.clock
        if not isinstance(units, dict):
            units = bench_units(self.models, self.chip.seed if units in (None, "nominal")
                                else units, nominal=units == "nominal")
        pulse = Keithley6221Emulator(self.chip, self.clock)
        if voltmeter == "2182A":  # on the 6221's RS-232 and trigger-link cables as Keithley
            voltmeter = self._nanovoltmeter(pulse)  # pairs them; reads as the voltmeter
            self.trigger_line = None  # no EXT TRIG of a 2000 on the link
        else:
            voltmeter = Keithley2000Emulator(self.chip, self.clock)
            voltmeter.source = pulse
            pulse.observers = (voltmeter,)  # the 2000 integrates what the 6221 drives
            if trigger_link:  # 6221 trigger-link line -> 2000 EXT TRIG (a link-to-BNC cable)
                pulse.trigger_link = {trigger_line: voltmeter.external_trigger}
            self.trigger_line = trigger_line if trigger_link else None
        self.instruments: dict[str, LabInstrument] = {
            "pulse": pulse, "voltmeter": voltmeter,
            "field": Keithley2400Emulator(self.chip, self.clock, coil_constant),
            "switch": (Keithley7001Emulator(self.chip, self.clock) if switch == "7001" else
                       Keithley7002Emulator(self.chip, self.clock,
                                            pair_wiring(len(self.chip.devices)),
                                            **({"serial": units["switch"].serial}
                                               if "switch" in units else {}))),
        }
        if switch == "7002":
            self.instruments["switch"].source = pulse.programmed
        if nanovoltmeter:  # a 2182A on the 6221's RS-232 and trigger-link cables (pulse delta)
            self.instruments["nanovoltmeter"] = self._nanovoltmeter(pulse)
        for role, unit in units.items():
            fit_unit(self.instruments[role], unit)
        self.units = {role: self.instruments[role].unit for role in self.instruments}
        schedule = faults if isinstance(faults, FaultSchedule) else None
        self.faults = [] if schedule is not None else list(faults or [])
        self.schedule = schedule  # faults on the lab's clock (simulators/lab/faults.py)
        self.lines = {role: 0 for role in self.instruments}
        self.lock = threading.RLock()
        self.readers: set[_LineReader] = set()  # one per client connection
        self.readers_lock = threading.Lock()
        self.clock.settle = self.settle
        self._servers: dict[str, _Server] = {}
        if schedule is not None:
            schedule.install(self, Fault)

    def _nanovoltmeter(self, pulse: Keithley6221Emulator) -> Keithley2182AEmulator:
        meter = Keithley2182AEmulator(self.chip, self.clock)
        pulse.nanovoltmeter, meter.source = meter, pulse
        return meter

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until every emulator has handled every line sent to it, so the clock has
        been charged for them (a client's write returns at once); at most ``timeout``
        (a "late" fault holds its reply)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.readers_lock:
                readers = list(self.readers)
            if all(reader.idle() for reader in readers):
                return
            time.sleep(1e-4)

    def device_state(self) -> dict:
        """The routed device's state, switching budget and generators (JSON-ready)."""
        with self.lock:
            return self.chip.snapshot(self.chip.selected)

    def restore_device(self, state: dict) -> None:
        """Put a device back as ``device_state`` found it (a resumed run goes on exactly)."""
        with self.lock:
            self.chip.restore(state)

    def due_fault(self, role: str, line: str = "") -> Fault | None:
        """The fault that strikes this ``line`` to ``role`` now, marked fired, or None: a
        counted fault once, after its ``after`` lines; a scheduled one from its lab time ``at``,
        once or on every line until ``until``."""
        now = self.clock.seconds
        for fault in self.faults:
            if fault.role != role or not fault.strikes(line):
                continue
            if fault.at is None:
                due = not fault.fired and self.lines[role] > fault.after
            else:  # scheduled: from ``at``, once or on every line until ``until``
                due = now >= fault.at and (not fault.fired or (
                    fault.until is not None and now < fault.until))
            if due:
                fault.fired = True
                fault.strikes_count += 1
                if fault.fired_at is None:
                    fault.fired_at = now
                return fault
        return None

    def start(self, port: int = 0) -> VirtualLab:
        """Serve every instrument on its own 127.0.0.1 TCP port, each in a daemon thread:
        ``port`` and the ones after it in role order, or (0) ports the system picks."""
        for offset, role in enumerate(self.instruments):
            server = _Server(("127.0.0.1", port + offset if port else 0), _Handler)
            server.lab = self  # type: ignore[attr-defined]
            server.role = role  # type: ignore[attr-defined]
            threading.Thread(target=server.serve_forever, args=(POLL_SECONDS,), daemon=True,
                             name=f"virtual-{role}").start()
            self._servers[role] = server
        return self

    def stop(self) -> None:
        """Stop serving and close the listening sockets; the lab can be started again. Every
        server is asked at once (each stops within ``POLL_SECONDS``, not one after another)."""
        stopping = [threading.Thread(target=server.shutdown)
                    for server in self._servers.values()]
        for thread in stopping:
            thread.start()
        for thread in stopping:
            thread.join()
        for server in self._servers.values():
            server.server_close()
        self._servers.clear()

    def __enter__(self) -> VirtualLab:
        return self.start() if not self._servers else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def port(self, role: str) -> int:
        """The TCP port ``role`` is served on (KeyError before :meth:`start`)."""
        return self._servers[role].server_address[1]

    @property
    def resources(self) -> dict[str, dict[str, str]]:
        """Each served role's model and VISA resource string
        (``TCPIP0::127.0.0.1::PORT::SOCKET``, pyvisa-py's raw socket), what a lab is opened with."""
        return {role: {"model": self.models[role],
                       "resource": f"TCPIP0::127.0.0.1::{self.port(role)}::SOCKET"}
                for role in self._servers}
