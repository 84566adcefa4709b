"""Process-wide settings for training runs (malloc arenas, library log levels, the compilation cache and how
programs that run once are compiled), where a new run writes, and the command line that starts one."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import logging
import os
import sys
import threading
import time
from collections.abc import Callable

import jax
from jax.experimental.compilation_cache import compilation_cache

from hsuanwu_jax import sharding

# Programs that took less than this long to compile are not worth a cache file (0.1 s: the policy
# step and the learner are kept; broadcasts and other one-op programs are not).
_MIN_CACHED_COMPILE_SECONDS = 0.1
# The cache evicts its least recently used programs beyond this size. Some programs never hit (EnvPool's
# XLA rollouts embed their env's address), so without a bound every run would add to it.
_MAX_CACHE_BYTES = 2 * 2**30

# Loggers of the libraries under us that log at INFO (Orbax logs through absl's logger).
_LIBRARY_LOGGERS = ("absl", "jax", "orbax")
_LOG_LEVELS = {"warning": logging.WARNING, "info": logging.INFO, "debug": logging.DEBUG}

_M_ARENA_MAX = -8  # glibc's mallopt parameter number for the arena limit


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


def limit_malloc_arenas(arenas: int = 8) -> bool:
    """Caps glibc's malloc arenas (as MALLOC_ARENA_MAX does); returns whether it took effect.

    Each thread that allocates can get an arena of its own (glibc allows 8 per core), and memory freed
    in one is seldom returned to the system: with hundreds of cores that is hundreds of arenas. Fewer
    than 8 makes the actor, learner and EnvPool threads wait on each other's allocations: Breakout ran at
    705 env steps/s with 2, 798 with 8 and 786 uncapped (benchmarks/RESULTS.md). A no-op off glibc.
    """
    libc = _libc()
    try:
        return bool(libc and libc.mallopt(_M_ARENA_MAX, arenas))
    except AttributeError:
        return False


def return_free_memory() -> None:
    """Hands the memory glibc's malloc holds free back to the system (malloc_trim), in every arena.

    Orbax writes each checkpoint from short-lived threads whose freed buffers otherwise stay with their
    arenas: with a checkpoint every few seconds, resident memory crept up by 0.5 to 2.6 MiB a minute
    (benchmarks/RESULTS.md). Called after every checkpoint; a no-op off glibc."""
    libc = _libc()
    with contextlib.suppress(AttributeError):
        if libc:
            libc.malloc_trim(0)


def jit_once(fn: Callable, static_argnums: tuple[int, ...] = ()) -> Callable:
    """`jax.jit(fn)` for a program that runs once or rarely per process (the params' initialisation, the
    optimizer's empty state, splitting the run's keys). On CPUs it is compiled at XLA's lowest optimisation
    level: 2-3x less compile time (the init of an MLP 0.79 -> 0.32 s, of a Nature CNN 1.26 -> 0.46 s, of
    the ResNet 2.43 -> 1.46 s on this project's 2-vCPU machine) for a run that takes milliseconds longer.
    Float results may differ from the optimised program's in the last bit. The platform is read at the
    first call, not at import (multi-host runs start JAX's backends later)."""
    jitted = None

    @functools.wraps(fn)
    def call(*args):
        nonlocal jitted
        if jitted is None:
            options = {"xla_backend_optimization_level": 0} if jax.default_backend() == "cpu" else None
            jitted = jax.jit(fn, static_argnums=static_argnums, compiler_options=options)
        return jitted(*args)

    return call


def train_command(config: str, workdir: str, *overrides: str, **fields) -> list[str]:
    """The argv of `python -m hsuanwu_jax.train` for config file `config` in `workdir`, with `fields` as
    `--config.<field>=<value>` and raw `overrides` (e.g. "--config.lr=1e-3") after them; for scripts and
    schedulers that start (and restart) training runs as processes."""
    flags = [f"--config.{name}={value}" for name, value in fields.items()]
    return [
        sys.executable,
        "-m",
        "hsuanwu_jax.train",
        "--config",
        config,
        "--workdir",
        workdir,
        *flags,
        *overrides,
    ]


def quiet_library_logs(verbosity: str = "warning") -> None:
    """Shows absl, JAX and Orbax log messages from `verbosity` ("warning", "info", "debug") up.

    Orbax logs a dozen INFO lines per checkpoint, and absl's handler (the command line) or hydra's
    logging set-up would print them all; at "warning" only warnings and errors show.
    """
    for name in _LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(_LOG_LEVELS[verbosity])


def use_compile_cache(path: str) -> str:
    """Keeps compiled programs in `path` across processes (JAX's persistent compilation cache), so a
    resumed run, a second run or `load_policy` skips XLA compilation; returns the directory in use ("":
    none). "" leaves JAX as it is; a directory JAX already has (JAX_COMPILATION_CACHE_DIR, or an
    earlier call) stays. Process-wide."""
    current = jax.config.jax_compilation_cache_dir
    if current or not path:
        return current or ""
    compilation_cache.set_cache_dir(os.path.expanduser(path))
    compilation_cache.reset_cache()  # JAX decides once per process whether to use it: decide again
    jax.config.update("jax_persistent_cache_min_compile_time_secs", _MIN_CACHED_COMPILE_SECONDS)
    jax.config.update("jax_compilation_cache_max_size", _MAX_CACHE_BYTES)
    return jax.config.jax_compilation_cache_dir


# JAX's monitoring events that CompileStats counts, and the metrics field each one adds to.
_COUNTED_EVENTS = {
    "/jax/compilation_cache/cache_hits": "compile_cache_hits",
    "/jax/compilation_cache/cache_misses": "compile_cache_misses",
}


class CompileStats:
    """Process-wide totals of XLA compilation from JAX's monitoring events: seconds spent compiling (or
    loading from the persistent cache) and the cache's hits and misses."""

    _DURATION = "/jax/core/compile/backend_compile_duration"

    def __init__(self):
        self._lock = threading.Lock()
        self._totals = {"compile_seconds": 0.0, "compile_cache_hits": 0, "compile_cache_misses": 0}
        jax.monitoring.register_event_listener(self._on_event)
        jax.monitoring.register_event_duration_secs_listener(self._on_duration)

    def _on_event(self, name: str, **_) -> None:
        field = _COUNTED_EVENTS.get(name)
        if field:
            with self._lock:
                self._totals[field] += 1

    def _on_duration(self, name: str, seconds: float, **_) -> None:
        if name == self._DURATION:
            with self._lock:
                self._totals["compile_seconds"] += seconds

    def totals(self) -> dict[str, float]:
        with self._lock:
            return dict(self._totals)


COMPILE_STATS = CompileStats()


def new_run_directory(parent: str) -> str:
    """A directory for a new run, `<parent>/<date>-<time>[-n]`, not yet on disk; every process of a
    multi-host run gets the same one (process 0's clock and choice)."""
    stamp = sharding.process_values(int(time.time()))[0]
    base = os.path.join(parent, time.strftime("%Y%m%d-%H%M%S", time.localtime(stamp)))
    suffix = 1
    while os.path.exists(base if suffix == 1 else f"{base}-{suffix}"):
        suffix += 1
    suffix = sharding.process_values(suffix)[0]
    return base if suffix == 1 else f"{base}-{suffix}"
