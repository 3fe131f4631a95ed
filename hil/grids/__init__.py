"""Grids of independent tasks run on Dask (DESIGN.md, "Scaling out")."""

from hil.grids.engine import Grid, GridResult, run_grid

__all__ = ["Grid", "GridResult", "run_grid"]
