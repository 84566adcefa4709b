"""The params an agent starts from when it starts fresh."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from hsuanwu_jax.agent.networks import ImpalaNetwork
from hsuanwu_jax.core.spec import EnvSpec
from hsuanwu_jax.core.types import Params
from hsuanwu_jax.runtime.compilation import jit_quick_compile


def init_params(network: ImpalaNetwork, spec: EnvSpec, key: jax.Array) -> Params:
    """Fresh params for `network` on observations and actions of `spec`.

    One jitted program (cached across processes like the others), not the dozens of small ones an
    eager `init` compiles and runs op by op."""

    def init(key):
        obs = jnp.zeros((1, 1, *spec.obs_shape), jax.dtypes.canonicalize_dtype(spec.obs_dtype))
        action = jnp.zeros((1, 1, *spec.action_shape), jax.dtypes.canonicalize_dtype(spec.action_dtype))
        zeros = jnp.zeros((1, 1), jnp.float32)
        return network.init(key, obs, action, zeros, zeros.astype(bool), network.initial_core_state(1))

    return jit_quick_compile(init)(key)
