"""Every registered backend trained through the Python API (``hil.train``) and through
``hil train`` with the same options and seed gives the same run: the same stored
configuration, the same record of what it ran on (banks, calibrations, data split, seeds),
the same per-epoch history and the same result. Backend defaults live in the registry,
not in the CLI, so neither side can train something else."""

from __future__ import annotations

import json

import pytest

import hil
from hil.banks import registry
from hil.cli import main
from protocols.store import RunStore

SMALL = {"classes": [0, 2], "train_per_class": 2, "test_per_class": 2, "steps": 4,
         "epochs": 2, "seed": 3}
OWN = {  # each backend's own options, small
    "model": {"eta": 0.1},
    "telegraph": {"gate_voltage": 0.05},
    "llgs": {"preset": "mtj-000-7.5kT", "pulse_width": 1e-9, "compare": False},
    "lab": {"compare": False},
    "two-polariser": {"hidden": [4], "epochs": 1, "validation_per_class": 1},
}
VOLATILE = {"seconds", "figure"}  # wall-clock time and where a figure went
UNITS = {"gate_voltage": "V", "pulse_width": "s"}  # SI through the API, with units on the CLI


def _flags(options: dict) -> list[str]:
    out = []
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            out.append(flag if value else "--no-" + flag[2:])
        elif isinstance(value, list):
            out += [flag, ",".join(str(v) for v in value)]
        else:
            out += [flag, f"{value}{UNITS.get(name, '')}"]
    return out


def _run(store: RunStore, run_id: int) -> dict:
    run = store.get_run(run_id)
    provenance = store.provenance(run_id)
    for instrument in provenance.get("instruments", {}).values():
        instrument.pop("resource")  # the virtual lab's loopback port: a new one each start
    return {"kind": run.kind, "status": run.status, "config": run.config,
            "described": {k: v for k, v in provenance.items()
                          if k not in ("code", "starts")},
            "metrics": store.metrics(run_id),
            "result": {k: v for k, v in (run.result or {}).items() if k not in VOLATILE}}


def test_every_registered_backend_is_compared():
    assert sorted(OWN) == sorted(registry.BACKENDS)


@pytest.mark.parametrize("backend", sorted(OWN))
def test_the_api_and_the_cli_train_the_same_run(backend, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SPINHIL_LLGS_COMPILE", "0")  # a few 1 ns pulses: no compile
    options = {**SMALL, **OWN[backend]}
    api_store = RunStore(tmp_path / "api.sqlite")
    api = hil.train(api_store, backend=backend, **options)
    cli_path = tmp_path / "cli.sqlite"
    assert main(["--store", str(cli_path), "train", "--backend", backend, "--json",
                 "--plot", str(tmp_path / "fig.png"), *_flags(options)]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    through_api = _run(api_store, api.run_id)
    through_cli = _run(RunStore(cli_path), summary["run_id"])
    assert through_api == through_cli
    assert through_api["status"] == "finished" and through_api["kind"] == "train"
    assert through_api["config"]["bank"]["backend"] == backend
    assert len(through_api["metrics"]["loss"]) == options["epochs"]  # a history to compare
