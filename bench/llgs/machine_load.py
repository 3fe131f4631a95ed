"""The machine's load, printed beside every LLGS benchmark's figures: on a shared VM a busy
minute slows a run, and the load says which minutes to trust."""

from __future__ import annotations

import subprocess


def uptime() -> str:
    """``uptime``'s line: the time and the 1, 5 and 15 minute load averages."""
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
