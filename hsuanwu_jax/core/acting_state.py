"""The per-step acting state: what acting on B envs carries from one env step to the next. The actors (a
Python loop and a jitted scan), greedy evaluation and exported policies all keep it and step it alike."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from hsuanwu_jax.core.spec import EnvSpec
from hsuanwu_jax.core.types import CoreState


class ActingState(NamedTuple):
    """The latest observation of B envs with what the policy reads beside it, each field `[B, ...]` (NumPy
    arrays on the host, or JAX arrays in a jitted rollout). Its first six fields are a trajectory entry's
    (`ENTRY_FIELDS`, `Trajectory` has the same names)."""

    obs: Any  # [B, *obs_shape] as the env gives it
    first: Any  # [B] bool: obs is the first observation of an episode
    prev_action: Any  # [B, *action_shape] the action taken before obs (zero where first)
    reward: Any  # [B] float32: the reward received on arriving at obs
    done: Any  # [B] bool: obs ends an episode (terminated or truncated)
    terminated: Any  # [B] bool: obs is terminal
    core_state: CoreState  # pytree of [B, ...]: the recurrent core's state before obs

    @classmethod
    def initial(cls, obs, spec: EnvSpec, core_state: CoreState) -> ActingState:
        """The state at the envs' reset observations `obs`: every env at an episode's first observation."""
        num_envs = len(obs)
        prev_action = np.zeros((num_envs, *spec.action_shape), spec.action_dtype)
        no_end = np.zeros(num_envs, bool)
        first = np.ones(num_envs, bool)
        return cls(obs, first, prev_action, np.zeros(num_envs, np.float32), no_end, no_end.copy(), core_state)

    def policy_inputs(self) -> tuple:
        """`(obs, prev_action, reward, first, core_state)`: the policy's arguments after the params and key."""
        return self.obs, self.prev_action, self.reward, self.first, self.core_state

    def next(self, obs, reward, terminated, truncated, action, core_state: CoreState) -> ActingState:
        """The state after the envs answered `action` (taken with `core_state` the policy returned) with
        `obs`, `reward`, `terminated`, `truncated`. EnvPool resets an env on the step after it reported an
        end, so the observation after a `done` one is an episode's first."""
        return ActingState(
            obs, self.done, action, reward.astype(np.float32), terminated | truncated, terminated, core_state
        )


ENTRY_FIELDS = ActingState._fields[:-1]  # the fields a trajectory stores at every entry
