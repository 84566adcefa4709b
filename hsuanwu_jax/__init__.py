"""hsuanwu_jax: distributed IMPALA in JAX on EnvPool, behind Hsuanwu's `DistributedTrainer` face."""

from hsuanwu_jax import vtrace
from hsuanwu_jax.config import default_config, load_config
from hsuanwu_jax.envs import make_env
from hsuanwu_jax.export import load_policy
from hsuanwu_jax.settings import validate
from hsuanwu_jax.trainer import DistributedTrainer

__all__ = [
    "DistributedTrainer",
    "default_config",
    "load_config",
    "load_policy",
    "make_env",
    "validate",
    "vtrace",
]
