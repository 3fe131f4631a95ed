"""Who holds a run: a live run is written by one process only.

A run being recorded names its owner (host, process id and the process's start time, so a
recycled pid is not taken for the old process) and holds a lease that a heartbeat renews.
Another process may take the run over (``--resume``) only when it is not live:

- on the same host, the owner process is gone (checked at once, no lease to wait out);
- on another host sharing the store (whose processes cannot be looked at), its lease has
  expired.

Every write of the owner checks, in its own transaction, that the run is still its own, so
a process whose lease lapsed (a suspended laptop) and whose run was taken over writes
nothing more. SQLite's WAL needs the processes that share a store on one host (shared
memory, https://www.sqlite.org/wal.html); a second host is the case of a store on a shared
disk opened by turns, which the lease covers.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

LEASE_SECONDS = 60.0  # a live run's lease, renewed every quarter of it
HEARTBEAT_FRACTION = 0.25


def process_start(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux ``/proc/PID/stat`` field
    22), '' where it cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


_ME: dict[int, str] = {}


def this_process() -> str:
    """``host:pid:start`` of this process (a forked child is another owner)."""
    pid = os.getpid()
    if pid not in _ME:
        _ME[pid] = f"{socket.gethostname()}:{pid}:{process_start(pid)}"
    return _ME[pid]


@dataclass(frozen=True)
class Holder:
    """Who holds a running run (host, process, start), so a second writer is refused by name."""
    host: str
    pid: int
    start: str

    @classmethod
    def parse(cls, owner: str | None, host: str, pid: int) -> Holder:
        """From the ``owner`` column, or (runs written before it) from host and pid."""
        if owner:
            name, number, start = owner.rsplit(":", 2)
            return cls(name, int(number), start)
        return cls(host, int(pid), "")

    def __str__(self) -> str:
        return f"process {self.pid} on {self.host}"


_CLAIMED: set[tuple[str, int]] = set()  # (store file, run id) held by a context here
_CLAIMED_LOCK = threading.Lock()


def hold_in_process(path: str, run_id: int) -> bool:
    """Mark a run as held by a context of this process; False if one already holds it."""
    with _CLAIMED_LOCK:
        if (path, run_id) in _CLAIMED:
            return False
        _CLAIMED.add((path, run_id))
        return True


def release_in_process(path: str, run_id: int) -> None:
    """Forget this process's claim on a run, so it can be taken again once finished."""
    with _CLAIMED_LOCK:
        _CLAIMED.discard((path, run_id))


def live_holder(path: str, run_id: int, status: str, owner: str | None, host: str, pid: int,
                lease_until: float | None, now: float | None = None) -> Holder | None:
    """Who holds a ``running`` run now, or None when nobody does (it may be taken over)."""
    if status != "running":
        return None
    holder = Holder.parse(owner, host, pid)
    if holder.host != socket.gethostname():
        now = time.time() if now is None else now
        return holder if lease_until is not None and lease_until > now else None
    if holder.pid == os.getpid():
        with _CLAIMED_LOCK:
            return holder if (path, run_id) in _CLAIMED else None
    if not _pid_alive(holder.pid):
        return None
    if holder.start and process_start(holder.pid) not in ("", holder.start):
        return None  # the pid was recycled: the owner is gone
    return holder


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Heartbeat(threading.Thread):
    """Renews a run's lease on its own connection until stopped; ``lost`` once the run is
    no longer this process's (taken over after the lease lapsed)."""

    def __init__(self, path: Path, run_id: int, owner: str,
                 seconds: float = LEASE_SECONDS) -> None:
        super().__init__(name=f"run-{run_id}-lease", daemon=True)
        self.path, self.run_id, self.owner, self.seconds = path, run_id, owner, seconds
        self.stopped = threading.Event()
        self.lost = False

    def run(self) -> None:
        try:
            db = sqlite3.connect(self.path, timeout=self.seconds * HEARTBEAT_FRACTION,
                                 isolation_level=None)
        except sqlite3.Error:
            return
        try:
            while not self.stopped.wait(self.seconds * HEARTBEAT_FRACTION):
                try:
                    renewed = db.execute("UPDATE runs SET lease_until=? WHERE id=? AND owner=?",
                                         (time.time() + self.seconds, self.run_id,
                                          self.owner)).rowcount
                except sqlite3.Error:
                    continue  # a full disk or a busy store: the next write names it
                if renewed == 0:
                    self.lost = True
                    return
        finally:
            db.close()

    def stop(self) -> None:
        """Stop renewing the lease and wait up to 5 s for the thread to end (not when called from
        the thread itself)."""
        self.stopped.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout=5)
