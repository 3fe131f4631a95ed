"""The one safety guard, under every driver: each outgoing line is read as SCPI with the one
grammar (``instruments.scpi``), the states the source may be in afterwards are worked out,
and the line is refused before a byte is sent if any of them would put the source beyond a
limit.

It sits on the pyvisa resource itself (``write_raw``, which ``adapter.write``,
``adapter.write_bytes``, ``instrument.write`` and ``resource.write``/``query`` all end in, and
the reads, whose replies it needs), or, for adapters without one (pymeasure's
``ProtocolAdapter`` in tests), on the adapter's ``_write``/``_write_bytes``/``_read``. The
drivers' validators are the first line; this is the floor. Below it is only pyvisa's
``visalib`` (``resource.visalib.write(session, ...)``), which nothing in this project calls.

What it allows is a table, per source model, of the headers in the instrument's own SCPI
tables, each with the parameters it takes (Model 6220/6221 Reference Manual section 14,
"SCPI tables"; Model 2400 User's Manual section 18, "SCPI command reference"). A header it
does not know, a command given parameters it does not take, a line that does not parse
(a stray bracket, an unterminated string), a write without its line feed: refused, whole.
An allow-list, not a list of dangers. ``*RCL`` and source memory (2400 ``SOUR:FUNC MEM``) are
refused: they restore settings the guard cannot see.

The state is the instrument's (``picture``): a unit changes the guard's picture
only once the instrument has accepted it; until then the check takes the worse of the old and
the new value, and an output counts as on until ``OUTP?`` says 0. When a line would pass only
if the earlier lines were accepted, the guard asks the instrument first: one ``*ESR?`` (and
``:OUTP?``, and the settings an error left unknown read back) in one message, then checks the
line again. So a line costs nothing on the bus while the worse case passes; a waveform armed
after an upload costs one extra exchange (about 1 ms and 20 bytes on GPIB).

One picture per instrument: every connection of this process to a resource shares it, and at
the first connection the guard reads back every setting it polices that the instrument can
report, so what other software left is known before the first line; a second process on the
same resource is refused, naming the process that holds it (``claim``).

Rules: ``k6221`` and ``k2400`` (SafetyLimits, SI), checked on every state the source may be
in; ``k2000``: a multimeter in its ohms functions drives a test current through the device it
reads, held to the read limit. MAX and UP/DOWN count as the instrument's own maximum, DEF
as the manual's default; a suffix read two ways (``50MA``: 50 mA or 50 MA) counts as the
larger. A refused line changes nothing and sends nothing.

A switch system is guarded the same way (``k7002``): its closed channels are its picture,
believed once read back; the 6221 behind it takes the routed device's limits (1 nA when no
one device is routed), and no relay moves while the 6221 may drive current.

Modules: ``grammar`` (what each command takes, replies, a write's bytes), ``picture`` (what
a source may hold), ``base`` (the check), ``claim`` (one picture per instrument, the resource
lock), ``k6221``, ``k2400``, ``k2000`` and ``k7002`` (the models' tables and rules; the
route).
"""

from instruments.guard.base import LimitsSource, SourceGuard, Unconfirmed, UnknownCommandError
from instruments.guard.claim import ResourceHeldError, install
from instruments.guard.k2000 import Guard2000, State2000
from instruments.guard.k2400 import Guard2400, State2400
from instruments.guard.k6221 import Guard6221, State6221
from instruments.guard.k7002 import Guard7002, Route, State7002

__all__ = ["Guard2000", "Guard2400", "Guard6221", "Guard7002", "LimitsSource",
           "ResourceHeldError", "Route", "SourceGuard", "State2000", "State2400",
           "State6221", "State7002", "Unconfirmed", "UnknownCommandError", "install"]
