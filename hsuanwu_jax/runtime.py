"""Process-wide settings for long training runs."""

from __future__ import annotations

import ctypes
import ctypes.util

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
