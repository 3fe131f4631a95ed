"""The trigger-link check of hardware timing on a rig whose 2000 answers late: one line
naming the instrument and what it was doing, with the outputs' state, never a pyvisa
traceback; nothing is recorded and every output is off."""

from __future__ import annotations

from hil.cli import main
from instruments.keithley import HallVoltmeter
from protocols.store import RunStore
from simulators.lab.chip import build_chip
from simulators.lab.server import Fault, VirtualLab


def test_a_late_reply_during_the_timing_check_is_one_line_with_the_outputs_off(
        tmp_path, capsys, monkeypatch):
    with VirtualLab(build_chip(2, 0.5e-6, 1)) as virtual:
        rig = tmp_path / "rig.toml"
        rig.write_text("timeout_ms = 500\n[roles]\n" + "".join(
            f'{role} = "{entry["resource"]}"\n' for role, entry in virtual.resources.items()))
        immediate, armed = HallVoltmeter.immediate_triggering, []

        def arm_a_late_reply(meter):  # the check's last step: the 2000's next error query
            if not armed:  # is answered after the timeout
                armed.append(Fault("late", "voltmeter", virtual.lines["voltmeter"],
                                   delay=1.5, command="SYST:ERR?"))
                virtual.faults.append(armed[0])
            return immediate(meter)

        monkeypatch.setattr(HallVoltmeter, "immediate_triggering", arm_a_late_reply)
        code = main(["--store", str(tmp_path / "runs.sqlite"), "characterise", "sweep",
                     "--lab", str(rig), "--currents", "0.26mA:0.36mA:4", "--iterations", "5"])
        assert armed and armed[0].fired  # the late reply struck the check
        assert virtual.instruments["pulse"].output is False
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1 and len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("hil characterise: stopped: the voltmeter (MODEL 2000 at ")
    assert "did not answer in time during the trigger-link check" in lines[0]
    assert lines[0].endswith("outputs are off (confirmed by OUTP?)")
    assert RunStore(tmp_path / "runs.sqlite").list_runs() == []  # nothing recorded
