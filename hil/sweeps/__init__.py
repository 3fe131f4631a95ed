"""Grids of independent tasks run on Dask (DESIGN.md, "Scaling out")."""

from hil.sweeps.engine import Sweep, SweepResult, run_sweep

__all__ = ["Sweep", "SweepResult", "run_sweep"]
