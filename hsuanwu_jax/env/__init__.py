"""Hsuanwu's `hsuanwu.env` import path: `from hsuanwu_jax.env import make_atari_env` (hsuanwu/factories.py)."""

from hsuanwu_jax.hsuanwu.factories import (
    make_atari_env,
    make_bullet_env,
    make_dmc_env,
    make_minigrid_env,
    make_multibinary_env,
    make_procgen_env,
)

__all__ = [
    "make_atari_env",
    "make_bullet_env",
    "make_dmc_env",
    "make_minigrid_env",
    "make_multibinary_env",
    "make_procgen_env",
]
