"""Runs as pymeasure Results files, written by pymeasure itself, so ``Results.load`` and
pymeasure's ManagedWindow open them. Each run kind has a small Procedure class describing
its parameters and data columns (nothing runs through it: our runner did the measuring)."""

from __future__ import annotations

from pathlib import Path

from pymeasure.experiment import FloatParameter, IntegerParameter, Parameter, Procedure, Results


class SwitchingSweepProcedure(Procedure):
    """Paper 002 SI S3: reset-write-read cycles over a range of write currents."""

    run_id = IntegerParameter("Run id")
    lab = Parameter("Lab")
    device = IntegerParameter("Device")
    iterations = IntegerParameter("Iterations per current")
    i_bias = FloatParameter("Fitted I_bias", units="A")
    i0 = FloatParameter("Fitted I0", units="A")
    DATA_COLUMNS = ["Index", "Iteration", "Current (A)", "R after reset (ohm)",
                    "R after write (ohm)", "Switched", "Time (s)"]


class CharacterisationProcedure(Procedure):
    """Any other characterisation run: its readings, column by column."""

    run_id = IntegerParameter("Run id")
    kind = Parameter("Kind")
    lab = Parameter("Lab")
    DATA_COLUMNS: list[str] = []


def export_pymeasure(run, readings: list[dict], path: str | Path) -> Path:
    """A stored run as a pymeasure Results file, so pymeasure's own tools open spinhil's sweeps."""
    path = Path(path)
    if path.exists():
        path.unlink()  # pymeasure's Results appends to an existing file
    if run.kind == "sweep":
        procedure = SwitchingSweepProcedure()
        procedure.set_parameters({
            "run_id": run.id, "lab": str(run.config.get("lab")),
            "device": run.config.get("device", 0), "iterations": run.config.get("iterations", 0),
            "i_bias": (run.result or {}).get("i_bias", float("nan")),
            "i0": (run.result or {}).get("i0", float("nan")),
        })
        keys = ["index", "iteration", "current", "r_after_reset", "r_after_write", "switched",
                "t"]
        columns = SwitchingSweepProcedure.DATA_COLUMNS
    else:
        keys = sorted({k for r in readings for k in r})
        columns = keys
        CharacterisationProcedure.DATA_COLUMNS = columns
        procedure = CharacterisationProcedure()
        procedure.set_parameters({"run_id": run.id, "kind": run.kind,
                                  "lab": str(run.config.get("lab"))})
    results = Results(procedure, str(path))
    with open(path, "a", encoding=Results.ENCODING) as f:
        for reading in readings:
            row = {c: _cell(reading.get(k)) for c, k in zip(columns, keys, strict=True)}
            f.write(results.format(row) + Results.LINE_BREAK)
    return path


def _cell(value):
    if value is None:
        return float("nan")
    if isinstance(value, bool):
        return int(value)
    return value
