"""The sweep engine on a LocalCluster and on a separately started scheduler + 2 workers."""

import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from hil.grids import Grid, run_grid
from hil.grids.maps import switching_map, switching_map_point
from protocols.store import RunStore
from simulators.hallbar import OPERATING_FIELD
from simulators.presets import hall_bar_preset


def _sweep(points=None) -> Grid:
    bias = hall_bar_preset(0.5e-6).i_bias
    points = points or switching_map(0.5e-6, [0.95 * bias, 1.05 * bias], [100e-6],
                                     [OPERATING_FIELD, -OPERATING_FIELD], seeds=2, eta=0.25)
    return Grid("test-sweep", switching_map_point, {"seed": 0}, points, {"trials": 500})


def _numbers(result) -> list[tuple]:
    return [(r["index"], r["p_exact"], r["p_measured"]) for r in result.rows]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def local_result(tmp_path_factory):
    store = RunStore(tmp_path_factory.mktemp("local") / "runs.sqlite")
    return run_grid(_sweep(), store, workers=2, progress=False), store


def test_local_cluster_runs_every_point_and_stores_it(local_result):
    result, store = local_result
    assert len(result.rows) == 8 and not result.failed and result.computed == 8
    assert store.get_run(result.run_id).status == "finished"
    stored = sorted(store.readings(result.run_id), key=lambda r: r["index"])
    assert [(r["index"], r["p_exact"], r["p_measured"]) for r in stored] == _numbers(result)
    exact = np.array([r["p_exact"] for r in result.rows])
    assert exact.min() < 0.5 < exact.max()  # the grid straddles I_bias
    # the field's sign sets the polarity, not the magnitude
    np.testing.assert_allclose(exact[0::4], exact[2::4])


def test_separate_scheduler_and_two_workers_give_the_same_numbers(local_result, tmp_path):
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    scheduler = subprocess.Popen([*dask, "--host", "127.0.0.1", "--port", str(port),
                                  "--no-dashboard"], env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
    workers = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address,
                                 "--nthreads", "1", "--no-dashboard"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for _ in range(2)]
    try:
        from dask.distributed import Client

        with Client(address, timeout=120) as client:
            client.wait_for_workers(2, timeout=120)
            assert len(client.scheduler_info()["workers"]) == 2
        store = RunStore(tmp_path / "runs.sqlite")
        result = run_grid(_sweep(), store, scheduler=address, progress=False)
        assert _numbers(result) == _numbers(local_result[0])
    finally:
        for process in [*workers, scheduler]:
            process.terminate()
        for process in [*workers, scheduler]:
            process.wait(timeout=60)


def test_resume_recomputes_nothing_that_finished(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    sweep = _sweep()
    first = run_grid(sweep, store, workers=1, progress=False)
    # a sweep killed after three points: keep those three readings only
    store._db.execute('DELETE FROM readings WHERE run_id=? AND "index" >= 3', (first.run_id,))
    resumed = run_grid(sweep, store, workers=1, resume=first.run_id, progress=False)
    assert resumed.computed == 5 and resumed.run_id == first.run_id
    assert _numbers(resumed) == _numbers(first)
    again = run_grid(sweep, store, workers=1, resume=first.run_id, progress=False)
    assert again.computed == 0 and _numbers(again) == _numbers(first)


def test_resume_refuses_another_grid(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    first = run_grid(_sweep(), store, workers=1, progress=False)
    other = _sweep([{"width": 1e-6, "ratio": 1.0, "seed": 0}])
    with pytest.raises(ValueError, match="resume"):
        run_grid(other, store, workers=1, resume=first.run_id, progress=False)


def test_failed_task_is_retried_then_reported_not_dropped(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    points = _sweep().points[:3]
    points[1] = {**points[1], "width": 0.1e-6}  # outside paper 002's bars: the task raises
    result = run_grid(_sweep(points), store, workers=1, retries=1, progress=False)
    assert [r["index"] for r in result.rows] == [0, 2]
    assert [f["index"] for f in result.failed] == [1]
    assert "allowed range" in result.failed[0]["error"]
    assert store.get_run(result.run_id).status == "failed"
    assert any("error" in r for r in store.readings(result.run_id))


def test_hil_sweep_psw_writes_the_map(tmp_path, capsys):
    import csv

    from hil.cli import main

    out = tmp_path / "map.csv"
    assert main(["--store", str(tmp_path / "runs.sqlite"), "sweep", "psw", "--currents",
                 "0.25mA:0.35mA:3", "--fields=-20mT,20mT", "--trials", "200", "--workers",
                 "1", "--no-progress", "-o", str(out)]) == 0
    with out.open() as f:
        rows = sorted(csv.DictReader(f), key=lambda r: int(r["index"]))
    assert len(rows) == 6
    p = [float(r["p_exact"]) for r in rows]
    assert p[0] == p[1] and p[4] == p[5] and p[0] < 0.5 < p[4]  # sign of H_x: polarity only
    assert main(["--store", str(tmp_path / "r.sqlite"), "sweep", "psw", "--currents",
                 "0.2mA:0.3mA:3", "--width", "9um"]) == 2
    assert "width" in capsys.readouterr().err


def test_a_task_the_scheduler_cancels_is_submitted_again(tmp_path):
    """The scheduler cancels a task when it forgets the client that wanted it (a client
    suspended past its heartbeat, say): the sweep submits it again instead of ending in
    a traceback. Here a second client force-cancels the grid's last point while the first
    ones run on the one worker."""
    import threading

    from dask.distributed import Client, Future, LocalCluster

    points = _sweep().points
    sweep = Grid("cancel-sweep", switching_map_point, {"seed": 0}, points,
                  {"trials": 20_000})
    cancelled = threading.Event()

    def cancel_the_last_point(address: str) -> None:
        with Client(address, timeout=60) as other:
            for _ in range(6000):
                keys = other.run_on_scheduler(
                    lambda dask_scheduler: [(k, t.state) for k, t in
                                            dask_scheduler.tasks.items()])
                waiting = [k for k, state in keys if str(k).startswith("cancel-sweep-")
                           and str(k).endswith(f"-{len(points) - 1}") and
                           state in ("waiting", "queued", "no-worker", "released")]
                if waiting:
                    other.cancel([Future(waiting[0], other)], force=True)
                    cancelled.set()
                    return
                threading.Event().wait(0.01)

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        thread = threading.Thread(target=cancel_the_last_point,
                                  args=(cluster.scheduler_address,), daemon=True)
        thread.start()
        store = RunStore(tmp_path / "runs.sqlite")
        result = run_grid(sweep, store, scheduler=cluster.scheduler_address, progress=False)
        thread.join(timeout=60)
    assert cancelled.is_set()
    assert result.resubmitted == 1 and not result.failed
    assert [r["index"] for r in result.rows] == list(range(len(points)))
    assert store.get_run(result.run_id).status == "finished"
