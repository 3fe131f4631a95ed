import json
import signal
import subprocess
import sys

import pyvisa

from hil.cli import main


def test_lab_serve_answers_pyvisa():
    # how fast it is ready is measured in bench/, not bounded here
    proc = subprocess.Popen([sys.executable, "-m", "hil.cli", "lab", "serve", "--json",
                             "--seed", "3"], stdout=subprocess.PIPE, text=True)
    try:
        roles = json.loads(proc.stdout.readline())
        rm = pyvisa.ResourceManager("@py")
        inst = rm.open_resource(roles["pulse"]["resource"], read_termination="\n",
                                write_termination="\n", timeout=2000)
        assert "MODEL 6221" in inst.query("*IDN?")
        inst.close()
        assert {r["model"] for r in roles.values()} == {"6221", "2000", "2400", "7001"}
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait() == 0  # no clock: a loaded machine waits


def test_lab_devices_json_is_the_ground_truth(capsys):
    assert main(["lab", "devices", "--devices", "3", "--seed", "3", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    devices = payload["devices"]
    assert [d["id"] for d in devices] == [0, 1, 2]
    for d in devices:
        assert 0.2e-3 < d["i_bias"] < 0.4e-3 and 0 < d["i0"] < 0.05 * d["i_bias"]
        assert d["r_up"] > 0 > d["r_down"]
    assert main(["lab", "devices", "--devices", "0"]) == 2
