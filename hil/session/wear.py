"""A device's wear over its life: the pulses every run on its chip sent it, and the budget a
watched run holds it to (``hil.session.suspenders.WearBudget``).

The budget comes from, in order: the run's own ``[suspenders.wear] pulses`` (or the API's
``WearBudget(pulses=...)``), the lab file's ``[wear]`` table (chip-wide ``pulses`` and
per-device ``[wear.devices]``), the newest finished survey of the same lab in the run store
(each device's budget as the survey recorded it), else none (the suspender stays quiet). The
run's provenance says which (``wear``).

What a survey records: each device's own endurance shown on this chip (its longest finished
endurance run in the store that still switched at its end: that many reset-write cycles) and
no budget for a device without one. The source paper gives no failure point to default to:
paper 002 (Islam et al., "Hardware in Loop Learning with Spin Stochastic Neurons") SI Fig. S5
ran one bar 10,000 cycles at about 50 % switching (5061 switches) and it stayed consistent to
the end, while its own training sent each bar 32,000 cycles (T = 100, 16 images, 20 epochs):
a life shown is not a life spent, and a default of 10,000 cycles would retire every device of
a 10-class run. A lab that knows its bars' life says so in its lab file.

A device's count is its life: the pulses every earlier run on the same chip recorded for it
(each run's result keeps ``pulses`` per device, replays included: ``record_run`` and the
trainer's lab record), plus this run's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from instruments.connection import LabFile, LabFileError, WearBudgets
from protocols.errors import ConfigError
from protocols.store import RunStore

__all__ = ["Budget", "chip_key", "earlier_pulses", "resolve_budget", "survey_budgets"]

PULSES_PER_CYCLE = 2  # a reset and a write (protocols.cycle counts both)


class Budget:
    """The budget a run is held to: a default, per-device overrides and where they came from
    (``source``: None when no budget was found)."""

    def __init__(self, default: int | None = None, devices: dict[int, int] | None = None,
                 source: str | None = None) -> None:
        self.default, self.devices, self.source = default, dict(devices or {}), source

    def of(self, device: int | None) -> int | None:
        """``device``'s budget in pulses (None: no budget)."""
        return self.devices.get(device, self.default) if device is not None else self.default

    def describe(self) -> dict[str, Any]:
        """As the run's provenance keeps it (``wear``)."""
        return {"source": self.source, "pulses": self.default,
                "devices": {str(d): n for d, n in sorted(self.devices.items())}}


def chip_key(description: dict | None) -> tuple | None:
    """What makes two runs' labs the same chip: the lab file's ``chip`` (else its path), or
    the virtual chip's devices, width and seed; None for an unseeded virtual chip (a new
    one each time) or no lab at all."""
    if not description:
        return None
    if "lab_file" in description:
        chip = description.get("chip")
        return ("chip", chip) if chip else ("lab_file",
                                            str(Path(description["lab_file"]).resolve()))
    if description.get("seed") is None:
        return None
    return ("virtual", description.get("devices"), description.get("width"),
            description.get("seed"))


def _run_labs(store: RunStore, run) -> list[dict]:
    """The lab descriptions a stored run ran on: a procedure's config, or a training's
    banks as its provenance describes them."""
    if isinstance(run.config.get("lab"), dict):
        return [run.config["lab"]]
    if run.kind != "train":
        return []
    return [b["lab"] for b in store.provenance(run.id).get("banks", [])
            if isinstance(b, dict) and isinstance(b.get("lab"), dict)]


def earlier_pulses(store: RunStore, description: dict | None,
                   exclude: int | None = None) -> dict[int, int]:
    """device -> pulses every run of ``store`` on the same chip recorded (its result's
    ``pulses``, whatever the run's status), but run ``exclude`` (the one being recorded)."""
    key = chip_key(description)
    if key is None:
        return {}
    total: dict[int, int] = {}
    for run in store.list_runs():
        pulses = (run.result or {}).get("pulses")
        if run.id == exclude or not isinstance(pulses, dict):
            continue
        if not any(chip_key(lab) == key for lab in _run_labs(store, run)):
            continue
        for device, count in pulses.items():
            total[int(device)] = total.get(int(device), 0) + int(count)
    return total


def _same_lab(run, description: dict) -> bool:
    return chip_key(run.config.get("lab")) == chip_key(description)


def endurance_shown(store: RunStore, description: dict, device: int) -> tuple[int, int] | None:
    """(cycles, run id) of the longest finished endurance run of ``device`` on this chip
    whose last 100-cycle average still switched (neither 0 nor 1), or None."""
    best = None
    for run in store.list_runs():
        if run.kind != "endurance" or run.status != "finished" or \
                run.config.get("device") != device or not _same_lab(run, description):
            continue
        averages = (run.result or {}).get("moving_averages", {})
        last = (averages.get("100") or averages.get(100) or [None])[-1]
        cycles = int((run.result or {}).get("cycles", 0))
        if last is not None and 0 < last < 1 and (best is None or cycles > best[0]):
            best = (cycles, run.id)
    return best


def survey_budgets(store: RunStore, description: dict, devices: list[int]) -> dict[str, dict]:
    """The budget a survey records for each surveyed device with an endurance shown on this
    chip: ``pulses`` and ``source`` (the module docstring); devices without one get none."""
    budgets = {}
    for device in devices:
        shown = endurance_shown(store, description, device) if chip_key(description) else None
        if shown is not None:
            budgets[str(device)] = {"pulses": shown[0] * PULSES_PER_CYCLE,
                                    "source": f"endurance run {shown[1]}: {shown[0]} cycles "
                                              "still switching"}
    return budgets


def newest_survey(store: RunStore, description: dict | None):
    """The newest finished survey of this chip that recorded budgets (``wear``), or None."""
    if chip_key(description) is None:
        return None
    for run in reversed(store.list_runs()):
        if run.kind == "survey" and run.status == "finished" and \
                _same_lab(run, description) and (run.result or {}).get("wear"):
            return run
    return None


def _lab_file_wear(path: str) -> WearBudgets | None:
    """The lab file's ``[wear]`` table; a bad value refused naming its field."""
    try:
        return LabFile.load(path).wear
    except LabFileError as err:
        raise ConfigError(err.field, f"lab file {path}: {err.reason}") from None
    except ValueError as err:
        raise ConfigError("lab", str(err)) from None


def resolve_budget(explicit: int | None, store: RunStore | None,
                   description: dict | None) -> Budget:
    """The budget a watched run holds its devices to (module docstring: the suspender's own
    setting, the lab file's ``[wear]``, the newest survey's, else none)."""
    if explicit is not None:
        return Budget(explicit, source="suspenders.wear.pulses")
    if description and "lab_file" in description:
        wear = _lab_file_wear(description["lab_file"])
        if wear is not None and (wear.pulses is not None or wear.devices):
            return Budget(wear.pulses, wear.devices,
                          f"lab file {description['lab_file']} [wear]")
    survey = None if store is None else newest_survey(store, description)
    if survey is not None:
        recorded = survey.result["wear"]
        return Budget(None, {int(d): int(b["pulses"]) for d, b in recorded.items()},
                      f"survey run {survey.id}")
    return Budget()
