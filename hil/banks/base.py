"""The neuron bank: the one seam between training and devices (DESIGN.md).

A bank holds ``n_neurons`` stochastic neurons. ``switch(currents)`` resets each neuron,
applies one write pulse of the given current and reports whether it switched
(paper 002's reset-write-read cycle). Currents are batched over leading axes
(time steps, images): simulators vectorise, hardware loops or runs a hardware-timed list.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from protocols.fitting import WINDOW_LOGIT_SPAN


@dataclass(frozen=True)
class Calibration:
    """What the software knows of one neuron: P_sw = sigmoid((I - i_bias) / i0) at pulses of
    ``pulse_width`` (paper 002 Eq. 2). SI units."""

    i_bias: float
    i0: float
    pulse_width: float

    def __post_init__(self) -> None:
        if not (self.i0 > 0 and self.pulse_width > 0 and np.isfinite(self.i_bias)):
            raise ValueError(f"invalid calibration {self}: i0 and pulse_width must be > 0")

    @property
    def window(self) -> float:
        return WINDOW_LOGIT_SPAN * self.i0


class NeuronBank(abc.ABC):
    """Abstract bank of stochastic neurons. Subclasses implement ``_switch``."""

    def __init__(
        self, calibration: Sequence[Calibration], max_current: np.ndarray | float
    ) -> None:
        self.calibration: list[Calibration] = list(calibration)
        self.max_current = np.broadcast_to(
            np.asarray(max_current, float), (len(self.calibration),)
        ).copy()
        self._closed = False
        # where the calibration came from, for a run's provenance (a lab bank names the
        # sweep run of each device)
        self.calibration_origin: str = "as built: the nominal device"

    @property
    def n_neurons(self) -> int:
        return len(self.calibration)

    def switch(self, currents: np.ndarray) -> np.ndarray:
        """Reset, write ``currents`` (..., n_neurons) in amperes, read: True where switched.

        A current beyond a neuron's safe limit is refused before any pulse."""
        if self._closed:
            raise RuntimeError("the neuron bank is closed")
        currents = np.asarray(currents, dtype=float)
        if currents.ndim == 0 or currents.shape[-1] != self.n_neurons:
            raise ValueError(
                f"currents: last axis must hold the {self.n_neurons} neurons, got shape "
                f"{currents.shape}"
            )
        if not np.all(np.isfinite(currents)):
            raise ValueError("currents: every write current must be finite")
        over = np.abs(currents) > self.max_current * (1 + 1e-12)
        if np.any(over):
            neuron = int(np.argwhere(over)[0][-1])
            raise ValueError(
                f"currents: {np.abs(currents)[over].max() * 1e3:.4g} mA exceeds the safe limit "
                f"of neuron {neuron}, allowed range [0, {self.max_current[neuron] * 1e3:.4g}] mA"
            )
        return np.asarray(self._switch(currents), dtype=bool)

    @abc.abstractmethod
    def _switch(self, currents: np.ndarray) -> np.ndarray: ...

    def get_state(self) -> Any:
        """Everything a resumed run needs to go on exactly as an uninterrupted one: the
        random streams of simulated devices, the virtual lab's devices; ``None`` for a
        bank with nothing to restore."""
        return None

    def describe(self) -> dict[str, Any]:
        """What the neurons are, for a run's record: the bank, how it was built (devices,
        seeds) and each neuron's calibration with where it came from (JSON-ready)."""
        return {"bank": type(self).__name__, "neurons": self.n_neurons,
                "calibration": [asdict(c) for c in self.calibration],
                "calibration_origin": self.calibration_origin,
                "max_current": self.max_current.tolist()}

    def instrument_snapshot(self) -> dict[str, Any] | None:
        """Every instrument's settings now (a bank on instruments), else None."""
        return None

    def price_lab_time(self, rows: Sequence[int]) -> None:  # noqa: B027 - no lab, no cost
        """Before a run: learn what a ``switch`` of each of ``rows`` rows will cost in lab
        time, without pulsing this bank's devices (a bank on instruments)."""

    def lab_seconds_for(self, rows: int) -> float | None:
        """Lab seconds one ``switch`` of ``rows`` rows (time steps x images) costs, or None
        off the lab or before anything is known."""
        return None

    def set_state(self, state: Any) -> None:  # noqa: B027 - hardware has nothing to restore
        """Restore what ``get_state`` returned."""

    def close(self) -> None:
        """Outputs off. Idempotent."""
        self._closed = True

    def __enter__(self) -> NeuronBank:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class WrappedBank(NeuronBank):
    """A bank built on another one (``self.bank``): its state and its closing are the
    wrapped bank's."""

    bank: NeuronBank

    def get_state(self) -> Any:
        return self.bank.get_state()

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "wraps": self.bank.describe()}

    def instrument_snapshot(self) -> dict[str, Any] | None:
        return self.bank.instrument_snapshot()

    def _wrapped_rows(self, rows: int) -> int:
        return rows

    def price_lab_time(self, rows: Sequence[int]) -> None:
        self.bank.price_lab_time([self._wrapped_rows(r) for r in rows])

    def lab_seconds_for(self, rows: int) -> float | None:
        return self.bank.lab_seconds_for(self._wrapped_rows(rows))

    def __getattr__(self, name: str):
        """What only some banks have (a lab bank's ``lab_record``, ``lab_seconds``,
        ``prepare``): the wrapped bank's."""
        if name in ("lab_record", "lab_seconds", "prepare"):
            return getattr(self.bank, name)
        raise AttributeError(name)

    def set_state(self, state: Any) -> None:
        self.bank.set_state(state)

    def close(self) -> None:
        self.bank.close()
        super().close()


class MultiplexedBank(WrappedBank):
    """Several logical neurons on each physical device of ``bank`` (paper 002 SI S12).

    Logical neuron j runs on device j // copies; the copies of one device are pulsed one
    after another, so one call becomes ``copies`` calls on the wrapped bank."""

    def __init__(self, bank: NeuronBank, copies: int) -> None:
        if copies < 1:
            raise ValueError(f"copies = {copies} is outside the allowed range [1, inf)")
        self.bank = bank
        self.copies = copies
        super().__init__(
            [c for c in bank.calibration for _ in range(copies)],
            np.repeat(bank.max_current, copies),
        )

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "copies": self.copies}

    def _wrapped_rows(self, rows: int) -> int:
        return rows * self.copies  # the copies in turn: one wrapped call, copies x the rows

    def _switch(self, currents: np.ndarray) -> np.ndarray:
        lead = currents.shape[:-1]
        grouped = currents.reshape(*lead, self.bank.n_neurons, self.copies)
        in_turn = np.moveaxis(grouped, -1, 0)  # (copies, ..., devices): one pulse at a time
        switched = self.bank.switch(in_turn)
        return np.moveaxis(switched, 0, -1).reshape(currents.shape)
