"""A chip-scale survey: every device routed once, screened, swept, graded, mapped (paper 002
Fig. 3a-b, on a whole chip), and the devices a network needs chosen with their spares.

Each device is routed once and all its cycles run before the next (its relays close once
per device, never once per cycle). Its two R_AHE levels are calibrated as every cycle needs;
a device whose levels do not separate is read three more times after a reset and after a
strong write, and named from those readings against the chip's working devices:

- ``open``: the readings scatter by more than half the chip's Hall step (no Hall signal, a
  floating voltmeter);
- ``stuck at +1``: quiet, at the chip's +1 level;
- ``no switching``: quiet, at the -1 level (a dead device, or one stuck at -1: the two read
  alike).

A device the guard refuses (its own limit below the cycle's currents) is ``refused``; one a
watched run retires on the way (``protocols.errors.DeviceRetired``: worn out, or refusing its
reset) is ``retired``, and the survey goes on with the next. The
others are swept (``protocols.sweep``: the switching region found by a coarse search, then
I_bias +- 5 I0) and graded by ``protocols.fitting.grade_fit``.

Which devices a network takes: paper 002 Fig. 3c shows accuracy falling as the neurons'
bias currents spread (eta), so a network takes the usable devices closest to the chip's
median I_bias and window (score |ln(I_bias / median)| + |ln(window / median)|); the other
usable devices are its spares in the same order, the first to replace a device that fails.
"""

from __future__ import annotations

import math
import time

import numpy as np

from instruments.limits import LimitError
from protocols.cycle import ResetWriteRead
from protocols.errors import DeviceRetired, ProtocolError
from protocols.plan import Advance, Plan, Readings
from protocols.procedures import survey_table
from protocols.sweep import sweep_device

DIAGNOSE_READS = 3
NOT_SEPARATED = "R_AHE levels not separated"


def survey_devices(rwr: ResetWriteRead, devices: list[int], iterations: int,
                   network: int | None = None) -> Plan[dict]:
    """The plan (``protocols.plan``) that surveys ``devices`` on ``rwr``'s lab and timing (a
    fresh calibration per device, under each device's own limits; every device's readings
    yielded as they come); returns ``survey_table``'s statistics with every device's
    ``grade``, the ``network`` and ranked ``spares``, and the virtual ``lab_seconds`` taken."""
    lab = rwr.lab
    clock = lab.clock
    start = clock.now() if clock is not None else None
    base = lab.limits
    rows, screens = [], {}
    try:
        for done, device in enumerate(devices):
            yield Advance("survey", done, len(devices))
            lab.set_limits(base)
            try:
                rwr.route_device(device)  # its pulses are counted from here
                lab.set_limits(lab.device_limits(device))
                row, screen = yield from _survey_one(rwr, device, iterations)
            except DeviceRetired as err:  # a watched run retired it: marked, and on we go
                row, screen = _failed(device, "retired", err.reason), None
            rows.append(row)
            if screen is not None:
                screens[device] = screen
    finally:
        lab.set_limits(base)
    yield Advance("survey", len(devices), len(devices))
    _name_defects(rows, screens)
    summary = survey_table(rows)
    summary["grades"] = {str(r["device"]): r["grade"] for r in rows}
    chosen, spares = choose_network(rows, network)
    summary.update(network=chosen, spares=spares,
                   lab_seconds=None if clock is None else float(clock.now() - start))
    return summary


def _survey_one(rwr: ResetWriteRead, device: int,
                iterations: int) -> Plan[tuple[dict, dict | None]]:
    clock = rwr.lab.clock
    start = clock.now() if clock is not None else None
    try:
        rwr.calibrate()
    except LimitError as err:
        return _failed(device, "refused", str(err)), None
    except ProtocolError as err:
        if NOT_SEPARATED not in str(err):
            raise
        return _failed(device, "no switching", str(err)), (yield from _diagnose(rwr, device))
    result = yield from _readings_only(sweep_device(rwr, device, None, iterations))
    row = result.summary()
    row["grade"] = "usable" if result.grade.usable else "unusable fit"
    row["levels"] = list(rwr.levels)
    row["lab_seconds"] = None if clock is None else float(clock.now() - start)
    return row, None


def _failed(device: int, grade: str, reason: str) -> dict:
    nan = math.nan
    return {"device": device, "usable": False, "grade": grade, "reason": reason,
            "i_bias": nan, "i0": nan, "i_bias_err": nan, "i0_err": nan, "window": nan,
            "window_err": nan}


def _readings_only(plan: Plan) -> Plan:
    """``plan`` as a part of the survey: its readings and its result (what is thrown in
    reaches it); the currents a device's search finds are its sweep's own (in its row), not
    a setting of the survey run, and the survey's progress counts devices."""
    try:
        message = next(plan)
        while True:
            if not isinstance(message, Readings):
                message = next(plan)
                continue
            try:
                yield message
            except BaseException as err:  # the plan's to handle
                message = plan.throw(err)
            else:
                message = next(plan)
    except StopIteration as stop:
        return stop.value


def _diagnose(rwr: ResetWriteRead, device: int) -> Plan[dict]:
    """R_AHE read ``DIAGNOSE_READS`` times after a reset and after a strong write (recorded)."""
    s = rwr.settings
    after = {}
    for name, current in (("reset", s.reset_current), ("write", abs(s.reset_current))):
        rwr.pulse(current, s.reset_width if name == "reset" else s.write_width)
        after[name] = [rwr.read_resistance() for _ in range(DIAGNOSE_READS)]
        yield Readings([{"device": device, "diagnosis": name, "current": current,
                         "r_ahe": r, "t": time.time()} for r in after[name]])
    return after


def _name_defects(rows: list[dict], screens: dict[int, dict]) -> None:
    """Name each device whose levels did not separate, against the working devices'."""
    levels = np.array([r["levels"] for r in rows if "levels" in r])
    if not len(levels):
        return
    low, high = np.median(levels, axis=0)
    step = high - low
    for row in rows:
        screen = screens.get(row["device"])
        if screen is None:
            continue
        readings = np.array(screen["reset"] + screen["write"])
        scatter = float(readings.max() - readings.min())
        if scatter > step / 2:
            row["grade"] = "open"
            row["reason"] = (f"no Hall signal: readings scatter by {scatter:.3g} ohm (the "
                             f"chip's step is {step:.3g} ohm)")
        else:
            level = float(readings.mean())
            row["grade"] = "stuck at +1" if abs(level - high) < abs(level - low) else \
                "no switching"
            row["reason"] = (f"R_AHE stays at {level:.4g} ohm after resets and writes (the "
                             f"chip's levels: {low:.4g} and {high:.4g} ohm)")


def choose_network(rows: list[dict], needed: int | None) -> tuple[list[int], list[int]]:
    """(the ``needed`` devices a network takes, in device order; the other usable devices,
    best first) by closeness to the chip's median I_bias and window (module docstring).
    ``needed`` None: no network, every usable device a spare."""
    usable = [r for r in rows if r.get("usable")]
    if not usable:
        return [], []
    bias = np.median([r["i_bias"] for r in usable])
    window = np.median([r["window"] for r in usable])
    ranked = sorted(usable, key=lambda r: (abs(math.log(r["i_bias"] / bias))
                                           + abs(math.log(r["window"] / window)), r["device"]))
    needed = 0 if needed is None else min(needed, len(ranked))
    return sorted(r["device"] for r in ranked[:needed]), [r["device"] for r in ranked[needed:]]
