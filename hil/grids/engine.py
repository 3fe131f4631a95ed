"""The sweep engine: a grid of independent points run as tasks on dask.distributed.

A sweep is a run in the run store (kind, shared settings, the list of points). Every point
is one task; each finished point is written to the store as one reading the moment it
completes, so a killed sweep keeps everything it finished and ``resume`` recomputes
nothing that finished. A task that raises is retried (``retries``) and, if it still fails,
recorded with its error and reported: the run then ends ``failed``, never silently short.
A task the scheduler cancels (it forgets a client it lost touch with, say one suspended past
its heartbeat) is submitted again, up to ``retries`` times, with the shared objects scattered
again if the scheduler forgot those too.

The cluster is a ``LocalCluster`` with one single-threaded worker process per core by
default, or an existing cluster given by its scheduler address (``dask scheduler`` +
``dask worker ADDRESS``). A task is a module-level function ``task(point, **shared)``
that returns a dict of numbers; its randomness must come from the point (a seed in it),
so the same points give the same numbers on any cluster.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hil.extras import require
from protocols.store import ActiveRun, RunStore

Task = Callable[..., dict[str, Any]]


@dataclass
class Grid:
    """``kind`` names the run; ``settings`` are shared and JSON-ready; ``points`` are the
    grid (JSON-ready dicts); ``shared`` are large read-only objects (weights, images) sent
    to each worker once."""

    kind: str
    task: Task
    settings: dict[str, Any]
    points: list[dict[str, Any]]
    shared: dict[str, Any] = field(default_factory=dict)


@dataclass
class GridResult:
    """What a grid run gives back: every finished point in grid order, the points that failed
    after their retries, and how many were computed now rather than read from the store (a
    resumed grid recomputes nothing that finished)."""
    run_id: int
    rows: list[dict[str, Any]]  # one per finished point, in grid order
    failed: list[dict[str, Any]]  # points that failed after their retries, with the error
    computed: int  # points computed in this call (the rest came from the store)
    resubmitted: int = 0  # tasks submitted again after the scheduler cancelled them


def local_workers() -> int:
    """Every core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _client(scheduler: str | None, workers: int | None):
    from dask.distributed import Client, LocalCluster

    if scheduler is not None:
        return Client(scheduler), None
    cluster = LocalCluster(n_workers=workers or local_workers(), threads_per_worker=1,
                           processes=True, dashboard_address=None)
    return Client(cluster), cluster


def _finished(readings: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {int(r["index"]): r for r in readings if "error" not in r}


def run_grid(
    sweep: Grid,
    store: RunStore,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    resume: int | None = None,
    retries: int = 2,
    progress: bool = True,
) -> GridResult:
    """Run (or resume) a grid in the store's run context; returns every finished point of
    the run. A grid another process is running is refused (``RunInUse``) before any task
    is submitted."""
    require("dask")  # before the run is created: nothing half-started without Dask
    if resume is not None:
        stored = store.get_run(resume, field="resume")
        if stored.kind != sweep.kind or stored.config.get("points") != sweep.points:
            raise ValueError(f"resume: run {resume} is not this {sweep.kind} sweep "
                             "(its kind or grid differs)")
    with store.run(sweep.kind, {**sweep.settings, "points": sweep.points},
                   seed=sweep.settings.get("seed"), resume=resume, reopen=True) as run:
        run.describe(grid={"kind": sweep.kind, "task": f"{sweep.task.__module__}."
                           f"{sweep.task.__qualname__}", "points": len(sweep.points),
                           "shared": sorted(sweep.shared), "scheduler": scheduler or
                           f"LocalCluster({workers or local_workers()} workers)"})
        done = _finished(run.readings()) if run.resumed else {}
        todo = [i for i in range(len(sweep.points)) if i not in done]
        failed: list[dict[str, Any]] = []
        resubmitted = 0
        if todo:
            failed, resubmitted = _compute(sweep, run, todo, scheduler, workers, retries,
                                           progress)
        done = _finished(run.readings())
        rows = [done[i] for i in sorted(done)]
        run.result = {"points": len(sweep.points), "finished": len(rows), "failed": failed}
        run.status = "failed" if failed else "finished"
    return GridResult(run.id, rows, failed, len(todo) - len(failed), resubmitted)


def _compute(sweep, run: ActiveRun, todo, scheduler, workers, retries, progress):
    from dask.distributed import as_completed
    from tqdm import tqdm

    client, cluster = _client(scheduler, workers)
    failed = []
    cancellations: dict[int, int] = {}
    try:
        shared: dict[str, Any] = {}

        def submit(i: int):
            lost = any(f.status == "cancelled" for f in shared.values())
            if lost or len(shared) != len(sweep.shared):
                # one future per object: scatter splits a list or tuple into one per item
                shared.update({k: client.scatter([v], broadcast=True)[0]
                               for k, v in sweep.shared.items()})
            again = cancellations.get(i, 0)
            key = f"{sweep.kind}-{run.id}-{i}" + (f"-again{again}" if again else "")
            return client.submit(sweep.task, sweep.points[i], **shared, retries=retries,
                                 pure=False, key=key)

        futures = {submit(i): i for i in todo}
        bar = tqdm(total=len(todo), desc=f"{sweep.kind:>12}", unit="point", file=sys.stderr,
                   disable=not progress or None)
        with bar:
            pending = as_completed(futures)
            for future in pending:
                i = futures.pop(future)
                if future.status == "cancelled" and cancellations.get(i, 0) < retries:
                    cancellations[i] = cancellations.get(i, 0) + 1
                    again = submit(i)
                    futures[again] = i
                    pending.add(again)
                    continue
                if future.status in ("error", "cancelled"):
                    error = (repr(future.exception()) if future.status == "error" else
                             f"cancelled by the scheduler {cancellations.get(i, 0) + 1} times")
                    failed.append({"index": i, **sweep.points[i], "error": error})
                    run.append_readings([failed[-1]])
                else:
                    row = {"index": i, **sweep.points[i], **future.result()}
                    run.append_readings([row])
                bar.update(1)
                future.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return sorted(failed, key=lambda f: f["index"]), sum(cancellations.values())
