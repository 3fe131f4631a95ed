"""What the emulated devices truly did: every write pulse, the device it went through and the
state it left, grouped by the waveform that played it. The ground truth a protocol's
verdicts are checked against: a verdict stored against the wrong cycle disagrees with it.

A batch the protocol refused and played again is a waveform with the same writes played
twice in a row; only the last playing counts (the one whose readings were kept).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simulators.lab.server import VirtualLab


@dataclass
class Write:
    device: int
    current: float
    switched: bool  # the device's state after the pulse is +1 (written)


@dataclass
class WriteOracle:
    """Installed on a virtual lab: records the writes of every waveform the 6221 plays
    (a positive pulse above ``threshold`` amperes; resets and read current are not writes)."""

    lab: VirtualLab
    threshold: float = 100e-6
    waveforms: list[list[Write]] = field(default_factory=list)

    def __post_init__(self) -> None:
        chip, source = self.lab.chip, self.lab.instruments["pulse"]
        drive, handle = chip.drive, source.handle
        self._playing = False

        def recorded_drive(current: float, duration: float) -> None:
            drive(current, duration)
            if self._playing and current > self.threshold:
                self.waveforms[-1].append(Write(chip.selected, current,
                                                bool(chip.states[chip.selected] > 0)))

        def recorded_handle(line: str):
            playing = "WAVE:INIT" in line.upper()
            if playing:
                self.waveforms.append([])
            self._playing = playing
            try:
                return handle(line)
            finally:
                self._playing = False

        chip.drive = recorded_drive
        source.handle = recorded_handle

    def clear(self) -> None:
        """Forget what was played so far (a calibration's strong writes, say)."""
        self.waveforms.clear()

    def kept(self) -> dict[int, list[Write]]:
        """device -> its writes in the waveforms whose readings were kept, in order."""
        out: dict[int, list[Write]] = {}
        for k, waveform in enumerate(self.waveforms):
            following = self.waveforms[k + 1] if k + 1 < len(self.waveforms) else None
            if not waveform or (following is not None and _same(waveform, following)):
                continue  # refused and played again
            for write in waveform:
                out.setdefault(write.device, []).append(write)
        return out


def _same(a: list[Write], b: list[Write]) -> bool:
    return [(w.device, w.current) for w in a] == [(w.device, w.current) for w in b]
