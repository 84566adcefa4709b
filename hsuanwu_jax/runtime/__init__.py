"""Process-wide settings of a training process (malloc arenas, library log levels) and XLA compilation (the
persistent cache, how programs that run once are compiled). Depends on nothing else in the package."""

from hsuanwu_jax.runtime.process import limit_malloc_arenas

__all__ = ["limit_malloc_arenas"]
