"""One picture per instrument: the guard of every connection this process makes to a
resource shares one state, and no other process may drive the same resource meanwhile.

Within a process, connections are keyed by their VISA resource name (the address); the first
reads back every setting its guard polices, the others join its picture. Across processes, a
lock file per resource (``fcntl.flock``, released by the system when the process ends, even
killed with -9) holds the resource for the first process; another is refused with a message
naming the holder (its process id, command and since when). Software outside this project
(LabVIEW left running) takes no such lock: what it leaves is read back at connect, what it
does afterwards the guard cannot see.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import re
import sys
import tempfile
import threading
from pathlib import Path

from instruments.errors import LabConnectionError
from instruments.guard.base import UnknownCommandError
from instruments.guard.picture import Picture

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: the cross-process lock is not taken
    fcntl = None

_PICTURES: dict[str, Picture] = {}
_REGISTRY = threading.Lock()
LOCK_DIR = Path(os.environ.get("SPINHIL_LOCK_DIR", Path(tempfile.gettempdir())
                               / "spinhil-locks"))


class ResourceHeldError(LabConnectionError):
    """Another process holds the resource."""


def _lock_path(key: str) -> Path:
    return LOCK_DIR / (re.sub(r"[^A-Za-z0-9_.-]+", "_", key) + ".lock")


def _hold(key: str):
    """Take the resource's lock for this process, or name who holds it. The folder and the
    lock files are every user's (as /tmp is): a resource is one process's whoever runs it,
    so another user's process must be able to take, and to find, the same lock."""
    if fcntl is None:
        return None
    LOCK_DIR.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):  # only its owner may; then it is as it was made
        LOCK_DIR.chmod(0o1777)
    path = _lock_path(key)
    try:
        descriptor, mode = os.open(path, os.O_RDWR | os.O_CREAT, 0o666), "r+"
    except PermissionError:  # another user's file that we may not write: flock needs only
        try:  # to open it (the holder's name is then not written)
            descriptor, mode = os.open(path, os.O_RDONLY), "r"
        except OSError as err:
            raise LabConnectionError(f"{key}: cannot take its lock {path} ({err.strerror}): "
                                     "set SPINHIL_LOCK_DIR to a folder every user of the "
                                     "instruments may write") from None
    if mode == "r+":
        with contextlib.suppress(OSError):  # (the umask took the others' write bit)
            os.fchmod(descriptor, 0o666)
    handle = os.fdopen(descriptor, mode)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        try:
            holder = json.loads(handle.read() or "{}")
        except ValueError:
            holder = {}
        handle.close()
        raise ResourceHeldError(
            f"{key} is held by another process (pid {holder.get('pid', '?')}: "
            f"{holder.get('command', '?')}, since {holder.get('since', '?')}): one process "
            "drives a source at a time, so its safety guard sees every line; close that "
            "program first") from None
    if handle.writable():
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "command": " ".join(sys.argv)[:200],
                                 "since": datetime.datetime.now().isoformat(
                                     timespec="seconds")}))
        handle.flush()
    return handle


def _release(picture: Picture) -> None:
    handle, picture.lock_file = picture.lock_file, None
    if handle is not None:
        with contextlib.suppress(OSError):
            if handle.writable():
                handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def written_line(message: bytes) -> str:
    """A write's bytes as a line the guard can check: ASCII (IEEE 488.2 7.4: 7-bit), no
    control characters but tab and carriage return, and ended by its line feed (without it
    the instrument would join the line to the next write, which the guard cannot check)."""
    try:
        text = bytes(message).decode("ascii")
    except UnicodeDecodeError:
        raise UnknownCommandError("bytes that are not ASCII SCPI are refused") from None
    if any(ord(ch) < 32 and ch not in "\r\n\t" for ch in text):
        raise UnknownCommandError(f"control characters refused in {text!r}")
    if text and not text.endswith("\n"):
        raise UnknownCommandError(
            f"{text!r} refused: a write must end with its line feed (the instrument would "
            "join an unterminated line to the next write)")
    return text


def join(guard, key: str) -> bool:
    """``guard`` takes the picture of ``key`` (a new one if it is the first connection of
    this process). True if it is new (the caller reads the settings back)."""
    key = key.upper()
    with _REGISTRY:
        picture = _PICTURES.get(key)
        new = picture is None
        if new:
            picture = guard.picture
            picture.lock_file = _hold(key)
            _PICTURES[key] = picture
        picture.users += 1
    guard.picture, guard.key = picture, key
    return new


def leave(guard) -> None:
    """A connection closed: the last one releases the picture and the lock."""
    if guard.key is None:
        return
    with _REGISTRY:
        picture = _PICTURES.get(guard.key)
        if picture is None or picture is not guard.picture:
            guard.key = None
            return
        picture.users -= 1
        if picture.users <= 0:
            del _PICTURES[guard.key]
            _release(picture)
    guard.key = None


def install(guard, adapter, share: bool = True):
    """Put ``guard`` under ``adapter``: on its pyvisa resource if it has one (sharing the
    picture of every other connection of this process to that resource, and holding it
    against other processes), else on the adapter's own methods. Returns the adapter."""
    from pymeasure.adapters import VISAAdapter

    resource = getattr(adapter, "connection", None)
    if isinstance(adapter, VISAAdapter) and resource is not None:
        _on_resource(guard, resource, share)
    else:
        _on_adapter(guard, adapter)
    adapter.guard = guard
    return adapter


def _on_resource(guard, resource, share: bool) -> None:
    raw_write, raw_read, raw_bytes = resource.write_raw, resource._read_raw, \
        resource.read_bytes
    close, clear = resource.close, resource.clear
    termination = (getattr(resource, "read_termination", None) or "\n").encode()
    partial = bytearray()

    def ask(message: str) -> str:
        raw_write((message + "\n").encode("ascii"))
        return bytes(raw_read()).decode("ascii", "replace")

    def write_raw(message: bytes, *args, **kwargs):
        with guard.picture.lock:
            guard.check(written_line(message))
            return raw_write(message, *args, **kwargs)

    def _read_raw(*args, **kwargs):
        with guard.picture.lock:
            try:
                reply = raw_read(*args, **kwargs)
            except Exception:
                guard.replied(None)
                raise
            return _seen(bytes(reply))

    def read_bytes(*args, **kwargs):
        with guard.picture.lock:
            try:
                chunk = raw_bytes(*args, **kwargs)
            except Exception:
                guard.replied(None)
                partial.clear()
                raise
            partial.extend(chunk)
            if not bytes(partial).endswith(termination):
                return chunk
            whole = bytes(partial)
            partial.clear()
            shown = _seen(whole)
            return chunk if shown == whole else shown[len(whole) - len(chunk):]

    def _seen(reply: bytes) -> bytes:
        try:
            text = reply.decode("ascii")
        except UnicodeDecodeError:  # a binary reply: proves nothing, changes nothing
            guard.replied("")
            return reply
        shown = guard.replied(text)
        return reply if shown == text else shown.encode("ascii")

    def closing(*args, **kwargs):
        # another connection's reply cannot speak for this one's units: ask once more
        # through this one before it goes, or they stay ones the instrument may act on
        with contextlib.suppress(Exception), guard.picture.lock:
            picture = guard.picture
            if picture.users > 1 and any(
                    e.writer is guard and e.seq >= picture.synced.get(guard, 0)
                    for e in picture.entries):
                while guard._replies and guard.trusted:  # its own replies first, so the
                    _read_raw()  # next one read is the guard's (a refused query: timeout)
                if guard.can_ask():
                    guard.confirm_own()
        try:
            return close(*args, **kwargs)
        finally:
            guard._ask = None
            leave(guard)

    def clearing(*args, **kwargs):  # a device clear empties the output queue
        with guard.picture.lock:
            guard._replies.clear()
            return clear(*args, **kwargs)

    key = str(getattr(resource, "resource_name", id(resource)))
    new = join(guard, key) if share else True
    guard._ask = ask
    resource.write_raw, resource._read_raw, resource.read_bytes = write_raw, _read_raw, \
        read_bytes
    resource.close, resource.clear = closing, clearing
    if new:
        guard.read_back()  # unreadable: the connection fails (ReplyError, VISA timeout)


def _on_adapter(guard, adapter) -> None:
    """An adapter without a VISA resource (pymeasure's ProtocolAdapter in tests): the guard
    on its own write and read methods; it asks through them too."""
    write, write_bytes, read = adapter._write, adapter._write_bytes, adapter._read
    inside = []  # an adapter's _write may end in its own _write_bytes: check once

    def ask(message: str) -> str:
        inside.append(True)
        try:
            write(message)
        finally:
            inside.pop()
        return read()

    def _write(command: str, **kwargs):
        guard.check(command + "\n" if not command.endswith("\n") else command)
        inside.append(True)
        try:
            return write(command, **kwargs)
        finally:
            inside.pop()

    def _write_bytes(content: bytes, **kwargs):
        if not inside:
            guard.check(written_line(content))
        return write_bytes(content, **kwargs)

    def _read(**kwargs):
        try:
            reply = read(**kwargs)
        except Exception:
            guard.replied(None)
            raise
        return guard.replied(reply)

    guard._ask = ask
    adapter._write, adapter._write_bytes, adapter._read = _write, _write_bytes, _read
