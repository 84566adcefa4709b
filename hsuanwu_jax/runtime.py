"""Process-wide settings for training runs (malloc arenas, library log levels), where a new run writes, and
the command line that starts one."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys
import time

from hsuanwu_jax import sharding

# Loggers of the libraries under us that log at INFO (Orbax logs through absl's logger).
_LIBRARY_LOGGERS = ("absl", "jax", "orbax")
_LOG_LEVELS = {"warning": logging.WARNING, "info": logging.INFO, "debug": logging.DEBUG}

_M_ARENA_MAX = -8  # glibc's mallopt parameter number for the arena limit


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Caps glibc's malloc arenas (as MALLOC_ARENA_MAX does); returns whether it took effect.

    Each thread that allocates can get an arena of its own, and memory freed there is seldom
    returned to the system. Orbax writes checkpoints from pools of short-lived threads: in a 30-minute
    CartPole soak with a checkpoint every few seconds, resident memory crept up by about 0.5 MiB a
    minute without a cap and stayed flat with one (benchmarks/RESULTS.md). A no-op off glibc.
    """
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(_M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False


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
