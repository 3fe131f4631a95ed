"""The instruments' errors (kept light, so the CLI can catch them without loading drivers)."""

from __future__ import annotations

import signal


class LabConnectionError(RuntimeError):
    """An instrument could not be reached; names the role and the address."""


class OutputsOnError(LabConnectionError):
    """Switching off was not confirmed by ``OUTP?``: ``outputs`` names each output that may
    still be on."""

    def __init__(self, outputs: dict[str, str]) -> None:
        self.outputs = dict(outputs)
        super().__init__("; ".join(f"{name} may still be on ({why})"
                                   for name, why in self.outputs.items()))


class InstrumentError(RuntimeError):
    """The instrument reported an error, or answered something that is not a reading."""


class ReplyError(InstrumentError):
    """A reply that is not what the instrument's manual says it sends to that command
    (binary bytes, empty, partial, several values for one, units, NaN, the wrong count):
    names the instrument, the command and the reply; never becomes a reading."""

    def __init__(self, instrument: str, command: str, reply: str | bytes, why: str) -> None:
        self.instrument, self.command, self.reply, self.why = instrument, command, reply, why
        shown = reply if len(reply) <= 60 else reply[:60] + (b"..." if isinstance(reply, bytes)
                                                             else "...")
        super().__init__(f"{instrument}: garbled reply {shown!r} to {command}: {why}")


class StopSignal(KeyboardInterrupt):
    """SIGTERM, SIGHUP or SIGQUIT (or SIGINT) while a lab is open: raised like Ctrl-C's
    KeyboardInterrupt, so every ``with`` and ``finally`` on the way out switches the outputs
    off."""

    def __init__(self, signum: int) -> None:
        self.signum = int(signum)
        super().__init__(signal.Signals(signum).name)

    @property
    def name(self) -> str:
        """The signal's name (``SIGTERM``, ``SIGHUP`` ...), as the exception's message gives it."""
        return signal.Signals(self.signum).name
