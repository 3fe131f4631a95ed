"""The burst route, with the 2000's reading period measured on the rig, not assumed.

A write current per cycle (training) is one 6221 arbitrary waveform played once; its phase
marker starts a burst of readings on the 2000 (EXTernal source, sample count = readings,
trigger delay 0: the sample loop of the Model 2000 User's Manual Fig. 4-11 runs one
reading conversion after another). The readings come at the 2000's own reading period,
which the data sheet gives only as a rounded typical figure for 60 Hz ("0.01 PLC: 2000
readings/s", note 2): a unit 0.25 % off that figure moves the 1,000th reading by 1.25 ms,
out of any read window. So nothing here assumes it:

1. **Measured at connect** (:func:`measure_reading_period`): the 6221 plays a square wave of
   read current whose edges fall at times it knows on its own timebase, and the 2000 takes
   a full buffer of readings across it with the burst's own settings. A reading that
   straddles an edge reads the fraction of its integration the current flowed, which
   places it in time to a few microseconds; a least-squares line through them gives the
   reading period (to a few nanoseconds, against the 6221's clock: the one the waveform
   runs on) and the trigger latency. No pulse reaches the device.
2. **Laid out from the measurement** (:func:`plan_burst`): each reading gets its read window
   where it will fall, on a grid of waveform points of a fraction of a pulse width (pulses
   stay exactly their width); a cycle's points vary by one so that the windows follow the
   reading period without drift, whatever it is.
3. **Verified every batch** (:meth:`BurstPlan.check`): probe readings before and after the
   cycles (a reset, one reading with the read current on throughout, probes whose current
   stops in the middle of their integration, one with no current) measure how far the
   burst has actually moved by the first and the last cycle. The period is constant within
   a burst, so every reading in between lies on the line through them: a batch whose
   readings could have left their windows is refused (never stored), and the measured
   drift re-synchronises the period for the next batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

MAX_POINT = 50e-6  # s: waveform points at most this long (a pulse is whole points of it)
TOLERANCE = 30e-6  # s: how far a reading may move and still lie inside its read window
LATE_MARGIN = 2e-6  # s: trigger jitter beyond the measured latency (2002 sheet: +-0.5 us)
PROBES = 4  # probe readings in each of the two verification blocks
LEVEL_READINGS = 2  # readings with and without read current in each block (their scale)
LEVEL_HISTORY = 8  # earlier such readings of the same device that still set the scale
SYNC_READINGS = 512  # readings across the square wave that measure the period
SYNC_SIGMA_T = 10e-6  # s: a straddling reading's timing error assumed before a fit
SYNC_PRIOR = 0.10  # the reading period is known beforehand to within this fraction
STRADDLE = (0.12, 0.88)  # fractions of current a straddling reading must show
LATENCY_RANGE = (-20e-6, 100e-6)  # s: where the first reading may start after the marker
SYNC_BIN = 10e-6  # s: straddles this close to one line count as on it
SYNC_DOF = 30  # degrees of freedom the measurement's timing noise is given against probes


class BurstDrift(Exception):
    """The probes show a reading that may have left its read window."""


@dataclass(frozen=True)
class Slot:
    """One reading of a burst: the pulses the 6221 plays just before its read window and
    what flows during it: ``full`` read current, ``probe`` read current that stops
    halfway through the integration, ``off`` none, ``skip`` (a spare reading, unused)."""

    read: str
    pulses: tuple[float, ...] = ()
    cycle: int | None = None  # the cycle whose verdict this reading gives
    after_reset: bool = False  # the reading after the cycle's reset (two reads per cycle)


@dataclass
class BurstClock:
    """What is known about the 2000's burst on this rig: the reading period and the trigger
    latency, in the 6221's time; refined by every verified batch."""

    period: float
    latency: float
    sigma: float  # s, the period's standard error
    integration: float
    line_frequency: float
    readings: int
    straddles: int
    timing_noise: float = SYNC_SIGMA_T  # s, one straddling reading's timing error (fit)
    latency_sigma: float = SYNC_SIGMA_T  # s, the latency's standard error
    batches: int = 0
    history: list[float] = field(default_factory=list)  # period after each batch

    def update(self, offset: float, offset_sigma: float, drift: float,
               drift_sigma: float) -> None:
        """A verified batch's first reading came ``offset`` s late and its readings moved
        ``drift`` s each: what was known and what it shows, weighed by their errors."""
        self.period, self.sigma = _weighed(self.period, self.sigma, self.period + drift,
                                           drift_sigma)
        self.latency, self.latency_sigma = _weighed(self.latency, self.latency_sigma,
                                                    self.latency + offset, offset_sigma)
        self.batches += 1
        self.history.append(self.period)

    def record(self) -> dict:
        """The measurement, for the run record."""
        return {"reading_period": self.period, "reading_period_sigma": self.sigma,
                "trigger_latency": self.latency, "integration": self.integration,
                "line_frequency": self.line_frequency, "sync_readings": self.readings,
                "sync_straddles": self.straddles, "timing_noise": self.timing_noise,
                "verified_batches": self.batches}


def _weighed(value: float, sigma: float, new: float, new_sigma: float) -> tuple[float, float]:
    """The inverse-variance mean of two estimates and its standard error."""
    a, b = sigma ** -2, max(new_sigma, 1e-12) ** -2
    return (a * value + b * new) / (a + b), (a + b) ** -0.5


def point_width(width: float, clock: BurstClock, pulses: int,
                tolerance: float = TOLERANCE) -> tuple[float, int]:
    """The waveform's point duration and the points per pulse of ``width``: the fewest
    points (the least to upload) that fit ``pulses`` pulses between any two read windows
    one reading period apart, wherever the readings fall on the point grid."""
    window = clock.integration + 2 * tolerance + LATE_MARGIN
    phases = np.linspace(0.0, 1.0, 200, endpoint=False)
    lowest = max(1, math.ceil(width / MAX_POINT - 1e-9))
    for per_pulse in range(lowest, 4 * lowest + 1):
        u = width / per_pulse
        gap = np.floor(phases + clock.period / u) - np.ceil(phases + window / u)
        if gap.min() >= pulses * per_pulse:
            return u, per_pulse
    return width / lowest, lowest  # a cycle spans several readings (skipped ones between)


@dataclass
class BurstPlan:
    """A burst's waveform (``levels``, one every ``point`` s, the marker at point
    ``marker``), its readings (``slots``, planned to start at ``starts`` s after the
    waveform starts) and what their windows allow."""

    levels: list[float]
    point: float
    marker: int
    slots: list[Slot]
    starts: np.ndarray
    edges: dict[int, float]  # probe reading -> time its current stops
    before: np.ndarray  # s each reading may come early and stay in its window
    after: np.ndarray  # s each reading may come late
    integration: float
    timing_noise: float = SYNC_SIGMA_T

    @property
    def readings(self) -> int:
        """Readings the 2000 takes in the burst (one per slot, spares included)."""
        return len(self.slots)

    def cycle_readings(self) -> list[tuple[int, Slot]]:
        """(reading index, slot) of each reading that gives a cycle's verdict (probe, off and spare
        readings left out)."""
        return [(k, s) for k, s in enumerate(self.slots) if s.cycle is not None]

    def levels_read(self, voltages: list[float]) -> dict[str, list[float]]:
        """The probe blocks' readings without current and with full read current."""
        blocks = _blocks(self.slots)
        return {kind: [float(voltages[k]) for b in blocks for k in b[kind]]
                for kind in ("off", "full")}

    def check(self, voltages: list[float], history: dict[str, list[float]] | None = None
              ) -> tuple[float, float, float, float]:
        """(how late the first reading came, its standard error, how far each reading
        moved from the last, its standard error) from the probes; raises
        :class:`BurstDrift` if any used reading may have left its window. ``history``:
        the same device's earlier readings without and with current (they set the
        probes' scale with this burst's own)."""
        volts = np.asarray(voltages, dtype=float)
        blocks = _blocks(self.slots)
        history = history or {"off": [], "full": []}
        estimates = []
        for block in blocks:
            offs = [volts[k] for k in block["off"]] + list(history["off"])
            ons = [volts[k] for k in block["full"]] + list(history["full"])
            off, on = float(np.mean(offs)), float(np.mean(ons))
            if abs(on - off) <= 0:
                raise BurstDrift("the probes read no current (is the device connected?)")
            shifts = []
            for k in block["probe"]:
                f = (volts[k] - off) / (on - off)
                if not 0.02 < f < 0.98:
                    raise BurstDrift(f"a burst reading left its read window (probe reading "
                                     f"{k} outside its capture range: current fraction "
                                     f"{f:.2f})")
                planned = (self.edges[k] - self.starts[k]) / self.integration
                shifts.append((planned - f) * self.integration)
            shifts = np.asarray(shifts)
            # a probe's scatter, pooled with the straddles' of the measurement (the same
            # readings' noise, with far more degrees of freedom than a few probes)
            spread = math.sqrt((float(np.var(shifts, ddof=1)) * (len(shifts) - 1)
                                + self.timing_noise ** 2 * SYNC_DOF) / (len(shifts) - 1
                                                                        + SYNC_DOF))
            # the probes' scatter, and the scale (mean levels with and without current)
            # their noise also moves: each level's error shifts every probe alike
            scale = 0.5 * (1 / len(offs) + 1 / len(ons))
            estimates.append((float(np.mean(block["probe"])), float(np.mean(shifts)),
                              spread * math.sqrt(1 / len(shifts) + scale)))
        (k0, d0, s0), (k1, d1, s1) = estimates
        drift = (d1 - d0) / (k1 - k0)
        drift_sigma = math.hypot(s0, s1) / (k1 - k0)
        used = np.array([k for k, s in enumerate(self.slots) if s.read == "full"])
        share = (used - k0) / (k1 - k0)  # each reading lies on the line through the blocks
        moved = d0 * (1 - share) + d1 * share
        sigma = np.hypot(s0 * (1 - share), s1 * share)
        early = -moved + 3 * sigma > self.before[used]
        late = moved + 3 * sigma > self.after[used]
        if early.any() or late.any():
            k = int(used[np.argmax(early | late)])
            raise BurstDrift(f"a burst reading may have left its read window (reading {k} "
                             f"moved {moved[used == k][0] * 1e6:+.1f} us, allowed "
                             f"-{self.before[k] * 1e6:.1f}/+{self.after[k] * 1e6:.1f} us)")
        return d0 - drift * k0, math.hypot(s0, drift_sigma * k0), drift, drift_sigma


def _blocks(slots: list[Slot]) -> list[dict[str, list[int]]]:
    """The two verification blocks (before and after the cycles): their readings by kind."""
    first = next(k for k, s in enumerate(slots) if s.cycle is not None)
    blocks = [{"off": [], "full": [], "probe": []}, {"off": [], "full": [], "probe": []}]
    for k, s in enumerate(slots):
        if s.cycle is None and s.read in ("off", "full", "probe"):
            blocks[0 if k < first else 1][s.read].append(k)
    return blocks


def probe_block(reset: float, leading: bool) -> list[Slot]:
    """Readings without current, a reset then readings with full read current, then
    ``PROBES`` probes (the device stays reset: the read current does not switch it);
    after the cycles the readings without current come last."""
    off = [Slot("off") for _ in range(LEVEL_READINGS)]
    block = [Slot("full", (reset,))] + [Slot("full") for _ in range(LEVEL_READINGS - 1)] \
        + [Slot("probe") for _ in range(PROBES)]
    return [*off, *block] if leading else [*block, *off]


def cycle_slots(reset: float, writes: list[float], read_after_reset: bool) -> list[Slot]:
    """The cycles' readings, framed by the two probe blocks."""
    slots = probe_block(reset, True)
    for c, write in enumerate(writes):
        if read_after_reset:
            slots += [Slot("full", (reset,), c, True), Slot("full", (write,), c)]
        else:
            slots.append(Slot("full", (reset, write), c))
    return slots + probe_block(reset, False)


def plan_burst(slots: list[Slot], width: float, read_current: float, clock: BurstClock,
               tolerance: float = TOLERANCE) -> BurstPlan:
    """Lay ``slots`` out on the 6221's point grid for readings ``clock.period`` apart.

    Reading k starts at marker + latency + k x period; its window covers it from
    ``tolerance`` before to its integration plus ``tolerance`` and ``LATE_MARGIN`` after,
    rounded out to whole points, and its pulses come just before. A slot whose pulses
    do not fit after the previous window waits one reading (a skipped reading)."""
    u, per_pulse = point_width(width, clock, max((len(s.pulses) for s in slots), default=0),
                               tolerance)
    tau, period = clock.integration, clock.period
    lead_pulses = len(slots[0].pulses) if slots else 0
    marker = lead_pulses * per_pulse + math.ceil(tolerance / u) + 1
    origin = marker * u + clock.latency
    laid: list[Slot] = []
    starts, edges, before, after, windows = [], {}, [], [], []
    end = 0  # the first point after the last read window laid out
    pending = list(slots)
    while pending:
        k = len(laid)
        s = origin + k * period
        first = math.floor((s - tolerance) / u + 1e-9)
        last = math.ceil((s + tau + tolerance + LATE_MARGIN) / u - 1e-9)
        slot = pending[0] if first - len(pending[0].pulses) * per_pulse >= end \
            else Slot("skip")
        if slot is pending[0]:
            pending.pop(0)
            end = last
        laid.append(slot)
        starts.append(s)
        windows.append((first, last))
        before.append(s - first * u)
        after.append(last * u - (s + tau + LATE_MARGIN))
        if slot.read == "probe":
            edges[k] = round((s + tau / 2) / u) * u
    levels = [0.0] * (end + 1)
    for k, (slot, (first, last)) in enumerate(zip(laid, windows, strict=True)):
        start = first - len(slot.pulses) * per_pulse
        for p, level in enumerate(slot.pulses):
            levels[start + p * per_pulse:start + (p + 1) * per_pulse] = [level] * per_pulse
        stop = {"full": last, "probe": round(edges.get(k, 0.0) / u)}.get(slot.read, first)
        levels[first:stop] = [read_current] * (stop - first)
    return BurstPlan(levels, u, marker, laid, np.asarray(starts), edges,
                     np.asarray(before), np.asarray(after), tau, clock.timing_noise)


# -- measuring the reading period --------------------------------------------------------
@dataclass
class SyncPlan:
    """The square wave that measures the 2000's reading period: its levels, edge times and the
    readings it takes (module docstring, step 1)."""
    levels: list[float]
    point: float
    marker: int
    edges: np.ndarray  # s after the waveform starts
    rising: np.ndarray  # bool per edge
    readings: int


def sync_plan(readings: int, nominal_period: float, read_current: float) -> SyncPlan:
    """A square wave of read current, on about 2.4 and off about 2.2 reading periods, every
    other pause a point longer (so its edges fall at every phase of the readings, whatever
    the period), long enough for ``readings`` readings even 10 % slower than nominal; read
    current from the marker on (the first reading reads it in full)."""
    u = MAX_POINT
    high = max(2, round(2.4 * nominal_period / u))
    low = max(2, round(2.2 * nominal_period / u))
    marker = 1
    total = marker + math.ceil((readings + 3) * nominal_period * (1 + SYNC_PRIOR) / u)
    levels = [0.0] * marker
    edges, rising = [], []
    while len(levels) < total:
        edges.append(len(levels) * u)
        rising.append(True)
        levels += [read_current] * high
        edges.append(len(levels) * u)
        rising.append(False)
        levels += [0.0] * (low + len(edges) // 2 % 2)
    return SyncPlan(levels + [0.0], u, marker, np.asarray(edges[1:]), np.asarray(rising[1:]),
                    readings)


def measure_reading_period(plan: SyncPlan, voltages: list[float], nominal_period: float,
                           integration: float, line_frequency: float) -> BurstClock:
    """The reading period and the latency from a burst across ``plan``'s square wave. A
    straddling reading is placed in time by its current fraction, once it is known which
    edge it straddled: every period within ``SYNC_PRIOR`` of the nominal one is tried, and
    the one that puts the most straddles on one line (readings a period apart, starting a
    few microseconds after the marker) wins; a least-squares line through them (outliers
    beyond 4 sigma dropped) is the answer."""
    volts = np.asarray(voltages, dtype=float)
    if len(volts) != plan.readings:
        raise BurstDrift(f"the 2000 took {len(volts)} readings for {plan.readings}")
    order = np.sort(volts)
    fifth = max(1, len(volts) // 5)
    low, high = float(np.median(order[:fifth])), float(np.median(order[-fifth:]))
    on, off = (high, low) if abs(volts[0] - high) < abs(volts[0] - low) else (low, high)
    if abs(on - off) < 1e-12:
        raise BurstDrift("no step between the readings with and without read current")
    fraction = (volts - off) / (on - off)
    origin = plan.marker * plan.point
    straddles = [(k, f) for k, f in enumerate(fraction) if STRADDLE[0] < f < STRADDLE[1]]
    if len(straddles) < 10:
        raise BurstDrift(f"only {len(straddles)} readings straddled an edge")
    # every (reading, edge) pair that could be: the time the reading would have started
    ks, ts, owners = [], [], []
    for n, (k, f) in enumerate(straddles):
        reach = (origin + k * nominal_period * (1 - SYNC_PRIOR) - LATENCY_RANGE[1],
                 origin + k * nominal_period * (1 + SYNC_PRIOR) + integration
                 + LATENCY_RANGE[1])
        near = (plan.edges > reach[0]) & (plan.edges < reach[1])
        for edge, up in zip(plan.edges[near], plan.rising[near], strict=True):
            ks.append(k)
            ts.append(edge - (1 - f) * integration if up else edge - f * integration)
            owners.append(n)
    ks, ts, owners = np.asarray(ks, float), np.asarray(ts), np.asarray(owners)
    step = SYNC_BIN / (2 * max(k for k, _ in straddles))
    periods = nominal_period * (1 + np.arange(-SYNC_PRIOR, SYNC_PRIOR, step / nominal_period))
    best = (-1, nominal_period, origin)
    bins = np.arange(origin + LATENCY_RANGE[0], origin + LATENCY_RANGE[1] + SYNC_BIN, SYNC_BIN)
    for chunk in np.array_split(periods, max(1, len(periods) // 256)):
        starts = ts[None, :] - ks[None, :] * chunk[:, None]  # (periods, pairs)
        index = np.floor((starts - bins[0]) / SYNC_BIN).astype(int)
        valid = (index >= 0) & (index < len(bins) - 1)
        for row in range(len(chunk)):
            counts = np.bincount(index[row][valid[row]], minlength=len(bins))
            counts = counts[:-1] + counts[1:]  # a start on a bin's edge counts in both
            top = int(np.argmax(counts))
            if counts[top] > best[0]:
                best = (int(counts[top]), float(chunk[row]), float(bins[top] + SYNC_BIN))
    _, p, a = best
    times: list[tuple[int, float]] = []
    for n in range(len(straddles)):  # each straddle's edge: the one on the winning line
        mine = owners == n
        if not mine.any():
            continue
        miss = np.abs(ts[mine] - (a + ks[mine] * p))
        if miss.min() <= 2 * SYNC_BIN:
            times.append((int(ks[mine][0]), float(ts[mine][np.argmin(miss)])))
    if len(times) < 10:
        raise BurstDrift(f"only {len(times)} straddling readings lie on one line")
    for _ in range(3):  # outliers (a reading that only looked like a straddle) dropped
        a, p, sigma_p, residuals = _line(times)
        scale = max(1.4826 * float(np.median(np.abs(residuals))), 1e-7)
        kept = [t for t, r in zip(times, residuals, strict=True) if abs(r) <= 4 * scale]
        if len(kept) == len(times):
            break
        times = kept
    a, p, sigma_p, residuals = _line(times)
    noise = math.sqrt(float(np.mean(residuals ** 2))) if len(residuals) > 2 else SYNC_SIGMA_T
    k = np.array([t[0] for t in times], dtype=float)
    intercept = max(noise, 1e-7) * math.sqrt(1 / len(k) + k.mean() ** 2 / float(
        np.sum((k - k.mean()) ** 2)))
    return BurstClock(p, a - origin, sigma_p, integration, line_frequency, plan.readings,
                      len(times), max(noise, 1e-7), intercept)


def _line(times: list[tuple[int, float]]) -> tuple[float, float, float, np.ndarray]:
    """Least squares t = a + k p; the slope's standard error from the residuals."""
    k = np.array([t[0] for t in times], dtype=float)
    t = np.array([t[1] for t in times], dtype=float)
    k_mean = k.mean()
    spread = float(np.sum((k - k_mean) ** 2))
    p = float(np.sum((k - k_mean) * (t - t.mean())) / spread)
    a = float(t.mean() - p * k_mean)
    residuals = t - (a + p * k)
    dof = max(1, len(t) - 2)
    sigma_t = max(math.sqrt(float(np.sum(residuals ** 2)) / dof), 1e-7) if len(t) > 2 \
        else SYNC_SIGMA_T
    return a, p, sigma_t / math.sqrt(spread), residuals
