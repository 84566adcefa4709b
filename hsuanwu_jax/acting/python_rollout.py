"""A rollout's T steps as a Python loop: the jitted policy step on the actor device, then the env's step on
the host, one after the other."""

from __future__ import annotations

import time

import jax
import numpy as np

from hsuanwu_jax.agent.policy import PolicyFn
from hsuanwu_jax.core.acting_state import ENTRY_FIELDS, ActingState
from hsuanwu_jax.core.spec import EnvSpec
from hsuanwu_jax.core.types import Params, Trajectory
from hsuanwu_jax.envs.interface import checked_step


class PythonRollout:
    """Fills rollouts by stepping `env` (any batched env) from Python, keeping its `ActingState` between
    them (on the host, the core's state on the actor device)."""

    STAGES = ("env_seconds", "inference_seconds")

    @staticmethod
    def check_env(env) -> None:
        """Any batched env will do."""

    def __init__(self, env, spec: EnvSpec, policy_fn: PolicyFn, num_steps: int, device, state: ActingState):
        self._env, self._spec, self._policy_fn, self._num_steps = env, spec, policy_fn, num_steps
        self.state = state
        self._env_steps = 0  # env.step() calls so far, named in errors

    def fill(self, traj: Trajectory, params: Params, key: jax.Array, actor) -> jax.Array:
        """Writes one rollout into `traj`; returns the key after it. Reports to `actor` (`activity`,
        `timings`, `track`) as it goes."""
        state = self.state
        jax.tree.map(
            lambda dst, src: np.copyto(dst, np.asarray(src)), traj.initial_core_state, state.core_state
        )
        for t in range(self._num_steps + 1):
            for name in ENTRY_FIELDS:
                getattr(traj, name)[t] = getattr(state, name)
            if t == self._num_steps:
                break
            started = time.perf_counter()
            actor.activity = "the policy step"
            step, key = self._policy_fn(params, key, *state.policy_inputs())
            action, log_prob, env_action = jax.device_get((step.action, step.log_prob, step.env_action))
            actor.timings["inference_seconds"] += time.perf_counter() - started
            traj.action[t] = action
            traj.behaviour_log_prob[t] = log_prob
            started = time.perf_counter()
            actor.activity = "env.step()"
            self._env_steps += 1
            obs, reward, terminated, truncated, info = checked_step(
                self._env,
                env_action,
                self._spec,
                len(state.obs),
                f"{actor.name}'s env.step() call {self._env_steps}",
            )
            actor.timings["env_seconds"] += time.perf_counter() - started
            actor.track(reward, terminated, truncated, info)
            self.state = state = state.next(obs, reward, terminated, truncated, action, step.core_state)
        return key
