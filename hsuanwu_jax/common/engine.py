"""Hsuanwu's `hsuanwu.common.engine` import path: `DistributedTrainer` (the same object as
`hsuanwu_jax.DistributedTrainer`) and `HsuanwuEngine` (hsuanwu/engine.py)."""

from hsuanwu_jax.hsuanwu.engine import HsuanwuEngine
from hsuanwu_jax.run.trainer import DistributedTrainer

__all__ = ["DistributedTrainer", "HsuanwuEngine"]
