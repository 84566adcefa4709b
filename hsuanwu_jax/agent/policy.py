"""The jitted policy step that actors, evaluation and exported policies act with."""

from __future__ import annotations

from collections.abc import Callable

import jax

from hsuanwu_jax.agent.networks import ImpalaNetwork
from hsuanwu_jax.core.types import PolicyStep

PolicyFn = Callable[..., tuple[PolicyStep, jax.Array]]


def make_policy_fn(network: ImpalaNetwork, distribution, *, greedy: bool) -> PolicyFn:
    """Jitted `policy(params, key, obs, prev_action, reward, first, core_state) -> (PolicyStep, key)`.

    Inputs are one step for B envs (`obs [B, ...]`, the rest `[B]`); the action is sampled, or
    the distribution's mode when `greedy`, and sent to the env as `network.env_action` makes it.
    """

    def policy(params, key, obs, prev_action, reward, first, core_state):
        outputs, core_state = network.apply(
            params, obs[None], prev_action[None], reward[None], first[None], core_state
        )
        policy = jax.tree.map(lambda x: x[0], outputs.policy)
        key, sample_key = jax.random.split(key)
        action = distribution.mode(policy) if greedy else distribution.sample(sample_key, policy)
        log_prob = distribution.log_prob(policy, action)
        return PolicyStep(action, log_prob, core_state, network.env_action(action)), key

    return jax.jit(policy)
