"""hsuanwu_jax: distributed IMPALA in JAX on EnvPool, behind Hsuanwu's `DistributedTrainer` face.

The public names are here; the layers below them (docs/architecture.md, "Layout"), bottom first: `core` and `runtime`,
`config`, `parallel`, `agent`, `envs`, `acting`, `outputs`, `run`, `hsuanwu`, `cli`.
"""

from hsuanwu_jax.config import default_config, load_config
from hsuanwu_jax.config.settings import validate
from hsuanwu_jax.core import vtrace
from hsuanwu_jax.envs.making import make_env
from hsuanwu_jax.outputs.export import load_policy
from hsuanwu_jax.run.trainer import DistributedTrainer

__all__ = [
    "DistributedTrainer",
    "default_config",
    "load_config",
    "load_policy",
    "make_env",
    "validate",
    "vtrace",
]
