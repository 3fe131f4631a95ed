"""Keithley 6221, 2000, 2182A, 2400, 7001 and 7002 drivers for the protocols: pymeasure's drivers,
extended, one module per model (as simulators/lab/ has one emulator per model).

What pymeasure 0.16 lacks is added as declarative ``Instrument.control`` properties; its two
bugs are fixed (6221 ``config_buffer`` set a trigger count the class never defined, so
nothing was sent; 2000 ``voltage_ac_range`` wrote the DC auto-range command).

Safety in two layers: the source controls validate against the device limits (pymeasure
``dynamic`` values, recomputed whenever ``limits`` or the coil constant change), and under
every source driver sits the one guard of ``instruments.guard``, on the VISA resource itself,
which reads every outgoing line as SCPI and refuses any that would put the source beyond a
limit, whoever sends it (our methods, pymeasure's properties, ``adapter.write``). Every reply
is read through ``replies`` (what the manual says the instrument sends, or a ReplyError).
"""

from instruments.errors import InstrumentError, ReplyError
from instruments.keithley.base import SafeWriteMixin
from instruments.keithley.k2000 import BINARY_READINGS, HallVoltmeter
from instruments.keithley.k2182a import Nanovoltmeter
from instruments.keithley.k2400 import FieldSupply
from instruments.keithley.k6221 import READ_POINT, PulseSource
from instruments.keithley.k7001 import SwitchCard
from instruments.keithley.k7002 import SwitchSystem, SwitchWiring
from instruments.keithley.replies import (
    COMMON_REPLIES,
    NO_READING,
    parse_reply,
    parse_values,
    read_sreal_block,
)
from instruments.keithley.voltmeter import TriggeredBuffer, triggered_buffer_missing

__all__ = ["BINARY_READINGS", "COMMON_REPLIES", "NO_READING", "READ_POINT", "FieldSupply",
           "HallVoltmeter", "InstrumentError", "Nanovoltmeter", "PulseSource", "ReplyError",
           "SafeWriteMixin", "SwitchCard", "SwitchSystem", "SwitchWiring", "TriggeredBuffer",
           "parse_reply", "parse_values", "read_sreal_block", "triggered_buffer_missing"]
