"""Process-wide settings for long training runs, and the command line that starts one."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

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
