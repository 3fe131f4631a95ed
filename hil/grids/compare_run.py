"""``hil compare`` as calls (``hil.compare``, ``hil.stored_compare``): HIL against
software-then-deploy (nominal and per-device calibration), under paper 002's fixed learning
parameters and with each way's picked on validation, paired over seeds (hil/grids/compare.py)
as a Dask grid; the tables of a run, and the "where HIL helps" table over several. The
command prints what they return."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from hil.errors import ConfigError
from hil.grids.compare import (
    PROTOCOLS,
    Experiment,
    between_runs,
    compare_point,
    grid,
    hil_rule,
    paired_table,
    parse_nonideality,
    pool,
    pooled,
)
from hil.grids.engine import Grid, run_grid
from hil.session.runner import stored_run
from protocols.store import RunStore

__all__ = ["EXPERIMENTS", "CompareResult", "compare", "compare_experiment", "compare_tables",
           "helps_table", "stored_compare"]

EXPERIMENTS = ("paper", "784-400-10")


def compare_experiment(name: str = "paper") -> Experiment:
    """The named experiment: ``paper`` (paper 002's 784 x 4, Fig. 4) or ``784-400-10``
    (all classes, every one of 400 hidden neurons a device)."""
    if name == "paper":
        return Experiment()
    if name == "784-400-10":
        return Experiment(classes=tuple(range(10)), hidden=(400,), train_per_class=40,
                          validation_per_class=20, test_per_class=100, steps=50, epochs=5,
                          lrs=(0.1, 0.5), batches=(20,), fixed=(0.1, 20))
    raise ConfigError("experiment", f"{name!r}: each must be one of {', '.join(EXPERIMENTS)}")


@dataclass
class CompareResult:
    """A compare run, or stored runs pooled: its name ("3", or "3+5" pooled), its settings
    (with the experiment's as ``exp_*``), every finished point, the points that failed after
    their retries, how many were computed now, the CSV and Markdown tables written (a new
    or resumed run), and each stored run it was read from: (id, experiment, points,
    status)."""

    name: str
    settings: dict[str, Any]
    rows: list[dict[str, Any]]
    failed: list[dict[str, Any]] = field(default_factory=list)
    computed: int = 0
    csv: Path | None = None
    markdown: Path | None = None
    parts: list[tuple[int, str, int, str]] = field(default_factory=list)

    @property
    def run_id(self) -> int:
        """The (first) run's id."""
        return int(self.name.split("+")[0])

    def tables(self) -> str:
        """The run's tables (``compare_tables``)."""
        return compare_tables(self.rows, self.settings)

    def paired(self) -> dict[str, list[dict[str, Any]]]:
        """Per protocol, the paired table's entries (``paired_table``)."""
        return {p: paired_table(self.rows, p) for p in self.settings.get("protocols",
                                                                          ["picked"])}


def compare(store: RunStore, experiment: str = "paper",
            etas: Sequence[float] = (0.0, 0.1, 0.25), seeds: int = 100, first_seed: int = 0,
            nonidealities: Sequence[str] = ("none", "drift"),
            protocols: Sequence[str] = ("fixed", "picked"),
            fixed: tuple[float, int] | None = None, gradient: str = "straight-through",
            error: str = "unbiased", epochs: int | None = None, steps: int | None = None,
            out: str | Path = "compare", *, scheduler: str | None = None,
            workers: int | None = None, resume: int | None = None,
            progress: bool = True) -> CompareResult:
    """HIL against deployment, paired over ``seeds`` seeds from ``first_seed`` for each
    variation of ``etas`` and each non-ideality (``NAME`` or ``NAME=FRACTION``: none, drift,
    width, joule), under the ``protocols`` (fixed: ``fixed``'s learning rate and batch for
    every way; picked: each way's chosen on validation); ``gradient`` and ``error`` are
    HIL's rule, ``epochs`` and ``steps`` override the experiment's. ``resume`` (a run id)
    finishes a killed run with its recorded settings. The CSV and the tables go under
    ``out``; settings are refused by field name (ConfigError) before any point runs."""
    if resume is not None:
        saved = stored_run(store, resume, "resume").config
        exp = _stored_experiment(saved)
        settings = {k: saved[k] for k in ("experiment", "etas", "seeds", "first_seed",
                                          "nonidealities", "protocols") if k in saved}
        settings.setdefault("first_seed", 0)
        settings.setdefault("protocols", ["picked"])
    else:
        exp, settings = _new_settings(experiment, etas, seeds, first_seed, nonidealities,
                                      protocols, fixed, gradient, error, epochs, steps)
    settings.update({f"exp_{k}": v for k, v in asdict(exp).items()})
    points = grid(settings["etas"], settings["seeds"], settings["nonidealities"],
                  settings["first_seed"])
    sweep = Grid("compare", compare_point, settings, points,
                 {"exp": exp, "images": pool(exp), "protocols": tuple(settings["protocols"])})
    result = run_grid(sweep, store, scheduler=scheduler, workers=workers, resume=resume,
                      progress=progress)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    csv = folder / f"compare-run{result.run_id}.csv"
    with csv.open("w", newline="") as f:
        store.export_csv(result.run_id, f)
    markdown = folder / f"compare-run{result.run_id}.md"
    markdown.write_text(compare_tables(result.rows, settings))
    return CompareResult(str(result.run_id), settings, result.rows, result.failed,
                         result.computed, csv, markdown)


def _stored_experiment(saved: dict[str, Any]) -> Experiment:
    """The experiment a run was computed with, from its stored ``exp_*`` settings."""
    values = {f.name: saved[f"exp_{f.name}"] for f in fields(Experiment)
              if f"exp_{f.name}" in saved}
    return Experiment(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def _new_settings(experiment: str, etas, seeds: int, first_seed: int, nonidealities,
                  protocols, fixed, gradient: str, error: str, epochs: int | None,
                  steps: int | None) -> tuple[Experiment, dict[str, Any]]:
    """The experiment and the grid's settings, each checked and refused by name."""
    etas = [float(e) for e in etas]
    if any(not 0 <= e < 1 for e in etas):
        raise ConfigError("etas", f"{','.join(f'{e:g}' for e in etas)} is outside the "
                          "allowed range [0, 1)")
    if not 2 <= seeds <= 10000:
        raise ConfigError("seeds", f"{seeds} is outside the allowed range [2, 10000]")
    if not 0 <= first_seed < 2**31:
        raise ConfigError("first_seed", f"{first_seed} is outside the allowed range "
                          "[0, 2^31)")
    nonidealities = list(nonidealities)
    for n in nonidealities:
        try:
            parse_nonideality(n)
        except ValueError as err:
            raise ConfigError("nonidealities", str(err)) from None
    protocols = list(protocols)
    if not protocols or any(p not in PROTOCOLS for p in protocols):
        raise ConfigError("protocols", f"{','.join(protocols)!r}: each must be one of "
                          f"{', '.join(PROTOCOLS)}")
    exp = replace(compare_experiment(experiment), gradient=gradient, error=error)
    if fixed is not None:
        lr, batch = float(fixed[0]), int(fixed[1])
        if not (0 < lr <= 100 and batch >= 1):
            raise ConfigError("fixed", f"{lr:g},{batch}: the learning rate must lie in "
                              "(0, 100] and the batch be >= 1")
        exp = replace(exp, fixed=(lr, batch))
    for name, value, low, high in (("epochs", epochs, 1, 1000), ("steps", steps, 1, 10000)):
        if value is not None:
            if not low <= value <= high:
                raise ConfigError(name, f"{value} is outside the allowed range [{low}, {high}]")
            exp = replace(exp, **{name: value})
    return exp, {"experiment": experiment, "etas": etas, "seeds": seeds,
                 "first_seed": first_seed, "nonidealities": nonidealities,
                 "protocols": protocols}


def stored_compare(store: RunStore, run_ids: Sequence[int]) -> CompareResult:
    """Stored compare runs read back, several of one experiment pooled as one (seeds of a
    condition split between runs, each point kept once); a run of another kind, or runs
    that do not agree, are refused (ConfigError, field ``report``)."""
    parts = []
    for run_id in run_ids:
        stored = stored_run(store, run_id, "report")
        if stored.kind != "compare":
            raise ConfigError("report", f"run {run_id} is a {stored.kind} run, not compare")
        rows = [r for r in store.readings(run_id) if "error" not in r]
        parts.append((run_id, stored.config, rows, stored.status))
    try:
        config, rows = (pooled([p[:3] for p in parts]) if len(parts) > 1
                        else (parts[0][1], parts[0][2]))
    except ValueError as err:
        raise ConfigError("report", str(err)) from None
    return CompareResult("+".join(str(p[0]) for p in parts), config, rows,
                         parts=[(i, c["experiment"], len(r), s) for i, c, r, s in parts])


def _fixed(config: dict[str, Any]) -> str:
    lr, batch = config.get("exp_fixed", (None, None))
    return "-" if lr is None else f"{lr:g}, {batch}"


def _pct(v) -> str:
    mean, low, high = v
    return f"{mean:.1%} [{low:.1%}, {high:.1%}]"


def _diff(v) -> str:
    mean, low, high = (100 * x for x in v)
    return f"{mean:+.1f} [{low:+.1f}, {high:+.1f}]"


def compare_tables(rows: list[dict[str, Any]], config: dict[str, Any]) -> str:
    """A run's tables (Markdown): per protocol, the three ways and the paired differences
    per block of seeds and over all seeds (points in percent, 95 % intervals), then the
    readouts side by side."""
    rule = hil_rule(config)
    name = config["experiment"] + (f" ({rule})" if rule else "")
    text = []
    for protocol in config.get("protocols", ["picked"]):
        entries = paired_table(rows, protocol) if rows else []
        text += [f"{name}, {protocol} hyperparameters (accuracy of the devices' own readout; "
                 "mean [95 % interval])", "",
                 "| condition | eta | seeds | deployed, nominal | deployed, twin | HIL | "
                 "HIL - nominal (points) | HIL - twin (points) | verdict (HIL vs twin) |",
                 "|---" * 9 + "|"]
        for e in entries:
            seeds = f"all {e['seeds']}" if e["all"] else f"{e['first']}-{e['last']}"
            text.append(f"| {e['condition']} | {e['eta']:g} | {seeds} | "
                        f"{_pct(e['deployed-nominal'])} | {_pct(e['deployed-device'])} | "
                        f"{_pct(e['hil'])} | {_diff(e['hil - deployed-nominal'])} | "
                        f"{_diff(e['hil - deployed-device'])} | {e.get('verdict', '')} |")
        text += ["", f"{name}, {protocol}: readouts over all seeds (devices only / ties "
                 "broken by the software's normalised input; share of first reads tied)", "",
                 "| condition | eta | HIL, devices | HIL, software tie-break | twin, devices | "
                 "twin, software tie-break | tied: HIL / twin / nominal |", "|---" * 7 + "|"]
        for e in (e for e in entries if e["all"]):
            text.append(f"| {e['condition']} | {e['eta']:g} | {_pct(e['hil'])} | "
                        f"{_pct(e['hil software tie-break'])} | {_pct(e['deployed-device'])} | "
                        f"{_pct(e['deployed-device software tie-break'])} | "
                        f"{e['hil tied']:.1%} / {e['deployed-device tied']:.1%} / "
                        f"{e['deployed-nominal tied']:.1%} |")
        text.append("")
    return "\n".join(text) + "\n"


def helps_table(results: Sequence[CompareResult]) -> str:
    """Where HIL helps (Markdown): every condition of every run (all seeds) against the
    paired differences under both protocols, and HIL's rule against the default rule where
    two runs share points."""
    runs = [(r.name, r.settings, r.rows) for r in results]
    lines = ["Where HIL helps (paired differences in accuracy points, HIL minus deployment, "
             "mean [95 % interval] over seeds; verdicts need >= 100 seeds)", "",
             "| net | condition | eta | HIL rule | fixed lr, batch | seeds | fixed: HIL - "
             "nominal | fixed: HIL - twin | picked: HIL - nominal | picked: HIL - twin |",
             "|---" * 10 + "|"]
    for _, config, rows in runs:
        protocols = config.get("protocols", ["picked"])
        by_protocol = {p: paired_table(rows, p, block=None) for p in protocols}
        first = by_protocol[protocols[0]]
        for k, e in enumerate(first):
            cells = []
            for p in ("fixed", "picked"):
                if p in by_protocol:
                    other = by_protocol[p][k]
                    cells += [_diff(other["hil - deployed-nominal"]),
                              _diff(other["hil - deployed-device"])]
                else:
                    cells += ["-", "-"]
            lines.append(f"| {config['experiment']} | {e['condition']} | {e['eta']:g} | "
                         f"{hil_rule(config) or 'straight-through, unbiased'} | "
                         f"{_fixed(config)} | {e['seeds']} | "
                         + " | ".join(cells) + " |")
    pairs = between_runs(runs)
    if pairs:
        lines += ["", "HIL under another rule minus HIL under the default (straight-through "
                  "gradient, unbiased error), paired by seed on the same devices and images",
                  "", "| net | condition | eta | rule | seeds | fixed | picked |",
                  "|---" * 7 + "|"]
        for p in pairs:
            cells = [_diff(p[k]) if k in p else "-" for k in ("fixed", "picked")]
            lines.append(f"| {p['experiment']} | {p['condition']} | {p['eta']:g} | "
                         f"{p['rule']} | {p['seeds']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
