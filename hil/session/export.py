"""A stored run as a pymeasure Results file (``hil runs export --format pymeasure``), so
pymeasure's own tools (``Results.load``, its ManagedWindow) open spinhil's sweeps."""

from __future__ import annotations

from pathlib import Path

from hil.errors import ConfigError
from hil.session.runner import stored_run
from protocols.store import RunStore

__all__ = ["export_pymeasure"]


def export_pymeasure(store: RunStore, run_id: int, path: str | Path | None) -> Path:
    """Write run ``run_id``'s raw readings to ``path`` as pymeasure's Results file and return
    the path; refused (ConfigError) for an unknown run, without a path, or for a run with no
    raw readings (a training run keeps metrics, not readings)."""
    run = stored_run(store, run_id, "run_id")
    if not path:
        raise ConfigError("output", "the pymeasure format is written to a file: give -o")
    readings = store.readings(run.id)
    if not readings:
        raise ConfigError("run_id", f"run {run.id} ({run.kind}) has no raw readings")
    from protocols.pymeasure_export import export_pymeasure as write  # pymeasure: heavy

    return write(run, readings, path)
