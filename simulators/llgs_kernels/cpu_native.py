"""The CPU kernel's machine code, kept on disk and called without numba.

simulators/llgs_kernels/cpu.py compiles the kernel once per machine (numba, tens of seconds)
into an object file holding one C function over a range of trajectory blocks. This module
keeps that file in a cache folder, named by everything that decides the code (the kernel's
source, numba's and llvmlite's versions, the host CPU and its features), and loads it with
llvmlite's MCJIT: about 10 ms, against about 0.8 s for importing numba and loading numba's own
cache, most of a command-line curve's start-up. Calls go through ctypes, which releases the
GIL, so a pool of threads runs blocks of trajectories on every core. Where the object cannot be
built or loaded, runs fall back to numba's dispatcher (``cpu.integrate``) with one warning.

The cache folder: ``NUMBA_CACHE_DIR`` when set (as for numba's cache), else the package's
``__pycache__`` when writable, else ``~/.cache/spinhil``. ``SPINHIL_NUMBA_CACHE=0`` builds in
memory in every process. Threads: ``set_threads``; by default ``NUMBA_NUM_THREADS`` when set,
else every core this process may use.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import os
import sys
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor, wait
from importlib.metadata import version
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SOURCES = ("cpu.py", "philox.py", "normals.py")  # the files whose text decides the machine code
_POINTER = ctypes.c_void_p
_U32 = ctypes.c_uint32
# cpu.NATIVE_SIGNATURE in ctypes
_PROTOTYPE = ctypes.CFUNCTYPE(None, _POINTER, _POINTER, _POINTER, _POINTER, ctypes.c_int64,
                              ctypes.c_int64, _U32, _U32, _U32, _U32, ctypes.c_float,
                              _POINTER, ctypes.c_int64, ctypes.c_int64)

NUMBA_HELPERS = ("numba_", "NRT_")  # prefixes of numba's runtime symbols
RANGES_PER_THREAD = 4  # ranges of blocks per thread and call
_lock = threading.Lock()
_loaded: dict[str, object] = {}  # the function, its block size, and what keeps them alive
_pool: ThreadPoolExecutor | None = None
_pool_threads = 0
_threads: int | None = None


def default_threads() -> int:
    """The threads the CPU kernel uses unless set: ``NUMBA_NUM_THREADS``, else the cores this
    process may run on."""
    configured = os.environ.get("NUMBA_NUM_THREADS")
    if configured:
        return max(1, int(configured))
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def set_threads(threads: int) -> None:
    """Threads for the next calls (1 runs in the calling thread)."""
    global _threads
    if int(threads) < 1:
        raise ValueError(f"threads = {threads} is outside the allowed range [1, inf)")
    _threads = int(threads)


def get_threads() -> int:
    """The threads the CPU kernel runs on now."""
    return _threads or default_threads()


def cache_folder() -> Path:
    """Where the compiled kernel is kept (``NUMBA_CACHE_DIR``, the package's ``__pycache__`` if
    writable, else the user cache), so it is compiled once per machine."""
    configured = os.environ.get("NUMBA_CACHE_DIR")
    if configured:
        return Path(configured)
    package_cache = HERE / "__pycache__"
    if os.access(package_cache if package_cache.exists() else HERE, os.W_OK):
        return package_cache
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "spinhil"


def _caching() -> bool:
    return os.environ.get("SPINHIL_NUMBA_CACHE", "1") != "0"


def _llvm():
    import llvmlite.binding as llvm

    with contextlib.suppress(RuntimeError):
        llvm.initialize()  # older llvmlite needs this; newer does it itself and refuses
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    return llvm


def target_cpu() -> tuple[str, str]:
    """The CPU the machine code is built for, (LLVM's name, its feature string): the host's,
    or numba's NUMBA_CPU_NAME and NUMBA_CPU_FEATURES where set, read as numba reads them, so
    that numba's optimiser (which picks the SIMD width) and the code generator here aim at
    one CPU. Setting them builds the kernel for another SIMD width than the host's (e.g. the
    host's features less ``avx512f``: the AVX2 build; the tests compare the builds)."""
    llvm = _llvm()
    name = os.environ.get("NUMBA_CPU_NAME")
    features = os.environ.get("NUMBA_CPU_FEATURES")
    if features is None:
        features = "" if str(name).lower() == "generic" else \
            llvm.get_host_cpu_features().flatten()
    return name or llvm.get_host_cpu_name(), features


def _target_machine():
    llvm = _llvm()
    name, features = target_cpu()
    return llvm.Target.from_default_triple().create_target_machine(
        cpu=name, features=features, opt=3, codemodel="jitdefault")


def code_name() -> str:
    """The cache file's stem: a hash of the kernel's source, the compilers' versions and
    the target CPU, so any change among them builds anew."""
    digest = hashlib.sha256()
    for name in SOURCES:
        digest.update((HERE / name).read_bytes())
    cpu, features = target_cpu()
    digest.update(f"numba {version('numba')} llvmlite {version('llvmlite')} "
                  f"{cpu} {features} {sys.platform}".encode())
    return f"llgs-cpu-{digest.hexdigest()[:20]}"


def machine_code_ready() -> bool:
    """Whether a run starts without compiling: loaded in this process, or the object file
    for this machine is on disk (a first run on a machine compiles for tens of seconds)."""
    if "function" in _loaded:
        return True
    if not _caching():
        return False
    try:
        return (cache_folder() / f"{code_name()}.o").exists()
    except Exception:  # noqa: BLE001 - cannot tell: nobody is warned of a wait
        return True


def _build(folder: Path, name: str) -> tuple[bytes, dict]:
    from simulators.llgs_kernels import cpu

    code, symbol, external = cpu.native_object(_target_machine())
    meta = {"symbol": symbol, "external": external, "block": cpu.BLOCK}
    if _caching():
        folder.mkdir(parents=True, exist_ok=True)
        for suffix, data in ((".o", code), (".json", json.dumps(meta).encode())):
            partial = folder / f"{name}{suffix}.{os.getpid()}.partial"
            partial.write_bytes(data)
            os.replace(partial, folder / f"{name}{suffix}")  # atomic: a reader sees all or none
    return code, meta


def _read(folder: Path, name: str) -> tuple[bytes, dict] | None:
    if not _caching():
        return None
    try:
        meta = json.loads((folder / f"{name}.json").read_text())
        return (folder / f"{name}.o").read_bytes(), meta
    except (OSError, ValueError):
        return None


def _unreachable() -> None:  # pragma: no cover - the kernel has no error path to take
    os.write(2, b"LLGS kernel: an error path the kernel does not have was taken\n")
    os.abort()


def _load(code: bytes, meta: dict) -> None:
    llvm = _llvm()
    stub = ctypes.CFUNCTYPE(None)(_unreachable)
    for name in meta["external"]:
        # numba's error-path helpers: absent unless numba is loaded, and never called. Any
        # other symbol the process lacks stays unresolved, and the load fails (fallback)
        if name.startswith(NUMBA_HELPERS) and llvm.address_of_symbol(name) is None:
            llvm.add_symbol(name, ctypes.cast(stub, ctypes.c_void_p).value)
    engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), _target_machine())
    engine.add_object_file(llvm.ObjectFileRef.from_data(code))
    engine.finalize_object()
    address = engine.get_function_address(meta["symbol"])
    if not address:
        raise RuntimeError(f"{meta['symbol']} is not in the kernel's object file")
    _loaded.update(function=_PROTOTYPE(address), block=int(meta["block"]), engine=engine,
                   stub=stub)


def kernel():
    """The loaded kernel function and its block size, building it first if need be; None
    where that fails (then runs take numba's dispatcher)."""
    with _lock:
        if "function" not in _loaded and "failed" not in _loaded:
            try:
                folder, name = cache_folder(), code_name()
                cached = _read(folder, name)
                try:
                    _load(*(cached or _build(folder, name)))
                except Exception:
                    if cached is None:
                        raise
                    _load(*_build(folder, name))  # a damaged cache file: build anew
            except Exception as err:  # noqa: BLE001 - any failure leaves the fallback
                _loaded["failed"] = repr(err)
                warnings.warn(f"LLGS: the CPU kernel's machine code could not be loaded "
                              f"({err!r}); running through numba's dispatcher", stacklevel=3)
        if "failed" in _loaded:
            return None
        return _loaded["function"], _loaded["block"]


def _checked(name: str, array: np.ndarray, shape: tuple[int, ...]) -> int:
    if (not isinstance(array, np.ndarray) or array.dtype != np.float32
            or not array.flags.c_contiguous or array.shape != shape):
        raise ValueError(f"{name}: a C-contiguous float32 array of shape {shape} is needed")
    return array.ctypes.data


def _forget_pool_in_child() -> None:
    """A forked child has the pool object but none of its threads: it makes its own."""
    global _pool
    _pool = None


os.register_at_fork(after_in_child=_forget_pool_in_child)


def _thread_pool(threads: int) -> ThreadPoolExecutor:
    global _pool, _pool_threads
    if _pool is None or _pool_threads != threads:
        if _pool is not None:
            _pool.shutdown(wait=False)
        _pool, _pool_threads = ThreadPoolExecutor(threads, thread_name_prefix="llgs"), threads
    return _pool


def integrate(m, params, shared, shapes, key0, key1, trajectory0, step0, dt, worst) -> None:
    """``cpu.integrate``'s contract (the same arguments, the same numbers), on the loaded
    machine code."""
    n = m.shape[1] if isinstance(m, np.ndarray) and m.ndim == 2 else -1
    n_steps = shapes.shape[0] if isinstance(shapes, np.ndarray) and shapes.ndim == 2 else -1
    pointers = (_checked("m", m, (3, n)), _checked("params", params, (9, n)),
                _checked("shared", shared, (6,)), _checked("shapes", shapes, (n_steps, 3)))
    worst_pointer = _checked("worst", worst, (n,))
    loaded = kernel()
    if loaded is None:
        from simulators.llgs_kernels import cpu

        cpu.integrate(m, params, shared, shapes, key0, key1, trajectory0, step0, dt, worst)
        return
    function, block = loaded
    args = (*pointers, n, n_steps, int(key0), int(key1), int(trajectory0) & 0xFFFFFFFF,
            int(step0) & 0xFFFFFFFF, float(np.float32(dt)), worst_pointer)
    n_blocks = (n + block - 1) // block
    threads = min(get_threads(), n_blocks)
    if threads <= 1:
        function(*args, 0, n_blocks)
        return
    # a few ranges per thread, taken as threads come free: a core another job holds for a
    # while delays its own ranges only
    ranges = min(n_blocks, RANGES_PER_THREAD * threads)
    cuts = [n_blocks * k // ranges for k in range(ranges + 1)]
    pool = _thread_pool(threads)
    calls = [pool.submit(function, *args, cuts[k], cuts[k + 1]) for k in range(ranges)]
    try:
        for call in calls:
            call.result()
    except BaseException:  # Ctrl-C while waiting: ranges already running still write into
        for call in calls:  # the caller's arrays, so they finish before the caller goes on
            call.cancel()
        wait(calls)
        raise
