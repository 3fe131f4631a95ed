"""The neuron bank: the one seam between training and devices (DESIGN.md).

A bank holds ``n_neurons`` stochastic neurons. ``switch(currents)`` resets each neuron,
applies one write pulse of the given current and reports whether it switched
(paper 002's reset-write-read cycle). Currents are batched over leading axes
(time steps, images): simulators vectorise, hardware loops or runs a hardware-timed list.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from protocols.fitting import (
    WINDOW_LOGIT_SPAN,
    SigmoidFit,
    compare_models,
    fit_sigmoid,
    fit_thermal,
    grade_fit,
)


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
        """The programming window (A): the current span from P_sw = 0.01 % to 99.9 %, 16.1 I0 (paper
        002 Eq. 2)."""
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
        """How many neurons the bank holds: the last axis every ``switch`` call must have."""
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

    @property
    def lab_seconds(self) -> float | None:
        """Seconds the instruments took so far; None off the lab."""
        return None

    def lab_record(self) -> dict | None:
        """What a run records of this bank's lab (pulses per device, the measured burst);
        None off the lab."""
        return None

    def lab_clock(self) -> object | None:
        """The lab whose clock ``lab_seconds`` reads, so banks sharing one are counted once
        (None off the lab)."""
        return None

    def spares(self) -> list[int]:
        """Devices that may take a retired device's place, best first (a lab bank whose
        survey chose its devices: the survey's other usable ones); none by default."""
        return []

    def prepare(self) -> None:  # noqa: B027 - nothing to set up off the lab
        """The one-off set-up before a run's first epoch (a lab bank routes and calibrates
        every device's cycle); nothing to do for a simulated bank."""

    def measure_calibration(self, store: Any = None, lab_description: dict | None = None,
                            iterations: int = 100, resumed_after: int | None = None) -> None:
        """Each neuron's calibration measured now: here a switching sweep of every neuron
        through ``switch`` (``characterise``), kept with the run that asked for it. A lab bank
        records a sweep per device in ``store`` instead (hil.banks.lab)."""
        fits = characterise(self, self.calibration, iterations)
        self.calibration = calibrations_from_fits(fits, self.calibration[0].pulse_width)
        self.calibration_origin = "characterised: a sweep of every neuron in this run"

    @property
    def calibration_sweeps(self) -> list[int | None] | None:
        """The run id of each device's calibration sweep in the store; None where no sweep
        was recorded (a simulated bank's calibration is kept in its run)."""
        return None

    @property
    def innermost(self) -> NeuronBank:
        """The bank under any wrappers: the one with the devices."""
        return self

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

    @property
    def lab_seconds(self) -> float | None:
        return self.bank.lab_seconds

    def lab_record(self) -> dict | None:
        return self.bank.lab_record()

    def lab_clock(self) -> object | None:
        return self.bank.lab_clock()

    def spares(self) -> list[int]:
        return self.bank.spares()

    def prepare(self) -> None:
        self.bank.prepare()

    def measure_calibration(self, store: Any = None, lab_description: dict | None = None,
                            iterations: int = 100, resumed_after: int | None = None) -> None:
        """The wrapped bank's devices measured (on a lab, each device's sweep recorded in
        ``store``); each neuron here takes its device's calibration."""
        self.bank.measure_calibration(store, lab_description, iterations, resumed_after)
        self.calibration = self._from_wrapped(self.bank.calibration)
        self.calibration_origin = self.bank.calibration_origin

    def _from_wrapped(self, calibration: list[Calibration]) -> list[Calibration]:
        """This bank's neurons' calibrations from the wrapped bank's."""
        return list(calibration)

    @property
    def calibration_sweeps(self) -> list[int | None] | None:
        return self.bank.calibration_sweeps

    @property
    def innermost(self) -> NeuronBank:
        return self.bank.innermost

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
        super().__init__(self._from_wrapped(bank.calibration),
                         np.repeat(bank.max_current, copies))

    def _from_wrapped(self, calibration: list[Calibration]) -> list[Calibration]:
        return [c for c in calibration for _ in range(self.copies)]

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


class FirstNeurons(WrappedBank):
    """The first ``n`` neurons of a bank (a multiplexed bank may have a spare slot)."""

    def __init__(self, bank: NeuronBank, n: int) -> None:
        self.bank = bank
        super().__init__(bank.calibration[:n], bank.max_current[:n])

    def _from_wrapped(self, calibration: list[Calibration]) -> list[Calibration]:
        return list(calibration[: self.n_neurons])

    def _switch(self, currents: np.ndarray) -> np.ndarray:
        pad = self.bank.n_neurons - self.n_neurons
        full = np.concatenate([currents, np.zeros((*currents.shape[:-1], pad))], axis=-1)
        return self.bank.switch(full)[..., : self.n_neurons]


def characterise(
    bank: NeuronBank,
    guess: list[Calibration],
    iterations: int = 100,
    points: int = 21,
    span: float = 1.5,
) -> list[SigmoidFit]:
    """Switching-probability sweep of every neuron at once through ``bank.switch`` and a
    sigmoid fit per neuron (paper 002 SI S3: ``iterations`` reset-write cycles per current),
    centred on the neuron's 50 % current: the logistic's I0, and as I_bias the 50 % point
    of the switching model its counts prefer (the logistic, or the thermally activated
    curve at the bank's pulse width: ``protocols.fitting.compare_models``).

    The sweep covers ``span`` guessed windows about each guessed I_bias; a neuron whose
    50 % point lies outside, or whose fit is graded unusable (``grade_fit``), is swept
    again about the new estimate, and one whose curve is a step between two currents (no
    fit determines I0) is swept again, narrower, about the step."""
    pulse_width = guess[0].pulse_width
    centre = np.array([c.i_bias for c in guess])
    half = span * np.array([c.window for c in guess]) / 2
    fits: list[SigmoidFit | None] = [None] * bank.n_neurons
    reasons: dict[int, str] = {}
    for _ in range(4):
        todo = [j for j, f in enumerate(fits) if f is None]
        if not todo:
            break
        grid = np.linspace(-1.0, 1.0, points)[:, None] * half + centre  # (points, neurons)
        grid = np.clip(grid, 0.0, bank.max_current)
        switched = bank.switch(np.broadcast_to(grid, (iterations, *grid.shape)))
        p = switched.mean(axis=0)
        for j in todo:
            if p[0, j] < 0.5 < p[-1, j]:
                try:
                    fit = fit_sigmoid(grid[:, j], p[:, j], iterations)
                except RuntimeError as err:  # a step between two currents: I0 unknown
                    reasons[j] = str(err)
                    centre[j] = np.interp(0.5, np.maximum.accumulate(p[:, j]), grid[:, j])
                    half[j] /= 8  # a narrower sweep about the step
                    continue
                counts = np.rint(p[:, j] * iterations)
                fifty = compare_models(grid[:, j], counts, iterations, fit, fit_thermal(
                    grid[:, j], counts, iterations, pulse_width))
                grade = grade_fit(grid[:, j], counts, iterations, fit, fifty)
                if grade.usable:  # only a graded-usable fit becomes a calibration
                    fits[j] = dataclasses.replace(fit, i_bias=fifty.i_50,
                                                  i_bias_err=fifty.i_50_err)
                    continue
                reasons[j] = grade.reason
                half[j] *= 2  # crossed, but not measured well enough: a wider sweep
            else:  # 50 % point outside the sweep: move the centre towards it, widen
                centre[j] = grid[-1, j] if p[-1, j] <= 0.5 else grid[0, j]
                half[j] *= 2
    missing = [j for j, f in enumerate(fits) if f is None]
    if missing:
        why = "; ".join(f"{j}: {reasons.get(j, 'never crossed 50 %')}" for j in missing)
        raise RuntimeError(f"neurons {missing} gave no usable fit within their safe range "
                           f"({why})")
    return [f for f in fits if f is not None]


def calibrations_from_fits(fits: list[SigmoidFit], pulse_width: float) -> list[Calibration]:
    """One calibration per fitted sigmoid (I_bias and I0 of paper 002 Eq. 2), at the pulse
    width the sweeps were run with: a calibration holds only for the pulse it was measured
    at."""
    return [Calibration(f.i_bias, f.i0, pulse_width) for f in fits]
