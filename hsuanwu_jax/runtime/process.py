"""Process-wide settings of a training process: glibc's malloc arenas, returning freed memory, and the log
levels of the libraries under us."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import logging

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
    than 8 makes the actor, learner and EnvPool threads wait on each other's allocations (figures:
    benchmarks/RESULTS.md, "Start-up, third look"). A no-op off glibc.
    """
    libc = _libc()
    try:
        return bool(libc and libc.mallopt(_M_ARENA_MAX, arenas))
    except AttributeError:
        return False


def return_free_memory() -> None:
    """Hands the memory glibc's malloc holds free back to the system (malloc_trim), in every arena.

    Orbax writes each checkpoint from short-lived threads whose freed buffers otherwise stay with their
    arenas: with frequent checkpoints resident memory crept up (benchmarks/RESULTS.md, "Soak"). Called
    after every checkpoint; a no-op off glibc."""
    libc = _libc()
    with contextlib.suppress(AttributeError):
        if libc:
            libc.malloc_trim(0)


def quiet_library_logs(verbosity: str = "warning") -> None:
    """Shows absl, JAX and Orbax log messages from `verbosity` ("warning", "info", "debug") up.

    Orbax logs a dozen INFO lines per checkpoint, and absl's handler (the command line) or hydra's
    logging set-up would print them all; at "warning" only warnings and errors show.
    """
    for name in _LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(_LOG_LEVELS[verbosity])
