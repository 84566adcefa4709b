"""XLA compilation, process-wide: the persistent compilation cache, its statistics, and how programs that run
once or rarely are compiled."""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable

import jax
from jax.experimental.compilation_cache import compilation_cache

# Programs that took less than this long to compile are not worth a cache file (0.1 s: the policy
# step and the learner are kept; broadcasts and other one-op programs are not).
_MIN_CACHED_COMPILE_SECONDS = 0.1


# The cache evicts its least recently used programs beyond this size. Some programs never hit (EnvPool's
# XLA rollouts embed their env's address), so without a bound every run would add to it.
_MAX_CACHE_BYTES = 2 * 2**30


def jit_quick_compile(fn: Callable, static_argnums: tuple[int, ...] = ()) -> Callable:
    """`jax.jit(fn)` for a program that runs once or rarely per process (the params' initialisation, the
    optimizer's empty state, splitting the run's keys). On CPUs it is compiled at XLA's lowest optimisation
    level: a few times less compile time for a run that takes milliseconds longer (figures:
    benchmarks/RESULTS.md, "Start-up, fourth look").
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
